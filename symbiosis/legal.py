"""Legal notes shown beside a listing: a landfill ban, and the restriction on residues
of imported origin.

Each note says what it rests on. Where the seed material (the Almaty circular economy
analysis, 2019) or our sources do not give the exact rule, the note says "not
verified" instead of naming an article we have not read.
"""

from django.utils.translation import gettext_lazy as _

from symbiosis.models.listings import Fate

# Disposals a landfill ban forbids: burying it, or dumping it in the open.
BANNED_DISPOSALS = frozenset({Fate.LANDFILL, Fate.OPEN_DUMP})

IMPORTED_ORIGIN_RESTRICTION = _(
    "Of imported origin: the Almaty circular economy analysis (2019) reports that the law "
    "restricts reusing residues of imported goods (such as cocoa shells, coffee grounds and "
    "the jute sacks cocoa beans arrive in). Which rule applies has not been verified: check "
    "with the customs and sanitary authorities before you trade it."
)
IMPORTED_ORIGIN_BASIS = _(
    "Almaty circular economy analysis (2019); the legal basis is not verified."
)


def landfill_ban_applies(material, fate: str) -> bool:
    """True where ``fate`` is a disposal the law bans for ``material``: tonnes moved
    from it are brought into compliance, not kept out of landfill."""
    return bool(material is not None and material.landfill_banned and fate in BANNED_DISPOSALS)


def landfill_ban_warning(material, fate: str) -> dict | None:
    """What the listing form tells a company whose fate is a banned disposal, or None."""
    if not landfill_ban_applies(material, fate):
        return None
    return {
        "text": _(
            "Landfilling %(material)s is banned in Kazakhstan. If it goes to a landfill or "
            "a dump today, say so: the platform then counts the tonnes you give away as "
            "brought into compliance, not as kept out of landfill."
        )
        % {"material": material.name},
        "basis": material.landfill_ban_basis,
    }
