"""Legal notes shown beside a listing: a landfill ban, and the restriction on residues
of imported origin.

Each note says what it rests on. Where the seed material (the Almaty circular economy
analysis, 2019) or our sources do not give the exact rule, the note says "not
verified" instead of naming an article we have not read.
"""

from django.utils.translation import gettext_lazy as _

from symbiosis import regulation
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


# --- hazardous waste: what the law asks of both sides (issue 21) --------------------------
# The duties in plain words name no article; the citations come from the legal rules
# facilitators keep (symbiosis.regulation, docs/regulation.md), each with its
# "not verified" mark until someone has read the text.
HAZARDOUS_RULES = ("hazardous-licence", "waste-passport", "waste-classifier", "mirror-entries")
HAZARDOUS_BASIS = _(
    "Environmental Code of the Republic of Kazakhstan (2021) and the national waste "
    "classifier; the exact articles are not verified."
)
HAZARDOUS_GIVER_DUTY = _(
    "Hand this waste only to a receiver that holds a valid permit (licence) for the "
    "activity and this waste code, and give it with its waste passport."
)
HAZARDOUS_RECEIVER_DUTY = _(
    "To receive it you need a valid permit (licence) for the activity (collection, "
    "processing, recovery or disposal) that covers this waste code; add it on your "
    "Permits page for a facilitator to verify."
)
PERMIT_RULE_BASIS = _(
    "The platform proposes, and lets a deal be accepted for, a hazardous waste only to a "
    "receiver with a permit a facilitator has verified, covering the code and valid on "
    "the day. Which permits the law requires is not verified."
)


def hazardous_note(material) -> dict | None:
    """What the listing page of a hazardous material says of both sides, or None."""
    if material is None or not material.needs_permit:
        return None
    return {
        "code": material.kz_code,
        "giver": HAZARDOUS_GIVER_DUTY,
        "receiver": HAZARDOUS_RECEIVER_DUTY,
        "basis": HAZARDOUS_BASIS,
        "rules": regulation.legal_rule_citations(*HAZARDOUS_RULES),
    }
