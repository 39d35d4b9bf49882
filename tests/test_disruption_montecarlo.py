"""Monte Carlo: reproducibility (batch size, Dask), statistics, hazard model, storage, API."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from critmin import settings
from critmin.disruption import api
from critmin.disruption.hazard import (
    EVENTS_CSV,
    build_hazard,
    calc_hazard_rates,
    load_event_history,
)
from critmin.disruption.market import synthetic_market
from critmin.disruption.montecarlo import run_monte_carlo
from critmin.disruption.stats import calc_contributions, calc_var_cvar, summarise


def _same(a, b):
    assert np.array_equal(a.shortfall_t, b.shortfall_t)
    assert np.array_equal(a.price_change_pct, b.price_change_pct)
    assert np.array_equal(a.occurred, b.occurred)


def test_same_seed_same_result_whatever_the_batch_size():
    m = synthetic_market()
    a = run_monte_carlo(m, 5000, 42, batch_runs=8192)
    b = run_monte_carlo(m, 5000, 42, batch_runs=1024)
    c = run_monte_carlo(m, 5000, 42, batch_runs=3000)  # rounded to whole blocks
    _same(a, b)
    _same(a, c)
    assert a.shortfall_t.sum() > 0
    d = run_monte_carlo(m, 5000, 43)
    assert not np.array_equal(a.shortfall_t, d.shortfall_t)


def test_prefix_runs_are_the_same_runs():
    m = synthetic_market()
    a = run_monte_carlo(m, 3000, 7)
    b = run_monte_carlo(m, 1500, 7)
    assert np.array_equal(a.shortfall_t[:1500], b.shortfall_t)


def test_generator_random_state_is_explicit_and_reproducible():
    m = synthetic_market()
    a = run_monte_carlo(m, 500, np.random.default_rng(5))
    b = run_monte_carlo(m, 500, np.random.default_rng(5))
    _same(a, b)
    with pytest.raises(TypeError):
        run_monte_carlo(m, 10, None)


def test_dask_local_cluster_equals_local():
    m = synthetic_market()
    local = run_monte_carlo(m, 6000, 99, batch_runs=2048)
    seen = []
    dist = run_monte_carlo(m, 6000, 99, batch_runs=1024, workers=2, progress=lambda d, n: seen.append(d))
    _same(local, dist)
    assert seen[-1] == 6000


def test_var_cvar_hand_example():
    x = np.arange(1.0, 21.0)  # 1..20; k = ceil(0.95*20) = 19 -> VaR = 19, CVaR = mean(19, 20)
    assert calc_var_cvar(x) == (19.0, 19.5)
    y = np.array([0.0] * 99 + [50.0])  # k = 95 -> VaR 0; CVaR = mean of 6 largest = 50/6
    var, cvar = calc_var_cvar(y)
    assert var == 0.0 and cvar == pytest.approx(50 / 6)


def test_contributions_split_equally_and_add_up():
    short = np.array([[[6.0]], [[0.0]], [[3.0]]])  # 3 runs, 1 commodity, 1 consumer
    occ = np.array([[True, True], [False, False], [True, False]])
    c = calc_contributions(short, occ, np.array([0, 0]))
    np.testing.assert_allclose(c[:, 0], [(3 + 3) / 3, 3 / 3])
    assert c.sum() == pytest.approx(short.mean())


def test_summary_fields_and_zero_consumption():
    m = synthetic_market()
    r = run_monte_carlo(m, 2000, 1)
    proxy = {(c, k): m.commodities[c].proxy_trade_shares[i] for c in m.commodities for i, k in enumerate(m.consumers)}
    rows = summarise(r.shortfall_t, r.consumption_t, r.price_change_pct, r.occurred, r.pair_commodity,
                     r.pair_labels, r.commodities, r.consumers, proxy)
    assert len(rows) == 6
    row = next(x for x in rows if x["commodity"] == "cobalt" and x["consumer"] == "JPN")
    pct = 100 * r.shortfall_t[:, 1, 1] / r.consumption_t[1, 1]
    assert row["mean_shortfall_pct"] == pytest.approx(pct.mean())
    assert row["p_shortfall_gt_10pct"] == pytest.approx((pct > 10).mean())
    assert row["var95_pct"] == np.sort(pct)[math.ceil(0.95 * 2000) - 1]
    assert sum(c["mean_shortfall_t"] for c in row["contributions"]) <= row["mean_shortfall_t"] + 1e-9
    nick_us = next(x for x in rows if x["commodity"] == "nickel" and x["consumer"] == "USA")
    assert nick_us["proxy_trade_shares"] is True


def test_hazard_rates_hand_example():
    # 2 pairs, 1 event in total over 10 years; WGI 0 and 0 -> prior = 1/(10*2) = 0.05 each
    prior, post = calc_hazard_rates(np.array([1.0, 0.0]), np.array([0.0, 0.0]), 10, 1.0, 0.5)
    np.testing.assert_allclose(prior, [0.05, 0.05])
    np.testing.assert_allclose(post, [(1 + 1) / (1 / 0.05 + 10), 1 / (1 / 0.05 + 10)])
    # worse governance -> higher prior, mean preserved
    prior2, _ = calc_hazard_rates(np.array([1.0, 0.0]), np.array([-1.0, 1.0]), 10, 1.0, 0.5)
    assert prior2[0] > prior2[1] and prior2.mean() == pytest.approx(0.05)


def test_severity_and_duration_defaults_recomputed_from_event_table():
    d = pd.read_csv(EVENTS_CSV)
    x = d["export_cut_estimate"].dropna()
    assert len(x) >= 12
    mu, var = x.mean(), x.var(ddof=1)
    k = mu * (1 - mu) / var - 1
    assert settings.get("disruption.hazard.severity_alpha") == pytest.approx(mu * k, abs=0.01)
    assert settings.get("disruption.hazard.severity_beta") == pytest.approx((1 - mu) * k, abs=0.01)
    dur = ((pd.to_datetime(d["ended"]) - pd.to_datetime(d["effective"])).dt.days / 30.44).dropna()
    assert settings.get("disruption.hazard.duration_median_months") == pytest.approx(np.median(dur), abs=0.05)
    assert settings.get("disruption.hazard.duration_sigma") == pytest.approx(np.std(np.log(dur), ddof=1), abs=0.01)


def test_targeted_share_recomputed_from_event_table():
    """The share of sampled events aimed at one partner is the history's: distinct events with
    effect in the hazard window whose targets name a modelled partner, over all distinct events."""
    h = load_event_history()
    y = pd.to_numeric(h["effective"].str[:4])
    h = h[(y >= settings.get("disruption.hazard.history_start_year")) & (y <= settings.get("disruption.hazard.as_of_year"))]
    tg = h.groupby("event_id")["targets"].first()
    partner = tg.map(lambda t: t != "ALL" and bool(set(t.split(";")) & {"USA", "JPN"}))
    assert settings.get("disruption.hazard.targeted_share") == pytest.approx(partner.mean(), abs=0.005)


def test_targeted_draws_keep_the_other_draws_and_follow_the_share(monkeypatch):
    from critmin.disruption.hazard import sample_block

    m = synthetic_market()
    hz = build_hazard(m)
    assert hz.targeted_share > 0 and hz.n_consumers == 2
    a = sample_block(hz, 5, 0, 4096, 12)
    b = sample_block(replace(hz, targeted_share=0.0), 5, 0, 4096, 12)
    for f in ("occurred", "cut", "start", "duration"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert (b.target == -1).all() and ((a.target >= 0) <= a.occurred).all()
    share = (a.target[a.occurred] >= 0).mean()
    n = a.occurred.sum()
    assert abs(share - hz.targeted_share) < 4 * np.sqrt(hz.targeted_share * (1 - hz.targeted_share) / n)


def test_event_history_has_twelve_real_restrictions_since_2010():
    h = load_event_history()
    assert h["event_id"].nunique() >= 12
    assert (h["source_url"].str.startswith("http")).all()
    assert (pd.to_datetime(h["effective"]).dt.year >= 2010).all()


def test_hazard_counts_history_per_pair():
    m = synthetic_market()
    hz = build_hazard(m)
    lab = hz.labels()
    assert hz.n_events[lab.index("cobalt:COD:mine")] == 2  # COD-CO-SUSP-2025, COD-CO-QUOTA-2025
    assert hz.n_events[lab.index("nickel:IDN:mine")] == 2
    assert hz.rate[lab.index("nickel:IDN:mine")] > hz.rate[lab.index("nickel:CAN:mine")]


def test_store_and_load_run_roundtrip(tmp_path):
    from critmin.data.warehouse import Warehouse
    from critmin.disruption.runs import run_and_store_monte_carlo
    from critmin.disruption.store import list_runs

    m = synthetic_market()
    wh = Warehouse(tmp_path / "w.duckdb")
    try:
        # the workflow writes to the run store it is given: here the warehouse's operational store
        out = run_and_store_monte_carlo(wh, m, runs=1500, seed=3)
        assert [r["run_id"] for r in list_runs(wh)] == [out["run_id"]]
        s = api.load_run(wh, out["run_id"])
        direct = api.sample_shortfalls(m, 1500, 3)
        assert np.array_equal(s.shortfall_t, direct.shortfall_t)
        assert s.seed == 3 and s.n_scenarios == 1500
        assert s.meta["spec"]["runs"] == 1500
        assert "run_id" not in run_and_store_monte_carlo(wh, m, runs=10, seed=3, store=False)
        assert len(list_runs(wh)) == 1
        with pytest.raises(KeyError):
            api.load_run(wh, "nope")
    finally:
        wh.close()


def test_expected_joint_shortfall_capacity_reduces_shortfall():
    m = synthetic_market()
    base = api.expected_joint_shortfall(m, "cobalt", None, 4000, 8)
    more = api.expected_joint_shortfall(m, "cobalt", {"AUS": 20_000.0}, 4000, 8)
    s = api.sample_shortfalls(m, 4000, 8)
    assert base == pytest.approx(s.shortfall_t[:, 1, :].sum(1).mean(), rel=1e-12)
    assert 0 < more < base
    with pytest.raises(KeyError):
        api.expected_joint_shortfall(m, "unobtainium", None, 10, 1)
