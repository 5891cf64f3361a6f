"""Great-circle distances, pure Python (no Django, no numpy)."""

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km between two points given in degrees."""
    phi1, phi2 = radians(float(lat1)), radians(float(lat2))
    dphi = phi2 - phi1
    dlambda = radians(float(lon2) - float(lon1))
    h = sin(dphi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))


# About 5.5 km north-south in Almaty (and 4 km east-west): coarser than a
# street, finer than most districts.
COARSE_STEP_DEG = 0.05
# The grid is defined on micro-degrees, where it is exact: coordinates are
# stored with six decimals, so ``round(degrees * 1e6)`` is their exact integer
# (a float's error there is ~1e-8, far from 0.5), and an integer floor-divided
# by 50,000 has no rounding at all. ``lat // 0.05`` on floats put 43.25 (a grid
# line) in the cell below, because 43.25 / 0.05 is 864.99999999999989 in floats,
# while the database's FLOOR(lat / 0.05) put it in the cell above.
# ``symbiosis.geo_sql`` is the same arithmetic as a database expression.
MICRODEGREES_PER_DEG = 1_000_000
COARSE_STEP_MICRODEGREES = 50_000


def microdegrees(degrees) -> int:
    """A six-decimal coordinate (float, Decimal or str) as its exact integer of micro-degrees."""
    return round(float(degrees) * MICRODEGREES_PER_DEG)


def coarse_index(degrees) -> int:
    """The cell k holding a coordinate: k x 0.05 <= it < (k + 1) x 0.05, a grid
    line belonging to the cell it starts."""
    return microdegrees(degrees) // COARSE_STEP_MICRODEGREES


def coarse_centre(index: int) -> float:
    """The middle of cell ``index`` in degrees, as the float its decimals parse to
    (43.225, not 43.225000000000001)."""
    return (index * COARSE_STEP_MICRODEGREES + COARSE_STEP_MICRODEGREES // 2) / (
        MICRODEGREES_PER_DEG
    )


def coarse(lat, lon) -> tuple[float, float]:
    """The centre of the grid cell holding a point: a location that is not an address.

    Distances to another company's anonymous listing are measured to this
    point, so sorting or filtering by distance cannot pinpoint its site; the
    city's exchange map draws its lines between such centres.
    """
    return coarse_centre(coarse_index(lat)), coarse_centre(coarse_index(lon))
