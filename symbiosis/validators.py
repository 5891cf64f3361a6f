"""Validators for identifiers and ranges used across the domain model."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_BIN_WEIGHTS_FIRST = range(1, 12)
_BIN_WEIGHTS_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)


def bin_check_digit(first_eleven: str) -> int | None:
    """Control digit of a Kazakh BIN/IIN, or None where no digit is valid.

    The standard algorithm: weights 1..11 modulo 11; a remainder of 10 is
    retried with weights 3..11,1,2; a second 10 makes the number unusable.
    """
    digits = [int(c) for c in first_eleven]
    check = sum(d * w for d, w in zip(digits, _BIN_WEIGHTS_FIRST, strict=True)) % 11
    if check == 10:
        check = sum(d * w for d, w in zip(digits, _BIN_WEIGHTS_SECOND, strict=True)) % 11
        if check == 10:
            return None
    return check


def validate_bin(value: str) -> None:
    if not re.fullmatch(r"\d{12}", value or ""):
        raise ValidationError(_("A BIN has exactly 12 digits."), code="bin_format")
    if bin_check_digit(value[:11]) != int(value[11]):
        raise ValidationError(
            _("This BIN fails its check digit; please check for a typo."), code="bin_checksum"
        )


def validate_ewc_code(value: str) -> None:
    # European Waste Catalogue: three pairs of digits, "*" marks hazardous entries.
    if not re.fullmatch(r"\d{2} \d{2} \d{2}\*?", value or ""):
        raise ValidationError(
            _("An EWC code looks like '02 07 04' (a trailing * marks hazardous)."),
            code="ewc_format",
        )


latitude_validators = [MinValueValidator(-90), MaxValueValidator(90)]
longitude_validators = [MinValueValidator(-180), MaxValueValidator(180)]
percent_validators = [MinValueValidator(0), MaxValueValidator(100)]


# Dates a listing, deal or delivery may carry: year 1 or 9999 is a typo, and 9999-12
# overflows date arithmetic (a deal's months, the next month's first day).
EARLIEST_DATE_YEAR = 2000
LATEST_DATE_YEARS_AHEAD = 20


def business_date_window(today=None):
    """(earliest, latest) dates accepted on listings, deals and deliveries."""
    today = today or timezone.localdate()
    latest_year = today.year + LATEST_DATE_YEARS_AHEAD
    return datetime.date(EARLIEST_DATE_YEAR, 1, 1), datetime.date(latest_year, 12, 31)


def validate_business_date(value) -> None:
    if value is None:
        return
    earliest, latest = business_date_window()
    if not earliest <= value <= latest:
        raise ValidationError(
            _("Give a date between %(earliest)s and %(latest)s."),
            code="date_out_of_window",
            params={"earliest": earliest.isoformat(), "latest": latest.isoformat()},
        )


# Caps on free text, by kind. Every TextField of our apps carries one
# (tests/symbiosis/test_text_caps.py enumerates them): a 9 MB description was accepted.
DESCRIPTION_MAX_CHARS = 5000  # listing and use descriptions, a factor set's basis
MESSAGE_MAX_CHARS = 5000  # deal messages
NOTE_MAX_CHARS = 2000  # delivery notes and offer notes
REASON_MAX_CHARS = 2000  # declines, cancellations, disputes, facilitators' decisions
SOURCE_MAX_CHARS = 2000  # the citation of a factor or a material property
# Written by the system, quoting a user's note or reason with some words around it.
HISTORY_MAX_CHARS = 5000  # a deal's history lines, a run's error


def capped_text(max_chars: int) -> dict:
    """``max_length`` and its validator, for a TextField: forms and DRF serializers
    read ``max_length``, but a TextField's ``full_clean()`` (the services run it)
    only checks a validator. Use as ``models.TextField(..., **capped_text(N))``."""
    return {"max_length": max_chars, "validators": [MaxLengthValidator(max_chars)]}
