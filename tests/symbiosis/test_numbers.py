"""The fast number text against the template filters it stands for."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from symbiosis import numbers

EDGES = [
    0,
    0.0,
    -0.0,
    0.05,
    0.15,
    0.25,
    -0.04,
    -0.05,
    999.95,
    1234.5,
    1234.55,
    1e-7,
    2.675,
    999_999.95,
    -1_234_567.85,
    12_345_678.9,
    40,
    60.125,
]

# Tonnes as a weighbridge gives them (beyond 1e-6 t: floatformat prints far
# tinier numbers as they come, which no dashboard figure is).
TONNES = st.one_of(st.just(0.0), st.floats(1e-6, 1e9), st.floats(-1e9, -1e-6))

FORMS = [  # (places, grouping) and the filters each stands for
    (0, False, lambda v: floatformat(v, 0)),
    (0, True, lambda v: intcomma(floatformat(v, 0))),
    (1, False, lambda v: floatformat(v, 1)),
    (1, True, lambda v: intcomma(floatformat(v, 1))),
]


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
@pytest.mark.parametrize(("places", "grouping", "filters"), FORMS)
@given(value=TONNES)
def test_number_text_matches_each_filter_chain(language, places, grouping, filters, value):
    with translation.override(language):
        assert numbers.number_text(value, places, grouping=grouping) == filters(value)


@pytest.mark.parametrize("value", EDGES)
def test_number_text_edges(value):
    for places, grouping, filters in FORMS:
        with translation.override("ru"):
            assert numbers.number_text(value, places, grouping=grouping) == filters(value)
