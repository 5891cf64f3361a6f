"""Checks that an app above the core adds to the edit of a supply listing.

The core saves a supply listing; whether the edit still covers the tonnes its
accepted deals commit is the marketplace's rule. The marketplace registers that
check here when it starts (``MarketplaceConfig.ready``), so the core imports
nothing above it and an edit still runs every check there is.
"""

from __future__ import annotations

from collections.abc import Callable

SupplyCheck = Callable[[object], "str | None"]
_checks: list[SupplyCheck] = []


def register(check: SupplyCheck) -> SupplyCheck:
    """Add ``check(supply) -> message or None``; registering twice is a no-op."""
    if check not in _checks:
        _checks.append(check)
    return check


def supply_edit_errors(supply) -> list[str]:
    """The messages of every registered check that refuses ``supply`` as it stands.
    Call with the supply row locked, as the checks read rows that depend on it."""
    return [message for check in _checks if (message := check(supply))]
