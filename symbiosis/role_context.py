"""Template context: which role the user has, so navigation shows the right links."""

from symbiosis.roles import is_city_analyst, is_facilitator


def roles(request):
    user = getattr(request, "user", None)
    return {
        "user_is_facilitator": is_facilitator(user),
        "user_is_city_analyst": is_city_analyst(user),
    }
