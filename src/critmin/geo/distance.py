"""Great-circle distances on the sphere.

Haversine formula (Sinnott 1984, "Virtues of the haversine", Sky and Telescope 68(2):159):

    a = sin^2(dphi / 2) + cos(phi1) cos(phi2) sin^2(dlambda / 2)
    d = 2 R asin(sqrt(a))

with ``R`` the mean Earth radius, ``projects.geo.earth_radius_km`` = 6371.0088 km (IUGG mean
radius R1 = (2a + b) / 3 of WGS84; Moritz 2000, Geodetic Reference System 1980, J. Geodesy 74).
The spherical model differs from the WGS84 ellipsoidal distance by at most ~0.5 %.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from critmin import settings

settings.register(
    "projects.geo.earth_radius_km",
    6371.0088,
    "Mean Earth radius used for great-circle distances, km.",
    "IUGG mean radius R1 of the WGS84/GRS80 ellipsoid (Moritz 2000, J. Geodesy 74:128).",
)


def calc_haversine_km(
    lat1: float | npt.ArrayLike,
    lon1: float | npt.ArrayLike,
    lat2: float | npt.ArrayLike,
    lon2: float | npt.ArrayLike,
    radius_km: float | None = None,
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (vectorised)."""
    r = float(settings.get("projects.geo.earth_radius_km")) if radius_km is None else radius_km
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlam = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def calc_bbox_around(lat: float, lon: float, radius_km: float, radius_earth_km: float | None = None) -> tuple[float, float, float, float]:
    """A (west, south, east, north) box in degrees that contains every point within ``radius_km``.

    Latitude span ``radius / R`` (radians); longitude span ``asin(sin(r/R) / cos(lat))``
    (the tangent-meridian bound); near a pole or for large radii the full longitude range.
    West may exceed east when the box crosses the antimeridian.
    """
    r = float(settings.get("projects.geo.earth_radius_km")) if radius_earth_km is None else radius_earth_km
    dlat = np.degrees(radius_km / r)
    south, north = lat - dlat, lat + dlat
    if south <= -90 or north >= 90 or radius_km / r >= np.pi / 2:
        return (-180.0, max(south, -90.0), 180.0, min(north, 90.0))
    s = np.sin(radius_km / r) / np.cos(np.radians(lat))
    if s >= 1:
        return (-180.0, south, 180.0, north)
    dlon = float(np.degrees(np.arcsin(s)))
    west, east = lon - dlon, lon + dlon
    if west < -180:
        west += 360
    if east > 180:
        east -= 360
    return (float(west), float(south), float(east), float(north))
