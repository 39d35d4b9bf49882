"""Geo: haversine against hand-computed references, radius/bbox queries, GeoJSON.

(The exploration-gap ranking is a projects capability: tests/test_projects_gaps.py.)"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.geo.deposits import filter_bbox, filter_radius
from critmin.geo.distance import calc_bbox_around, calc_haversine_km
from critmin.geo.geojson import to_feature_collection

R = 6371.0088


def hand_haversine(lat1, lon1, lat2, lon2):
    """Written out independently with the math module (Sinnott 1984)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * R * math.asin(math.sqrt(a))


def test_reference_distances():
    assert calc_haversine_km(0, 0, 0, 1) == pytest.approx(R * math.pi / 180)  # 111.195 km
    assert calc_haversine_km(0, 0, 0, 180) == pytest.approx(R * math.pi)
    assert calc_haversine_km(90, 0, -90, 0) == pytest.approx(R * math.pi)
    # Mountain Pass CA (35.478, -115.533) to Tokyo (35.690, 139.692), computed by hand formula
    assert calc_haversine_km(35.478, -115.533, 35.690, 139.692) == pytest.approx(hand_haversine(35.478, -115.533, 35.690, 139.692))


def _deposits(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "name": [f"d{i}" for i in range(n)],
            "latitude": rng.uniform(-89, 89, n),
            "longitude": rng.uniform(-180, 180, n),
        }
    )


@settings(max_examples=40, deadline=None)
@given(st.floats(-85, 85), st.floats(-180, 180), st.floats(1, 5000))
def test_radius_query_matches_hand_haversine(lat, lon, radius):
    df = _deposits()
    got = filter_radius(df, lat, lon, radius)
    want = {r.name for r in df.itertuples() if hand_haversine(lat, lon, r.latitude, r.longitude) <= radius}
    assert set(got["name"]) == want
    assert list(got["distance_km"]) == sorted(got["distance_km"])


def test_bbox_across_antimeridian():
    df = pd.DataFrame({"name": ["fiji", "hawaii", "tokyo"], "latitude": [-17.7, 19.9, 35.7], "longitude": [178.1, -155.6, 139.7]})
    assert set(filter_bbox(df, (170, -30, -150, 30))["name"]) == {"fiji", "hawaii"}
    w, s, e, n = calc_bbox_around(0.0, 179.5, 200)
    assert w > e  # wraps


def test_geojson_is_rfc7946_lon_lat():
    df = pd.DataFrame({"name": ["a", "b"], "latitude": [35.5, np.nan], "longitude": [-115.5, np.nan], "commodity_ids": [["rare_earths"], ["gallium"]]})
    fc = to_feature_collection(df)
    assert fc["type"] == "FeatureCollection"
    assert fc["features"][0]["geometry"] == {"type": "Point", "coordinates": [-115.5, 35.5]}
    assert fc["features"][1]["geometry"] is None  # no coordinates: kept, not dropped
    assert fc["features"][0]["properties"] == {"name": "a", "commodity_ids": ["rare_earths"]}
