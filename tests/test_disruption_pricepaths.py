"""Monthly price responses over multi-year timelines (``critmin.disruption.pricepaths``).

Independent references: the plain-loop model of tests/test_disruption_reference.py run on the
hand-placed events of each path, and ``sample_shortfalls`` for one-year timelines."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin import settings as cm_settings
from critmin.disruption import pricepaths
from critmin.disruption.api import price_change_paths, sample_shortfalls
from critmin.disruption.engine import Slot, compile_commodity
from critmin.disruption.hazard import build_hazard, sample_runs
from critmin.disruption.market import synthetic_market
from critmin.disruption.params import ModelParams

sys.path.insert(0, str(Path(__file__).parent))
from test_disruption_reference import reference_commodity  # noqa: E402


@pytest.fixture(scope="module")
def market():
    m = synthetic_market()
    hz = build_hazard(m)
    # raise the synthetic rates so that short samples have many events, overlaps and carry-overs
    return m, replace(hz, rate=hz.rate * 40)


def test_one_year_timelines_equal_the_monte_carlo_price_changes():
    m = synthetic_market()
    for cid in m.commodities:
        pcp = price_change_paths(m, cid, 3000, 1, 5)
        ss = sample_shortfalls(m, 3000, 5)
        np.testing.assert_array_equal(pcp.price_change_pct.mean(axis=1), ss.price_change_pct[:, ss.commodities.index(cid)])
        np.testing.assert_array_equal(pricepaths.annual_price_changes(m, cid, 3000, 5),
                                      ss.price_change_pct[:, ss.commodities.index(cid)])


@pytest.mark.parametrize("cid", ["gallium", "cobalt", "nickel"])
def test_timelines_agree_with_the_plain_loop_reference(market, cid):
    m, hz = market
    paths, years = 40, 3
    pcp = pricepaths.sample_price_change_paths(m, cid, paths, years, 9, hazard=hz)
    block = int(cm_settings.get("disruption.mc.block_size"))
    ev = sample_runs(hz, 9, 0, paths * years, block, 12)
    params = ModelParams.from_settings()
    carried = 0
    for i in range(paths):
        events = []
        for y in range(years):
            r = i * years + y
            for h in range(hz.n_pairs):
                if hz.commodity[h] == cid and ev.occurred[r, h]:
                    aim = -1 if ev.target is None else int(ev.target[r, h])
                    events.append({"country": hz.country[h], "stage": hz.stage[h],
                                   "targets": None if aim < 0 else (m.consumers[aim],),
                                   "cut": ev.cut[r, h], "start": 12 * y + int(ev.start[r, h]),
                                   "duration": int(ev.duration[r, h]), "declared": True})
                    carried += int(ev.start[r, h] + ev.duration[r, h] > 13 and y < years - 1)
        ref = reference_commodity(m.commodities[cid], events, params, 12 * years)
        np.testing.assert_allclose(pcp.price_change_pct[i], ref["price"], rtol=1e-9, atol=1e-9)
        active = [sum(e["start"] <= t < e["start"] + e["duration"] for e in events) for t in range(1, 12 * years + 1)]
        np.testing.assert_array_equal(pcp.event_months[i], active)
    assert carried > 0  # the sample has restrictions running across a year end


def test_no_event_gives_no_price_response(market):
    m, hz = market
    pcp = pricepaths.sample_price_change_paths(m, "cobalt", 500, 5, 1, hazard=replace(hz, rate=np.zeros_like(hz.rate)))
    assert not pcp.price_change_pct.any() and not pcp.event_months.any()


def test_same_seed_same_paths_and_chunking_does_not_matter(market, monkeypatch):
    m, hz = market
    a = pricepaths.sample_price_change_paths(m, "gallium", 300, 4, 3, hazard=hz)
    monkeypatch.setattr(pricepaths, "_CHUNK_ELEMENTS", 500)
    b = pricepaths.sample_price_change_paths(m, "gallium", 300, 4, 3, hazard=hz)
    np.testing.assert_array_equal(a.price_change_pct, b.price_change_pct)
    c = pricepaths.sample_price_change_paths(m, "gallium", 300, 4, 4, hazard=hz)
    assert not np.array_equal(a.price_change_pct, c.price_change_pct)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1.0, 50.0), seed=st.integers(0, 2**31))
def test_larger_cuts_never_lower_the_price_response(scale, seed):
    m = synthetic_market()
    hz = replace(build_hazard(m), rate=build_hazard(m).rate * 40)
    cid, years = "cobalt", 3
    cols = np.array([h for h in range(hz.n_pairs) if hz.commodity[h] == cid])
    ev = sample_runs(hz, seed, 0, 60 * years, 1024, 12)
    lay = pricepaths.timeline_events(ev.cut[:, cols], ev.start[:, cols], ev.duration[:, cols], ev.occurred[:, cols], years)
    comp = compile_commodity(m.commodities[cid], [Slot(hz.country[h], hz.stage[h]) for _ in range(years) for h in cols],
                             ModelParams.from_settings())
    lo, _ = pricepaths._simulate_timeline(comp, *lay, 12 * years)
    hi, _ = pricepaths._simulate_timeline(comp, np.minimum(lay[0] * scale, 1.0), *lay[1:], 12 * years)
    assert (hi >= lo - 1e-9).all()


def test_unknown_commodity_and_bad_sizes():
    m = synthetic_market()
    with pytest.raises(KeyError, match="lithium"):
        price_change_paths(m, "lithium", 10, 1, 1)
    with pytest.raises(ValueError, match="years"):
        price_change_paths(m, "gallium", 10, 0, 1)
