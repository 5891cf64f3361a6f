"""Who a user is on the platform: company member, facilitator or city analyst."""

from symbiosis.models.accounts import CITY_ANALYST_GROUP, FACILITATOR_GROUP, Membership


def _in_group(user, name: str) -> bool:
    if not user or not user.is_authenticated:
        return False
    cache = getattr(user, "_group_names", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._group_names = cache
    return name in cache


def is_facilitator(user) -> bool:
    return bool(user and user.is_authenticated and user.is_superuser) or _in_group(
        user, FACILITATOR_GROUP
    )


def is_city_analyst(user) -> bool:
    return _in_group(user, CITY_ANALYST_GROUP)


def organization_ids(user) -> list[int]:
    """Organizations the user is a member of (any role)."""
    if not user or not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


def admin_organization_ids(user) -> list[int]:
    if not user or not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values_list(
            "organization_id", flat=True
        )
    )
