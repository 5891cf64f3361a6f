"""The forms' renderer: Django's, with its commonest widget templates written in Python.

Every text, number, date, e-mail, hidden or checkbox input and every textarea
renders ``django/forms/widgets/input.html`` (or ``textarea.html``), which
includes ``attrs.html``: three templates per field, most of a form page's
rendering (the new listing form has about 40 fields). These functions write the
same HTML; ``tests/symbiosis/test_form_renderer.py`` holds them to Django's
templates, byte for byte. Any other template goes through Django's renderer.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value))
        for name, value in attrs.items()
        if value is not False
    )


def _input(context: dict) -> str:
    """django/forms/widgets/input.html."""
    widget = context["widget"]
    value = widget["value"]
    html = format_html('<input type="{}" name="{}"', widget["type"], widget["name"])
    if value is not None:
        html += format_html(' value="{}"', str(value))
    return mark_safe(html + _attrs(widget["attrs"]) + ">")


def _textarea(context: dict) -> str:
    """django/forms/widgets/textarea.html."""
    widget = context["widget"]
    value = conditional_escape(widget["value"]) if widget["value"] else ""
    html = format_html('<textarea name="{}"', widget["name"]) + _attrs(widget["attrs"])
    return mark_safe(f"{html}>\n{value}</textarea>")


# Templates that are only ``{% include "django/forms/widgets/input.html" %}``.
_INPUTS = ("input", "text", "number", "email", "url", "password", "hidden", "date", "checkbox")
FAST = {f"django/forms/widgets/{name}.html": _input for name in _INPUTS}
FAST["django/forms/widgets/textarea.html"] = _textarea


class FormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        fast = FAST.get(template_name)
        if fast is not None:
            return fast(context)
        return super().render(template_name, context, request=request)
