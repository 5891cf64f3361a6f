"""Who may call which endpoint; what they then see is up to the selectors.

Views expose ``view.viewer`` (a ``selectors.Viewer`` read once per request).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class ReadsCompanyData(BasePermission):
    """Organizations, sites, listings: not for anonymous users nor analysts."""

    message = "City analysts see aggregates only."

    def has_permission(self, request, view):
        return view.viewer.reads_company_data


class ReadsAggregates(BasePermission):
    message = "Aggregates are for facilitators and city analysts."

    def has_permission(self, request, view):
        return view.viewer.reads_aggregates


class WritesOwnOrganization(BasePermission):
    """Anyone who can see a site or listing may read it; only its members change it.

    Rows the user may not see at all never get here: the selector leaves them
    out and the view answers 404.
    """

    message = "You may only change data of your own organizations."

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        return view.viewer.writes_for(obj.organization_id)


class AdministersOrganization(BasePermission):
    message = "Only an administrator of this organization may change it."

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        return view.viewer.administers(obj.id)
