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


def coarse(lat: float, lon: float, step: float = COARSE_STEP_DEG) -> tuple[float, float]:
    """The centre of the grid cell holding a point: a location that is not an address.

    Distances to another company's anonymous listing are measured to this
    point, so sorting or filtering by distance cannot pinpoint its site.
    """
    return (
        (int(float(lat) // step) + 0.5) * step,
        (int(float(lon) // step) + 0.5) * step,
    )
