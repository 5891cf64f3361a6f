"""Who reads the city's figures: city analysts and facilitators; companies do not."""

from rest_framework.permissions import BasePermission

from symbiosis.roles import is_city_analyst, is_facilitator


def reads_city_figures(user) -> bool:
    return is_city_analyst(user) or is_facilitator(user)


class ReadsCityFigures(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) and reads_city_figures(
            request.user
        )
