"""The touch-friendly picker of several materials (a demand's accepted materials).

A list of checkboxes, one per material, under a search box: a tap ticks a
material on a phone, where a ``<select multiple>`` asked for Ctrl-clicks.
The search box narrows the list on the server (htmx GET to
``material_options``, the same search as the single material chooser),
which keeps every ticked material in the list; without JavaScript the page
shows every material. The field stays a ``ModelMultipleChoiceField``: the
form posts the same ``materials`` values as before.
"""

from django import forms
from django.template.loader import render_to_string

PICKER_OPTIONS_TEMPLATE = "symbiosis/_material_picker_options.html"


def picker_options(materials, chosen: set[str], *, chosen_first: bool = False) -> list[tuple]:
    """``(material, ticked)`` pairs in list order; the ticked ones first if asked."""
    options = [(material, str(material.pk) in chosen) for material in materials]
    if chosen_first:
        options.sort(key=lambda option: not option[1])  # stable: list order kept within
    return options


class MaterialPicker(forms.CheckboxSelectMultiple):
    """Renders the checkboxes only; ``_material_picker.html`` puts the search
    box, the legend and the list around them."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        materials = self.choices.queryset
        context = {
            "name": name,
            # The materials of an edited listing on top, where the eye lands.
            "options": picker_options(materials, chosen, chosen_first=True),
        }
        return render_to_string(PICKER_OPTIONS_TEMPLATE, context)
