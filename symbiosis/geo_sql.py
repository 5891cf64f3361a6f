"""``symbiosis.geo``'s coarse grid as database expressions: the same cells.

The one SQL form of ``geo.coarse_index`` and ``geo.coarse_centre``, used by the
market (distances to anonymous listings) and the city dashboard (exchange
lines between cells), so a site lies in the same cell wherever it is shown.
Every step is exact in double precision, on SQLite and PostgreSQL alike: a
six-decimal coordinate times 1e6 rounds to its exact integer, and that integer
divided by 50,000 is either whole (a grid line) or at least 1/50,000 from the
next whole number, so FLOOR cannot land on the wrong side of a line
(``tests/symbiosis/test_geo.py`` checks the database against ``geo``).
"""

from django.db.models import FloatField, Value
from django.db.models.functions import Cast, Floor, Round

from symbiosis import geo


def coarse_index_sql(field):
    """``geo.coarse_index`` of a coordinate column (a field name or expression)."""
    micro = Round(Cast(field, FloatField()) * Value(float(geo.MICRODEGREES_PER_DEG)))
    # Floats throughout: SQLite's integer division would truncate towards zero.
    return Floor(micro / Value(float(geo.COARSE_STEP_MICRODEGREES)), output_field=FloatField())


def coarse_centre_sql(field):
    """``geo.coarse_centre`` of the cell holding a coordinate column, in degrees."""
    step = float(geo.COARSE_STEP_MICRODEGREES)
    return (coarse_index_sql(field) * Value(step) + Value(step / 2)) / Value(
        float(geo.MICRODEGREES_PER_DEG)
    )
