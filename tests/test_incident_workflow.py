"""The incident workflow on the real warehouse: China's December 2024 Ga/Ge/Sb ban on the US
(event CHN-GAGESB-USBAN-2024 of the curated table) -> assessment -> ranked options -> decision."""

from __future__ import annotations

import datetime as dt

import pytest

from critmin.incident.store import IncidentError, IncidentNotFound, IncidentStore

EVENT = "CHN-GAGESB-USBAN-2024"
ALL = ("US", "JP", "joint")


@pytest.fixture()
def store(tmp_path):
    from critmin.ops import get_engine, migrate

    eng = get_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    migrate(eng)
    return IncidentStore(eng)


@pytest.fixture(scope="module")
def opened(warehouse, tmp_path_factory):
    from critmin.incident.service import open_incident, trigger_from
    from critmin.ops import get_engine, migrate

    eng = get_engine(f"sqlite:///{tmp_path_factory.mktemp('inc') / 'ops.sqlite'}")
    migrate(eng)
    st = IncidentStore(eng)
    # invented stocks (not any agency's holdings): enough to compare the rules
    st.record_inventory(partner="USA", commodity="gallium", quantity_t=2.0, as_of="2024-12-01", source="manual",
                        visibility="joint", recorded_by="test")
    st.record_inventory(partner="JPN", commodity="gallium", quantity_t=20.0, as_of="2024-12-01", source="manual",
                        visibility="joint", recorded_by="test")
    inc = open_incident(warehouse, st, trigger_from(warehouse, event=EVENT), visibility="joint", author="ann",
                        sees=ALL, runs=200, seed=1)
    return st, inc


def test_trigger_is_the_curated_event():
    from critmin.incident.service import trigger_from

    tr = trigger_from(None, event=EVENT)  # type: ignore[arg-type]  # an event needs no warehouse
    assert set(tr.commodities) == {"gallium", "germanium", "antimony"}
    assert tr.countries == ("CHN",) and tr.targets == ("USA",)
    assert tr.start_date.isoformat() == "2024-12-03"
    assert all(e.export_cut == 1.0 for e in tr.scenario.events)  # the table's estimate, not an assumption
    assert "cut_assumed" not in tr.flags


def test_assessment_has_a_us_shortfall_and_none_for_japan(opened):
    st, inc = opened
    a = st.latest_doc(inc["incident_id"], ALL, "assessment")
    ga = next(c for c in a["commodities"] if c["commodity"] == "gallium")
    us = next(p for p in ga["partners"] if p["partner"] == "USA")
    jp = next(p for p in ga["partners"] if p["partner"] == "JPN")
    assert us["shortfall_t"] > 0 and us["shortfall_pct"] > 0 and us["pool"] == "restricted"
    assert jp["shortfall_t"] == pytest.approx(0.0, abs=1e-9) and jp["pool"] == "open"
    # the monthly shortfall adds up to the horizon total, and is valued at the reference price
    assert sum(m["shortfall_t"] for m in us["monthly"]) == pytest.approx(us["shortfall_t"])
    assert us["shortfall_usd"] == pytest.approx(us["shortfall_t"] * ga["price_usd_per_t"])
    # segmented market: the restricted pool clears above the open one
    assert ga["segmented"] and ga["price_restricted_pct"] > ga["price_open_pct"]
    # days of cover: recorded stock over daily use
    assert us["days_of_cover"] == pytest.approx(2.0 / (us["consumption_t_per_year"] / 365.0))
    # Monte Carlo over the duration (the ban's end is not known on its first day): quantiles ordered,
    # and no draw lasts longer than the central case's whole horizon
    mc = us["monte_carlo"]
    assert mc["p5_t"] <= mc["p50_t"] <= mc["p95_t"] <= us["shortfall_t"] * (1 + 1e-9)
    assert mc["p5_t"] < us["shortfall_t"]  # some draws end early
    assert a["monte_carlo"]["runs"] == 200 and a["monte_carlo"]["draws"]["open_ended_events"]
    # a partner without an inventory record has cover "not computable", never 0 days
    ge = next(c for c in a["commodities"] if c["commodity"] == "germanium")
    assert all(p["days_of_cover"] is None and p["days_of_cover_note"] for p in ge["partners"])
    assert ge["sharing"]["computable"] is False and "no inventory" in ge["sharing"]["reason"]


def test_three_sharing_rules_compared(opened):
    st, inc = opened
    a = st.latest_doc(inc["incident_id"], ALL, "assessment")
    ga = next(c for c in a["commodities"] if c["commodity"] == "gallium")
    rules = {r["rule"]: r for r in ga["sharing"]["rules"]}
    assert set(rules) == {"self", "proportional", "need_based"}
    us_short = next(p["shortfall_t"] for p in ga["partners"] if p["partner"] == "USA")
    # self: the US covers only 2 t of its own shortfall; coordination covers it all from 22 t
    assert rules["self"]["total_unmet_t"] == pytest.approx(max(us_short - 2.0, 0.0))
    assert rules["need_based"]["total_unmet_t"] == pytest.approx(max(us_short - 22.0, 0.0), abs=1e-6)
    assert rules["need_based"]["min_days_of_cover"] >= rules["proportional"]["min_days_of_cover"] - 1e-6
    v = rules["proportional"]["value_of_coordination_usd"]
    assert v == pytest.approx((rules["self"]["total_unmet_t"] - rules["proportional"]["total_unmet_t"])
                              * ga["price_usd_per_t"])


def test_options_name_alternative_suppliers_from_trade_data(opened):
    st, inc = opened
    o = st.latest_doc(inc["incident_id"], ALL, "options")["options"]
    sup = [x for x in o if x["kind"] == "supplier"]
    assert sup and all(x["supplier"] != "CHN" for x in sup)
    traded = [x for x in sup if x["trade"]]
    assert traded, "no alternative supplier backed by a trade record"
    t = traded[0]["trade"][0]
    assert t["source"] in ("BACI", "COMTRADE_JPN2020") and t["rows"] and t["year"] >= 2015
    assert [x["rank"] for x in o] == list(range(1, len(o) + 1))
    kinds = {x["kind"] for x in o}
    assert {"stockpile", "supplier", "demand"} <= kinds


def test_statuses_and_history(opened):
    st, inc = opened
    assert inc["status"] == "options"
    assert [h["action"] for h in st.history(inc["incident_id"], ALL)] == ["open", "assess", "options"]


def test_decisions_are_superseded_never_edited(store):
    iid = store.create({"title": "t", "trigger": {}}, "joint", "ann")
    d1 = store.propose(iid, ALL, option_id="custom:a", params={}, reasons="r1", proposer="ann",
                       proposer_government="US")
    d2 = store.propose(iid, ALL, option_id="custom:b", params={}, reasons="r2", proposer="ann",
                       proposer_government="US", supersedes=d1)
    ds = {d["decision_id"]: d for d in store.decisions(iid, ALL)}
    assert ds[d1]["status"] == "superseded" and ds[d1]["superseded_by"] == d2 and ds[d1]["reasons"] == "r1"
    with pytest.raises(IncidentError, match="already superseded"):
        store.propose(iid, ALL, option_id="custom:c", params={}, reasons="r3", proposer="ann",
                      proposer_government="US", supersedes=d1)
    with pytest.raises(IncidentError, match="superseded"):
        store.approve(iid, ALL, d1, approver="bob", government="US")
    with pytest.raises(IncidentError, match="reasons"):
        store.propose(iid, ALL, option_id="custom:d", params={}, reasons=" ", proposer="ann",
                      proposer_government="US")


def test_joint_decision_needs_one_approver_of_each_government(store):
    from critmin.incident.service import approve_decision

    iid = store.create({"title": "t", "trigger": {}}, "joint", "ann")
    did = store.propose(iid, ALL, option_id="custom:x", params={}, reasons="r", proposer="ann",
                        proposer_government="US")
    for u in ("bob", "bea", "jun", "ann"):
        store.set_approver(u, True, "admin")
    with pytest.raises(IncidentError, match="proposed"):
        approve_decision(store, iid, did, sees=("US", "joint"), approver="ann", government="US")
    approve_decision(store, iid, did, sees=("US", "joint"), approver="bob", government="US")
    with pytest.raises(IncidentError, match="one approver from each"):
        approve_decision(store, iid, did, sees=("US", "joint"), approver="bea", government="US")
    assert store.decisions(iid, ALL)[0]["status"] == "proposed"
    assert store.get(iid, ALL)["status"] != "decided"
    store.set_approver("jun", False, "admin")
    with pytest.raises(IncidentError, match="not an incident approver"):
        approve_decision(store, iid, did, sees=("JP", "joint"), approver="jun", government="JP")
    store.set_approver("jun", True, "admin")
    d = approve_decision(store, iid, did, sees=("JP", "joint"), approver="jun", government="JP")
    assert d["status"] == "approved" and store.get(iid, ALL)["status"] == "decided"


def test_us_incident_is_invisible_to_japan(store):
    iid = store.create({"title": "secret", "trigger": {}}, "US", "ann")
    with pytest.raises(IncidentNotFound) as e1:
        store.get(iid, ("JP", "joint"))
    with pytest.raises(IncidentNotFound) as e2:
        store.get("INC-nope", ("JP", "joint"))
    assert str(e1.value).replace(iid, "X") == str(e2.value).replace("INC-nope", "X")
    assert store.list(("JP", "joint")) == [] and store.list(("US", "joint"))[0]["incident_id"] == iid
    for f in (store.history, store.decisions):
        with pytest.raises(IncidentNotFound):
            f(iid, ("JP", "joint"))
    with pytest.raises(IncidentNotFound):
        store.change(iid, ("JP", "joint"), "jun", "edit")


def test_bilateral_flows_commodity_filter_is_the_filtered_read(warehouse):
    full = warehouse.bilateral_flows(["USA", "JPN"], ["BACI", "COMTRADE_JPN2020"], drop_world=True)
    some = warehouse.bilateral_flows(["USA", "JPN"], ["BACI", "COMTRADE_JPN2020"], drop_world=True,
                                     commodities=["antimony", "gallium"])
    want = full[full["commodity_id"].isin(["antimony", "gallium"])].reset_index(drop=True)
    assert len(some) > 0
    import pandas as pd

    pd.testing.assert_frame_equal(some.reset_index(drop=True), want, check_dtype=False)


def test_supplier_options_carry_governance_and_alliance(opened):
    st, inc = opened
    o = st.latest_doc(inc["incident_id"], ALL, "options")["options"]
    sup = [x for x in o if x["kind"] == "supplier"]
    assert any(x["wgi_mean"] is not None for x in sup)
    from critmin.risk.alliances import allied_iso3

    allied = allied_iso3()
    assert all(x["allied"] == (x["supplier"] in allied) for x in sup)
    # spare capacity within the horizon follows the simulator's linear ramp
    from critmin.incident.options import calc_ramped_capacity_t

    x = sup[0]
    assert x["spare_in_horizon_t"] == pytest.approx(
        calc_ramped_capacity_t(x["spare_capacity_t_per_year"], x["ramp_up_months"], 12))
    assert calc_ramped_capacity_t(12.0, 6.0, 12) == pytest.approx(sum(min(1, m / 6) for m in range(1, 13)))


def test_adopt_a_stockpile_plan_as_inventory(store):
    from critmin.incident.service import adopt_plan

    job = {"kind": "stockpile", "status": "done", "visibility": "US",
           "result": {"side_by_side": {"coordinated": {"stock_t": {"gallium/USA": 4.5, "gallium/JPN": 0.0}},
                                       "independent": {"stock_t": {"gallium/USA": 9.0}}}}}
    ids = adopt_plan(store, job, "sto-1", sees=("US", "joint"), author="ann")
    assert len(ids) == 2
    inv = store.inventory(("US", "joint"))
    assert inv[("USA", "gallium")]["quantity_t"] == 4.5 and inv[("USA", "gallium")]["source"] == "plan:sto-1:coordinated"
    assert inv[("JPN", "gallium")]["quantity_t"] == 0.0  # a plan's 0 t is a recorded 0, not a missing record
    assert store.inventory(("JP", "joint")) == {}  # the plan was US-only, so is its inventory
    adopt_plan(store, job, "sto-1", sees=("US", "joint"), author="ann", mode="independent")
    assert store.inventory(("US", "joint"))[("USA", "gallium")]["quantity_t"] == 9.0  # the newest counts
    with pytest.raises(IncidentNotFound):
        adopt_plan(store, job, "sto-1", sees=("JP", "joint"), author="jun")
    with pytest.raises(IncidentError, match="side_by_side.coordinated.stock_t"):
        adopt_plan(store, {**job, "result": {}}, "sto-1", sees=("US", "joint"), author="ann")
    with pytest.raises(IncidentError, match="finished stockpile plan"):
        adopt_plan(store, {**job, "kind": "simulation"}, "sim-1", sees=("US", "joint"), author="ann")


def test_one_page_pdf_brief(opened):
    import io

    from pypdf import PdfReader

    from critmin.incident.pdf import compile_pdf
    from critmin.incident.service import incident_view

    st, inc = opened
    pdf = compile_pdf(incident_view(st, inc["incident_id"], ALL))
    r = PdfReader(io.BytesIO(pdf))
    assert len(r.pages) == 1
    text = r.pages[0].extract_text()
    assert "JOINT US-JP" in text and inc["incident_id"] in text and "What was decided" in text
    a = st.latest_doc(inc["incident_id"], ALL, "assessment")
    ga_us = next(p for c in a["commodities"] if c["commodity"] == "gallium" for p in c["partners"]
                 if p["partner"] == "USA")
    assert f"{ga_us['shortfall_t']:.3g} t" in text


def test_a_joint_incident_names_only_joint_projects(opened, warehouse):
    from critmin.incident.service import options_incident
    from critmin.projects.registry import load_seed

    st, inc = opened
    seed = load_seed()

    def source(viewer, cids):  # a source that returns everything, whatever the viewer
        return [p for p in seed if p.commodity_id in cids]

    assert any(str(p.visibility) != "joint" for p in source("joint", inc["commodities"]))  # JP-only Hobart (Ge)
    doc = options_incident(warehouse, st, inc["incident_id"], sees=ALL, author="ann", projects=source,
                           today=dt.date(2024, 12, 4))
    projs = [o for o in doc["options"] if o["kind"] == "project"]
    assert projs and {o["visibility"] for o in projs} == {"joint"}
    assert "P-NYR-HOBART" not in {o["project"] for o in projs}
    ga = next(o for o in projs if o["project"] == "P-AA-WAGERUP-GA")
    assert ga["months_to_effect"] is None or ga["months_to_effect"] >= 0
    assert doc["projects_searched"] is True


def test_inventory_is_refused_for_a_country_that_is_not_a_partner(store):
    # a partner is one of setting risk.consumers (USA, JPN); a stock of another country would
    # never be read by the cover computation, so recording it is an error, not a silent row
    for partner in ("DEU", "XXX", "Atlantis"):
        with pytest.raises(IncidentError, match="not a partner"):
            store.record_inventory(partner=partner, commodity="gallium", quantity_t=1.0, as_of="2024-12-01",
                                   source="manual", visibility="joint", recorded_by="test")
    assert store.inventory(ALL) == {}
    store.record_inventory(partner="JPN", commodity="gallium", quantity_t=1.0, as_of="2024-12-01",
                           source="manual", visibility="joint", recorded_by="test")
    assert list(store.inventory(ALL)) == [("JPN", "gallium")]


def test_reading_incidents_does_not_wait_for_a_writer(tmp_path):
    """A read of the incident list (the watchlist page shows open incidents) must not take
    SQLite's write lock: with another connection holding ``BEGIN IMMEDIATE``, list/get/history
    answer from their snapshot instead of waiting out the busy timeout and failing."""
    import sqlite3

    from critmin.ops import get_engine, migrate

    path = tmp_path / "ops.sqlite"
    eng = get_engine(f"sqlite:///{path}")
    migrate(eng)
    st = IncidentStore(eng)
    iid = st.create({"title": "gallium", "trigger": {}}, "joint", "ann")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a writer in the middle of its transaction
    try:
        assert [r["incident_id"] for r in st.list(("US", "joint"))] == [iid]
        assert st.get(iid, ("JP", "joint"))["title"] == "gallium"
        assert [h["action"] for h in st.history(iid, ("US", "joint"))] == ["open"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
