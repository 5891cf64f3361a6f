"""The coarse grid: one exact definition, the same in Python and in the database.

A 0.05-degree cell is defined on micro-degrees (coordinates are stored with six
decimals), so a site on a grid line lies in the cell that line starts, in
``geo.coarse`` (the market's anonymous point, the city's exchange ends) and in
``geo_sql`` (the market's distance sort and filter, the city's line groups).
Before, Python's float ``lat // 0.05`` put 43.25 in the cell below and SQL's
FLOOR(lat / 0.05) in the cell above.
"""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from symbiosis import geo
from symbiosis.geo_sql import coarse_centre_sql, coarse_index_sql
from symbiosis.models import Site
from tests import factories


@pytest.mark.parametrize(
    ("degrees", "index"),
    [
        ("43.250000", 865),  # a grid line starts its cell (float // put it in 864)
        ("43.249999", 864),
        ("43.150000", 863),  # float(43.15) is below the line; its six decimals are on it
        ("76.900000", 1538),
        ("76.899999", 1537),
        ("0.000000", 0),
        ("-0.000001", -1),
        ("-0.050000", -1),
        ("-0.050001", -2),
        ("-179.999999", -3600),
        ("180.000000", 3600),
    ],
)
def test_a_grid_line_starts_its_cell(degrees, index):
    for value in (degrees, Decimal(degrees), float(degrees)):
        assert geo.coarse_index(value) == index, value


def test_cell_centres_are_the_floats_their_decimals_parse_to():
    assert geo.coarse("43.250000", "76.900000") == (43.275, 76.925)
    assert geo.coarse(Decimal("43.249999"), Decimal("76.899999")) == (43.225, 76.875)
    assert geo.coarse_centre(-1) == -0.025


def test_the_old_float_cell_was_wrong_on_these_lines():
    # What this module fixes, kept as a reminder of the trap.
    assert int(43.25 // geo.COARSE_STEP_DEG) == 864 != geo.coarse_index(43.25)
    assert int(43.15 // geo.COARSE_STEP_DEG) == 862 != geo.coarse_index(43.15)


# Six-decimal coordinates in micro-degrees: anywhere, on a grid line, or a
# micro-degree either side of one.
ON_LINES = st.integers(-3600, 3600).map(lambda k: k * geo.COARSE_STEP_MICRODEGREES)
MICRODEGREES = st.one_of(
    st.integers(-180_000_000, 180_000_000),
    ON_LINES,
    st.tuples(ON_LINES, st.sampled_from([-1, 1])).map(sum),
)
LONGITUDES = MICRODEGREES.filter(lambda m: abs(m) <= 180_000_000)
LATITUDES = MICRODEGREES.filter(lambda m: abs(m) <= 90_000_000)


def _decimal(micro: int) -> Decimal:
    return Decimal(micro).scaleb(-6).quantize(Decimal("0.000001"))


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(points=st.lists(st.tuples(LATITUDES, LONGITUDES), min_size=1, max_size=25))
@example(points=[(43_250_000, 76_900_000), (43_150_000, 76_850_000), (-50_000, -50_001)])
def test_the_database_puts_every_site_in_the_cell_python_does(points):
    """Sites written as the app writes them (six-decimal Decimals), read back by
    ``geo_sql``'s expressions: the same cell index and the same centre float
    as ``geo`` gives for the same coordinates, grid lines included."""
    organization = factories.OrganizationFactory()
    with transaction.atomic():
        sites = Site.objects.bulk_create(
            Site(
                organization=organization,
                name=f"site {n}",
                address="-",
                district="almaly",
                latitude=_decimal(lat),
                longitude=_decimal(lon),
            )
            for n, (lat, lon) in enumerate(points)
        )
        rows = (
            Site.objects.filter(pk__in=[s.pk for s in sites])
            .annotate(
                lat_index=coarse_index_sql("latitude"),
                lon_index=coarse_index_sql("longitude"),
                lat_centre=coarse_centre_sql("latitude"),
                lon_centre=coarse_centre_sql("longitude"),
            )
            .values_list(
                "latitude", "longitude", "lat_index", "lon_index", "lat_centre", "lon_centre"
            )
        )
        by_point = {(lat, lon): rest for lat, lon, *rest in rows}
        transaction.set_rollback(True)
    for lat, lon in points:
        lat_dec, lon_dec = _decimal(lat), _decimal(lon)
        note(f"site {lat_dec}, {lon_dec}")
        lat_index, lon_index, lat_centre, lon_centre = by_point[(lat_dec, lon_dec)]
        # The exact cell, from the integer micro-degrees alone.
        assert int(lat_index) == lat // geo.COARSE_STEP_MICRODEGREES == geo.coarse_index(lat_dec)
        assert int(lon_index) == lon // geo.COARSE_STEP_MICRODEGREES == geo.coarse_index(lon_dec)
        # The same float for the centre: lines group and compare equal.
        assert (lat_centre, lon_centre) == geo.coarse(lat_dec, lon_dec)
