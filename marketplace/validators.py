"""Validators of what a delivery records.

A weighbridge ticket number or a vehicle plate is one line of text: it ends up in
a PDF's file name (the ``Content-Disposition`` header) and in e-mail subjects,
where a CR/LF breaks the header for everyone who opens the note.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# C0 and C1 control characters (tab, CR, LF included), DEL, and the Unicode line
# and paragraph separators.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def validate_single_line(value) -> None:
    if value and _CONTROL_CHARACTERS.search(str(value)):
        raise ValidationError(
            _("Use one line of plain text: no line breaks, tabs or other control characters."),
            code="control_character",
        )
