"""Selection MIP against a brute-force reference, plus the invariants of the issue."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.projects.selection import (
    Candidate,
    Option,
    SelectionProblem,
    build_model,
    select,
    solve,
)


def C(pid, value, usa, jpn, com="a", stage="mine"):
    return Candidate(pid, com, stage, float(value), (Option("req", {"USA": float(usa), "JPN": float(jpn)}),))


def brute_force(pr: SelectionProblem) -> float:
    """Obviously-correct reference: enumerate every subset."""
    best = float("-inf")
    cs = pr.candidates
    total = pr.budget["USA"] + pr.budget["JPN"]
    for bits in itertools.product((0, 1), repeat=len(cs)):
        chosen = [c for c, b in zip(cs, bits, strict=True) if b]
        ids = {c.project_id for c in chosen}
        if sum(c.options[0].cost["USA"] for c in chosen) > pr.budget["USA"] + 1e-9:
            continue
        if sum(c.options[0].cost["JPN"] for c in chosen) > pr.budget["JPN"] + 1e-9:
            continue
        if pr.max_commodity_share is not None:
            coms = {c.commodity_id for c in cs}
            if any(sum(sum(c.options[0].cost.values()) for c in chosen if c.commodity_id == k) > pr.max_commodity_share * total + 1e-9 for k in coms):
                continue
        if any(a in ids and b in ids for a, b in pr.exclusive) or any(a in ids and b not in ids for a, b in pr.depends):
            continue
        if any(sum(c.stage == s for c in chosen) < m for s, m in pr.min_per_stage.items()):
            continue
        best = max(best, sum(c.value_usd for c in chosen))
    return best


def hand_problem(**kw) -> SelectionProblem:
    cs = (C("p1", 10, 5, 0), C("p2", 8, 4, 0), C("p3", 7, 3, 1, "b"), C("p4", 0, 1, 1), C("p5", 3, 20, 0))
    return SelectionProblem(cs, {"USA": 8, "JPN": 5}, max_commodity_share=0.7, exclusive=(("p1", "p3"),), **kw)


def test_hand_example_and_reasons():
    res = select(hand_problem())
    assert {s["project"] for s in res["selected"]} == {"p2", "p3"}
    assert res["risk_reduction"] == 15 == brute_force(hand_problem())
    assert res["budget_used"] == {"USA": 7.0, "JPN": 1.0}
    ex = {e["project"]: e for e in res["excluded"]}
    assert ex["p4"]["reason"].startswith("no risk reduction")
    assert "budget:USA" in ex["p5"]["binding"] and ex["p5"]["reason"].startswith("no feasible portfolio")
    # p1 with p2+p3 breaks the US budget (5+4+3 > 8) and the exclusion with p3; best with p1 is 10
    assert set(ex["p1"]["binding"]) == {"budget:USA", "exclusive:p1|p3"}
    assert ex["p1"]["value_loss_usd"] == pytest.approx(5.0)
    assert ex["p1"]["displaced"] == ["p2", "p3"]


def test_dependency_and_minimum():
    pr = hand_problem(depends=(("p3", "p4"),), min_per_stage={"mine": 2})
    res = select(pr)
    assert res["risk_reduction"] == pytest.approx(brute_force(pr))
    ids = {s["project"] for s in res["selected"]}
    assert "p3" not in ids or "p4" in ids


def test_shadow_price_lp_dual_hand_worked():
    # one budget binding: LP relaxation fills p1 (ratio 2) then half of p2 (ratio 1.5) -> dual 1.5
    pr = SelectionProblem((C("p1", 10, 5, 0), C("p2", 6, 4, 0)), {"USA": 7, "JPN": 1})
    res = select(pr)
    assert res["shadow_prices"]["USA"]["lp_dual"] == pytest.approx(1.5)
    assert res["shadow_prices"]["JPN"]["lp_dual"] == pytest.approx(0.0)
    # MIP: +10 % (0.7) does not reach 9 -> finite difference 0
    assert res["shadow_prices"]["USA"]["mip_finite_difference"] == 0.0


def test_infeasible_minimum_is_an_error_naming_the_constraint():
    pr = SelectionProblem((C("p1", 10, 5, 0),), {"USA": 1, "JPN": 1}, min_per_stage={"mine": 1})
    with pytest.raises(Exception, match="dropping budget|dropping min_stage"):
        select(pr)


cand = st.builds(
    lambda v, u, j, com, stg: (v, u, j, com, stg),
    st.integers(0, 50), st.integers(0, 30), st.integers(0, 30), st.sampled_from("ab"), st.sampled_from(["mine", "processing"]),
)


@st.composite
def problems(draw):
    raw = draw(st.lists(cand, min_size=1, max_size=7))
    cs = tuple(C(f"p{i}", *r) for i, r in enumerate(raw))
    bu, bj = draw(st.integers(0, 80)), draw(st.integers(0, 80))
    share = draw(st.sampled_from([None, 0.6, 1.0]))
    ids = [c.project_id for c in cs]
    excl = tuple(draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)).filter(lambda t: t[0] != t[1]), max_size=2)))
    return SelectionProblem(cs, {"USA": float(bu), "JPN": float(bj)}, max_commodity_share=share, exclusive=excl)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_mip_matches_brute_force_and_respects_budgets(pr):
    res = select(pr, explain=False)
    assert res["risk_reduction"] == pytest.approx(brute_force(pr), abs=1e-6)
    for k in ("USA", "JPN"):
        assert res["budget_used"][k] <= pr.budget[k] + 1e-6


@settings(max_examples=60, deadline=None)
@given(problems(), st.integers(0, 50), st.integers(0, 50))
def test_more_budget_never_lowers_risk_reduction(pr, du, dj):
    m0 = solve(build_model(pr))
    bigger = SelectionProblem(pr.candidates, {"USA": pr.budget["USA"] + du, "JPN": pr.budget["JPN"] + dj}, pr.max_commodity_share, exclusive=pr.exclusive)
    m1 = solve(build_model(bigger))
    assert m1.objective >= m0.objective - 1e-9


@settings(max_examples=60, deadline=None)
@given(problems(), st.integers(0, 5), st.integers(0, 5), st.integers(1, 10))
def test_dominated_project_never_selected_over_dominator(pr, eu, ej, dv):
    """Add q dominating a copy d (same commodity, stage, no exclusions; d costs >=, is worth less)."""
    base = SelectionProblem(pr.candidates, pr.budget, pr.max_commodity_share)
    q = C("q", 20 + dv, 3, 2, "a", "mine")
    d = C("d", 20, 3 + eu, 2 + ej, "a", "mine")
    pr2 = SelectionProblem(base.candidates + (d, q), base.budget, base.max_commodity_share)
    ids = {s["project"] for s in select(pr2, explain=False)["selected"]}
    assert not ("d" in ids and "q" not in ids)
