"""The value chain in the risk assessment (issue 12): stage NIRs, the bottleneck, fallbacks and
grades, hand-worked and as hypothesis properties. Synthetic inputs only (real data: see
tests/test_risk_watchlist.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from critmin.data.supply import StageSupply, calc_shares
from critmin.risk.bottleneck import (
    StageScore,
    calc_bottleneck,
    calc_grade,
    calc_joint,
    calc_stage_score,
)
from critmin.risk.chain import OwnStage, StageTrade, own_at, stage_nirs, stage_views
from critmin.risk.exposure import NIR, calc_stage_nir, calc_stage_nir_bound, nir_from_mcs
from critmin.risk.governance import Governance
from critmin.risk.score import CommodityInputs, consumer_stage_scores


def _supply(cid: str, stage: str, year: int, q: dict[str, float], world: float | None = None,
            source: str = "USGS", unit: str = "t") -> StageSupply:
    sh = calc_shares(q, world_total=world) if any(v > 0 for v in q.values()) else None
    return StageSupply(cid, stage, stage, "", year, source, unit, None, dict(q), None, world, sh, (1,), ())


# --- stage NIR: hand-worked ------------------------------------------------------------------
def test_stage_nir_hand_worked():
    # P 20, M 100, X 20: (100-20)/(20+100-20) = 0.8
    n = calc_stage_nir(20, 100, 20)
    assert n.flag == "computed" and n.value == pytest.approx(0.8) and "P=20 t" in n.text
    # net exporter: P 100, M 10, X 60 -> E, 50 of 100 t net exported
    e = calc_stage_nir(100, 10, 60)
    assert e.flag == "E" and e.value is None and e.usable == 0.0 and e.net_export_ratio == pytest.approx(0.5)
    # the stage is not performed at home: all of it imported, exports are re-exports
    z = calc_stage_nir(0, 9, 340)
    assert z.flag == "no_domestic_stage" and z.value == 1.0 and "without production" in z.text
    # Japan's cobalt mine stage: no mine, its refineries need 5,649 t Co of feed -> 1
    j = calc_stage_nir(0, 0, 0, feed_demand=5649)
    assert j.value == 1.0
    # a refinery that needs more feed than P + M - X provides: C = F = 100, P = 40 -> 0.6
    f = calc_stage_nir(40, 10, 30, feed_demand=100)
    assert f.flag == "mass_balance" and f.value == pytest.approx(0.6)
    # own next stage no larger than own output: no lift, still a net exporter
    assert calc_stage_nir(100, 10, 60, feed_demand=40).flag == "E"
    with pytest.raises(ValueError, match="no production, imports or use"):
        calc_stage_nir(0, 0, 5, uses_commodity=False)
    b = calc_stage_nir_bound(3, 471)
    assert b.flag == "<" and b.hi == pytest.approx(471 / 474) and b.usable == pytest.approx(471 / 474)


def test_nir_never_outside_unit_interval():
    with pytest.raises(ValueError, match="fraction"):
        NIR(-39.9, "E", None, 0.0, "", "")
    with pytest.raises(ValueError, match="net exporter"):
        NIR(0.2, "E", None, 0.0, "", "")
    # an MCS cell below 0 reads as E, above 100 % is capped
    assert nir_from_mcs(-12.0, None, None, None, "-12", "MCS").flag == "E"
    assert nir_from_mcs(104.0, None, None, None, "104", "MCS").value == 1.0


@given(p=st.floats(0, 1e7), m=st.floats(0, 1e7), x=st.floats(0, 1e7), f=st.floats(0, 1e7))
def test_stage_nir_is_a_share_or_e(p, m, x, f):
    n = calc_stage_nir(p, m, x, feed_demand=f)
    for v in (n.value, n.lo, n.hi, n.usable):
        assert v is None or 0.0 <= v <= 1.0
    if n.flag == "E":
        assert n.value is None and p > 0 and x > m and n.net_export_ratio is not None
    if p == 0:
        assert n.value == 1.0  # own output counts only at the stages performed at home


# --- stage NIRs along the chain ---------------------------------------------------------------
def test_stage_nirs_along_the_chain():
    chain = ("mine", "processing")
    own = {"mine": OwnStage(0.0, "not listed", "USGS"), "processing": OwnStage(5649.0, "", "IEA")}
    trade = {"processing": StageTrade(4803.0, 5384.0, "contained metal")}
    nirs, flags, reasons = stage_nirs(chain, own, trade, {"trade"}, "BACI 2024")
    assert nirs["mine"].value == 1.0 and any(f.startswith("no_stage_trade") for f in flags["mine"])
    assert nirs["processing"].flag == "E" and nirs["processing"].net_export_ratio == pytest.approx((5384 - 4803) / 5649)
    assert "IEA production" in nirs["processing"].source and not reasons
    # a stage performed at home without trade is not computable (said why)
    nirs, _, reasons = stage_nirs(chain, own, {}, {"trade"}, "BACI 2024")
    assert "processing" not in nirs and "no trade recorded" in reasons["processing"]
    # no evidence of use at all: not computable; the partner's list as the only evidence: flagged
    nirs, _, reasons = stage_nirs(("mine",), {"mine": OwnStage(0.0, "", "USGS")}, {}, set(), "none")
    assert not nirs and "no production, imports or use" in reasons["mine"]
    nirs, flags, _ = stage_nirs(("mine",), {"mine": OwnStage(0.0, "", "USGS")}, {}, {"list"}, "none")
    assert nirs["mine"].value == 1.0 and flags["mine"][0].startswith("use_from_list")
    # exports above imports without production: a supply the data do not show. A net exporter
    # (Japan's recovered mercury), unless the partner's own list declares the dependence
    # (Japan's antimony: ore-grade residues exported, the metal it uses imported)
    ore = {"mine": StageTrade(5.0, 187.0, "contained metal")}
    nirs, flags, _ = stage_nirs(("mine",), {"mine": OwnStage(0.0, "", "USGS")}, ore, {"trade"}, "BACI")
    assert nirs["mine"].flag == "E" and nirs["mine"].usable == 0.0 and flags["mine"][0].startswith("unrecorded_supply")
    nirs, flags, _ = stage_nirs(("mine",), {"mine": OwnStage(0.0, "", "USGS")}, ore, {"trade", "list"}, "BACI")
    assert nirs["mine"].value == 1.0 and flags["mine"][0].startswith("unrecorded_supply")
    # no imports, no production, no declared use: not computable
    nirs, _, reasons = stage_nirs(("mine",), {"mine": OwnStage(0.0, "", "USGS")}, {}, set(), "BACI")
    assert not nirs and "no production, imports or use" in reasons["mine"]
    # imports only where the consumer produces: the bound
    nirs, flags, _ = stage_nirs(("processing",), {"processing": OwnStage(3.0, "", "USGS")},
                                {"processing": StageTrade(471.0, None, "imports only, HS 8112")}, {"trade"}, "CT")
    assert nirs["processing"].flag == "<" and flags["processing"][0].startswith("imports_only")


def test_own_at_distinguishes_nil_coded_and_curated():
    sup = _supply("x", "mine", 2024, {"CHN": 80.0, "USA": 20.0}, world=100.0)
    assert own_at(sup, "USA").quantity_t == 20.0
    assert own_at(sup, "JPN") == OwnStage(0.0, "not listed by USGS 2024 mine: nil production", "USGS")
    kg = _supply("x", "mine", 2024, {"CHN": 800.0}, unit="kg")
    assert own_at(kg, "CHN").quantity_t == pytest.approx(0.8)
    coded = StageSupply("x", "mine", "mine", "", 2024, "USGS", "t", None, {"CHN": 1.0}, None, None,
                        calc_shares({"CHN": 1.0}), (1,), (), ("mine 2024: USA production is 'W' (flag W)",))
    assert own_at(coded, "USA").quantity_t is None
    cur = _supply("rare_earths", "component", 2018, {"CHN": 0.87}, world=1.0, source="CURATED", unit="fraction")
    assert own_at(cur, "JPN").quantity_t is None  # may hide in the 13 % residual
    assert own_at(cur, "CHN").quantity_t is None  # a share, not a quantity


def test_stage_views_take_the_latest_year_with_its_age(monkeypatch):
    sup = {("ga", "processing", 2022): _supply("ga", "processing", 2022, {"CHN": 98.0, "JPN": 2.0}),
           ("ga", "mine", 2024): _supply("ga", "mine", 2024, {"AUS": 1.0}),
           ("ga", "mine", 2023): _supply("ga", "mine", 2023, {"CHN": 1.0}),
           ("zz", "mine", 2010): _supply("zz", "mine", 2010, {"CHN": 1.0})}
    v = stage_views(sup, 2024)
    assert list(v["ga"]) == ["mine", "processing"]  # chain order
    assert v["ga"]["mine"].year == 2024 and v["ga"]["mine"].age == 0 and not v["ga"]["mine"].flags
    pr = v["ga"]["processing"]
    assert pr.year == 2022 and pr.age == 2 and pr.flags[0].startswith("latest_year:2:")
    assert "zz" not in v  # 14 years old: older than risk.max_data_age_years
    monkeypatch.setenv("CRITMIN_RISK_MAX_DATA_AGE_YEARS", "20")
    assert stage_views(sup, 2024)["zz"]["mine"].age == 14
    assert set(stage_views(sup, 2021)) == {"zz"}  # never data of a later year


def test_byproduct_takes_its_hosts_mine_stage():
    sup = {("selenium", "processing", 2024): _supply("selenium", "processing", 2024, {"JPN": 710.0, "CHN": 1000.0}),
           ("copper", "mine", 2024): _supply("copper", "mine", 2024, {"CHL": 5.0, "PER": 3.0})}
    v = stage_views(sup, 2024)["selenium"]
    assert v["mine"].host == "copper" and v["mine"].supply.commodity_id == "copper"
    assert any(f.startswith("byproduct_host") and "by-product of copper" in f for f in v["mine"].flags)


# --- governance fallbacks ----------------------------------------------------------------------
def test_governance_fallbacks():
    from critmin.data.governance import sovereign_of

    g = Governance({"FRA": 2.0, "CHN": 6.0, "IDN": 5.0, "PHL": 5.5}, sovereign_of(), median_max_share=0.05)
    fill = g.resolve({"IDN": 0.6, "NCL": 0.03, "XKX": 0.01, "CHN": 0.36})
    assert fill.scaled["NCL"] == 2.0 and fill.scaled["XKX"] == pytest.approx(5.25) and not fill.lacking
    assert [f.split(":")[0] for f in fill.flags] == ["territory", "median"]
    assert g.resolve({"XKX": 0.2, "CHN": 0.8}).lacking == ("XKX",)  # above the threshold: not computable


# --- bottleneck and joint ------------------------------------------------------------------------
def test_bottleneck_hand_worked():
    s = {"mine": calc_stage_score("mine", 0.1, None, 1.0, 0.0),
         "processing": calc_stage_score("processing", 0.3, None, 1.0, 0.0, ("territory: x",)),
         "metal": calc_stage_score("metal", None, None, 1.0, 0.0, (), ("no NIR",))}
    b = calc_bottleneck(s, ("mine", "processing", "metal"))
    assert b.stage == "processing" and b.value == 0.3
    j = calc_joint({"USA": b, "JPN": calc_bottleneck({"mine": s["mine"]})}, {"USA": 1.0, "JPN": 1.0})
    assert j.value == pytest.approx(0.2) and j.group == "ranked" and j.by_consumer == {"USA": "processing", "JPN": "mine"}
    assert j.stage == "processing" and j.grade == "B"  # the larger contribution names the stage
    none = calc_bottleneck({"metal": s["metal"]})
    assert none.stage is None and "no NIR" in (none.reason or "")
    single = calc_joint({"USA": b, "JPN": none}, {"USA": 1.0, "JPN": 1.0})
    assert single.group == "single_partner" and single.covers == ("USA",) and single.lacking == ("JPN",)


def test_grades():
    assert calc_grade([]) == "A"
    assert calc_grade(["wgi_lag: WGI of 2022"]) == "A" and calc_grade(["territory: NCL", "wgi_lag: 2022"]) == "B"
    assert calc_grade(["curated: CURATED"]) == "C"
    assert calc_grade(["latest_year:2: 2022"]) == "C" and calc_grade(["latest_year:6: 2018"]) == "D"
    assert calc_grade(["ev_latest:3: 2019-2021", "median: x"]) == "D"


_scores = st.dictionaries(st.sampled_from(["mine", "processing", "metal", "component"]),
                          st.one_of(st.none(), st.floats(0, 1)), min_size=1)


@given(by=st.dictionaries(st.sampled_from(["USA", "JPN", "AUS"]), _scores, min_size=1),
       w=st.floats(0.1, 5))
def test_bottleneck_at_least_every_stage(by, w):
    bns = {k: calc_bottleneck({s: calc_stage_score(s, v, None, 1.0, 0.0) for s, v in sc.items()}) for k, sc in by.items()}
    for k, sc in by.items():
        for v in sc.values():
            if v is not None:
                assert bns[k].value is not None and bns[k].value >= v
    weights = {k: (w if k == "USA" else 1.0) for k in by}
    j = calc_joint(bns, weights)
    stages = {s for sc in by.values() for s in sc}
    for s in stages:  # the joint score is at least the joint score of any one stage
        if all(by[k].get(s) is not None for k in by):
            at_s = sum(weights[k] * float(by[k][s] or 0.0) for k in by) / sum(weights.values())
            assert j.value is not None and j.value >= at_s - 1e-12


# --- adding a producer with a fallback never removes a commodity -------------------------------
_countries = ["AAA", "BBB", "CCC", "DDD"]


@hsettings(max_examples=60, deadline=None)
@given(q=st.dictionaries(st.sampled_from(_countries), st.floats(1, 1e6), min_size=1),
       wgi=st.lists(st.floats(0, 10), min_size=4, max_size=4),
       share=st.floats(1e-6, 0.05), code=st.sampled_from(["NCL", "ZZZ"]), te=st.floats(0, 1), ev=st.floats(0, 1))
def test_adding_a_fallback_producer_keeps_the_score(q, wgi, share, code, te, ev):
    gov = Governance({**dict(zip(_countries, wgi, strict=True)), "FRA": 3.0}, {"NCL": "FRA"}, median_max_share=0.05)
    total = sum(q.values())
    extra = total * share / (1 - share)  # the new producer's share of the new total is `share`
    ci = CommodityInputs(ev)

    def score(quantities: dict[str, float]) -> StageScore:
        views = stage_views({("x", "mine", 2024): _supply("x", "mine", 2024, quantities)}, 2024)["x"]
        return consumer_stage_scores("JPN", views, gov, {"mine": NIR(te, "computed", None, None, "", "")},
                                     {}, {}, {}, ci, 1.0, 0.0)["mine"]

    before, after = score(q), score({**q, code: extra})
    assert before.computable
    assert after.computable, after.reason
    assert any(f.split(":")[0] in ("territory", "median") for f in after.flags)
    assert calc_grade(after.flags) >= calc_grade(before.flags)


def test_a_large_producer_without_governance_is_not_filled():
    gov = Governance({"AAA": 5.0}, median_max_share=0.05)
    views = stage_views({("x", "mine", 2024): _supply("x", "mine", 2024, {"AAA": 70.0, "ZZZ": 30.0})}, 2024)["x"]
    sc = consumer_stage_scores("JPN", views, gov, {"mine": NIR(1.0, "computed", None, None, "", "")}, {}, {}, {},
                               CommodityInputs(0.5), 1.0, 0.0)["mine"]
    assert not sc.computable and "ZZZ (30.0%)" in (sc.reason or "")


def test_own_output_counts_only_at_its_stage():
    """US rare earths: its mine output lowers the mine-stage disruption potential, not the
    separation stage's (it is not separated at home)."""
    gov = Governance({"CHN": 6.0, "USA": 2.0, "MYS": 4.0, "AUS": 1.5})
    sup = {("ree", "mine", 2024): _supply("ree", "mine", 2024, {"CHN": 70.0, "USA": 12.0, "AUS": 18.0}),
           ("ree", "processing", 2024): _supply("ree", "processing", 2024, {"CHN": 91.0, "MYS": 9.0})}
    views = stage_views(sup, 2024)["ree"]
    nir = {s: NIR(0.8, None, None, None, "80", "MCS") for s in views}
    sc = consumer_stage_scores("USA", views, gov, nir, {}, {}, {}, CommodityInputs(1.0), 1.0, 0.0)
    dp_mine = (0.7 ** 2 * 0.6 + 0.18 ** 2 * 0.15)  # the US share left out
    dp_proc = 0.91 ** 2 * 0.6 + 0.09 ** 2 * 0.4
    assert sc["mine"].usgs == pytest.approx(dp_mine * 0.8)
    assert sc["processing"].usgs == pytest.approx(dp_proc * 0.8)
    assert calc_bottleneck(sc, tuple(views)).stage == "processing"


def test_watchlist_order_groups_and_ranks():
    from critmin.risk.watchlist import order_records

    def rec(c, j, g):
        return {"commodity": c, "indices": {"joint_score": j}, "group": g, "rank": None}

    recs = order_records([rec("a", 0.1, "ranked"), rec("b", 0.9, "single_partner"), rec("c", None, "no_score"),
                          rec("d", 0.3, "ranked"), rec("e", 0.2, "single_partner")])
    assert [r["commodity"] for r in recs] == ["d", "a", "b", "e", "c"]
    assert [r["rank"] for r in recs] == [1, 2, None, None, None]


def test_scope_and_memberships():
    from critmin.risk.watchlist import coverage_commodities, list_memberships_of, scope

    assert scope("us2025, EU2023 ,JP") == ("US2025", "EU2023", "JP") and scope(None) is None
    with pytest.raises(ValueError, match="XX"):
        scope("US2025,XX")
    lists, via = list_memberships_of("platinum")
    assert "EU2023" in lists and any("as pgm" in v for v in via)  # the EU lists platinum-group metals
    cov = coverage_commodities()
    assert {"cobalt", "nickel", "germanium", "platinum", "palladium", "pgm"} <= cov and "mercury" not in cov
