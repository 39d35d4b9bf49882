"""The planning workflow (critmin.stockpile.service): one implementation behind the CLI's
``stockpile plan`` and the dashboard's planner (``POST /api/stockpile/plans``)."""

from __future__ import annotations

import json
import math
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.stockpile.problem import StockpileInputError
from critmin.stockpile.service import PlanRequest, prepare, request_partners

BUDGETS = {"USA": 2e9, "JPN": 1.5e9}
RUNS, SEED = 150, 5


def test_partners_come_from_the_setting_in_its_order(monkeypatch):
    assert request_partners({"JPN": 1.0, "USA": 2.0}) == ("USA", "JPN")
    monkeypatch.setenv("CRITMIN_RISK_CONSUMERS", "JPN,KOR")
    assert request_partners({"KOR": 1.0, "JPN": 2.0}) == ("JPN", "KOR")
    with pytest.raises(StockpileInputError, match="unknown partner 'USA'"):
        request_partners({"USA": 1.0})


@pytest.mark.parametrize(("budgets", "message"), [
    ({}, "budgets: no budget given"),
    ({"USA": 1e9, "KOR": 1e9}, "budgets: unknown partner 'KOR'"),
    ({"USA": math.nan}, "budgets: USA=nan; expected an amount >= 0"),
    ({"USA": -1.0}, "budgets: USA=-1.0; expected an amount >= 0"),
])
def test_bad_budgets_are_named(budgets, message):
    with pytest.raises(StockpileInputError, match=message):
        request_partners(budgets)


@pytest.mark.parametrize(("change", "message"), [
    ({"mode": "alone"}, "mode: 'alone'; expected coordinated or independent"),
    ({"runs": 0}, "runs: 0; expected a positive number"),
    ({"joint_budget_usd": -5.0}, "joint_budget: -5.0"),
    ({"frontier_scales": [1.0, math.inf]}, "frontier_scales"),
])
def test_bad_requests_are_named_before_the_warehouse_is_read(change, message):
    req = PlanRequest(budgets_usd=BUDGETS, **change)
    with pytest.raises(StockpileInputError, match=message):
        prepare(None, req)  # type: ignore[arg-type]  # never reached: the request is checked first


def test_names_are_resolved_at_the_cli_and_api_edges():
    from critmin.cli.stockpile import plan_request
    from critmin.web.api_runs import StockpileRequest

    cli = plan_request("USA=1bn,JPN=2bn", None, "coordinated", 10, 1, None, "Rare earths, gallium",
                       "rare earths=3,*=2", "risk_aversion=0")
    web = StockpileRequest(budgets_usd={"USA": 1e9, "JPN": 2e9}, runs=10, seed=1,
                           commodities=["Rare earths", "gallium"],
                           loss_multiple={"rare earths": 3, "*": 2}).plan_request(None)
    for req in (cli, web):
        assert list(req.commodities) == ["rare_earths", "gallium"]
        assert dict(req.loss_multiple) == {"rare_earths": 3.0, "*": 2.0}
        assert dict(req.budgets_usd) == {"USA": 1e9, "JPN": 2e9}
    with pytest.raises(ValueError, match="commodities: unknown commodity 'unobtainium'"):
        StockpileRequest(budgets_usd={"USA": 1.0}, commodities=["unobtainium"]).plan_request(None)
    with pytest.raises(ValueError, match="loss_multiple: unknown commodity 'unobtainium'"):
        StockpileRequest(budgets_usd={"USA": 1.0}, loss_multiple={"unobtainium": 2}).plan_request(None)
    with pytest.raises(ValueError, match="budgets_usd.KOR: unknown partner"):
        StockpileRequest(budgets_usd={"KOR": 1.0})


def _web_plan(real_db_path, tmp_path, body: dict | None) -> dict:
    """The dashboard's planner through its API route, on a private copy of the warehouse.
    ``body`` None: the body the page's script sends for the page's default form (read from
    the rendered /stockpile page); the body is then in the result under ``_body``."""
    from critmin.web.app import create_app
    from web_support import make_web_db

    web = make_web_db(real_db_path, tmp_path / "web.duckdb")
    token, db = web.tokens["joint-admin"], web.path
    with TestClient(create_app(db)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        sent = _default_form_body(client.get("/stockpile", headers=headers).text) if body is None else body
        r = client.post("/api/stockpile/plans", json=sent, headers=headers)
        assert r.status_code == 202, r.text
        url = r.json()["url"]
        deadline = time.monotonic() + 600
        while True:
            job = client.get(url, headers=headers).json()
            if job["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert job["status"] == "done", job.get("error")
    return {**job["result"], "_body": sent}


def _default_form_body(html: str) -> dict:
    """The request body static/stockpile.js builds from the planner form as rendered (every
    field at its default): budgets in US$ m x 1e6, runs, seed, and loss_model / loss_multiple
    only when set."""
    import re

    form = re.search(r'<form id="planform">(.*?)</form>', html, re.S)
    assert form, "no planner form on /stockpile"
    def attr(tag: str, name: str) -> str | None:
        m = re.search(rf'\b{name}="([^"]*)"', tag)
        return m.group(1) if m else None

    inputs = {attr(t, "name"): attr(t, "value") for t in re.findall(r"<input\b[^>]*>", form.group(1))}
    selects = {m.group(1): m.group(2) for m in re.finditer(r'<select name="(\w+)"><option value="([^"]*)"', form.group(1))}
    body: dict = {"budgets_usd": {"USA": 1e6 * float(inputs["USA"]), "JPN": 1e6 * float(inputs["JPN"])},
                  "runs": int(inputs["runs"]), "seed": int(inputs["seed"])}
    if selects.get("run_id"):
        body["run_id"] = selects["run_id"]
    if inputs.get("lossmult"):
        body["loss_multiple"] = {"*": float(inputs["lossmult"])}
    if selects.get("loss_model"):
        body["loss_model"] = selects["loss_model"]
    return body


@pytest.mark.slow
def test_the_dashboard_default_form_gives_the_cli_plan(real_db_path, tmp_path):
    web = _web_plan(real_db_path, tmp_path, None)
    body = web["_body"]
    assert set(body) == {"budgets_usd", "runs", "seed"}, body  # the defaults: no override, the setting's loss model
    budget = ",".join(f"{k}={v:.0f}" for k, v in body["budgets_usd"].items())
    r = CliRunner().invoke(app, ["--db", str(real_db_path), "stockpile", "plan", "--budget", budget,
                                 "--runs", str(body["runs"]), "--seed", str(body["seed"]), "--json"])
    assert r.exit_code == 0, r.output
    cli = json.loads(r.stdout)
    assert web["loss_model"] == cli["loss_model"] == "damage"
    assert not web["not_planned"] or all("not planned" in why or "not computable" in why for why in web["not_planned"].values())
    cli_stock = {(t["commodity"], t["partner"]): t["stock_t"] for t in cli["targets"]}
    web_stock = {(t["commodity"], t["partner"]): t["stock_t"] for t in web["plan"]["targets"]}
    assert cli_stock.keys() == web_stock.keys() and any(x > 1.0 for x in cli_stock.values())
    for key, x in cli_stock.items():
        assert web_stock[key] == pytest.approx(x, rel=1e-6, abs=1e-6), key
    assert web["plan"]["objective"] == pytest.approx(cli["objective"], rel=1e-9)
    assert [(w["commodity"], w["partner"]) for w in web["why"]] == [(w["commodity"], w["partner"]) for w in cli["why"]]


@pytest.mark.slow
def test_cli_and_dashboard_plan_the_same_commodities_and_stocks(real_db_path, tmp_path):
    r = CliRunner().invoke(app, ["--db", str(real_db_path), "stockpile", "plan", "--budget", "JPN=1.5B,USA=2B",
                                 "--runs", str(RUNS), "--seed", str(SEED), "--json"])
    assert r.exit_code == 0, r.output
    cli = json.loads(r.stdout)
    cli_left_out = {line.split()[1] for line in r.stderr.splitlines() if line.startswith("note: ")}

    web = _web_plan(real_db_path, tmp_path, {"budgets_usd": BUDGETS, "runs": RUNS, "seed": SEED,
                                             "frontier_scales": [0.0, 1.0]})
    plan = web["plan"]
    # the same commodity set: planned, and left out (with the reasons the CLI prints)
    cli_set = {t["commodity"] for t in cli["targets"]}
    assert cli_set == {t["commodity"] for t in plan["targets"]} == set(web["sample"]["commodities"])
    assert len(cli_set) > 20
    assert cli_left_out == set(web["not_planned"]) and cli_left_out
    assert cli_set.isdisjoint(cli_left_out)
    # the same stocks, partner by partner
    cli_stock = {(t["commodity"], t["partner"]): t["stock_t"] for t in cli["targets"]}
    web_stock = {(t["commodity"], t["partner"]): t["stock_t"] for t in plan["targets"]}
    assert cli_stock.keys() == web_stock.keys()
    for key, x in cli_stock.items():
        assert web_stock[key] == pytest.approx(x, rel=1e-6, abs=1e-6), key
    assert any(x > 1.0 for x in cli_stock.values())
    assert plan["objective"] == pytest.approx(cli["objective"], rel=1e-9)
    assert plan["value_of_coordination"] == pytest.approx(cli["value_of_coordination"], rel=1e-6)
    assert plan["budgets"] == cli["budgets"] == BUDGETS
    # the side-by-side view is the plan's coordinated optimum
    coo = web["side_by_side"]["coordinated"]["stock_t"]
    assert {tuple(k.split("/")): v for k, v in coo.items()} == pytest.approx(cli_stock, rel=1e-6, abs=1e-6)
    assert [row["scale"] for row in web["frontier"] if row["mode"] == "coordinated"] == [0.0, 1.0]
    assert set(web["loss_multiple"]) == cli_set == set(web["loss_multiple_source"])
