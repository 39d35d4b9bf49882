"""Scenario files: every library file parses; errors name the file, the field and the expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from critmin.disruption.scenario import ScenarioError, load_scenario, parse_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))
BASE = {"name": "n", "description": "d", "sources": [{"title": "t", "url": "https://x.org", "as_of": "2025-01-01"}],
        "events": []}
GA_US = {"country": "CHN", "commodity": "gallium", "stage": "processing", "export_cut": 1.0, "start_month": 1,
         "duration_months": 12, "targets": ["USA"]}


def test_library_has_at_least_eight_scenarios():
    assert len(SCENARIOS) >= 8


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_library_scenario_is_valid(path):
    s = load_scenario(path)
    assert s.sources and s.name and s.description  # the shipped library always cites its sources
    assert not s.unsourced and s.flags == ()
    for e in s.events:
        assert e.start_month <= s.horizon_months


def test_defaults():
    s = parse_scenario(dict(BASE))
    assert s.horizon_months == 12 and s.consumers == ("USA", "JPN") and s.events == ()


@pytest.mark.parametrize(
    "patch, field, expected",
    [
        ({"events": [{"country": "CHN", "commodity": "gallium", "stage": "refining", "export_cut": 1.0,
                      "start_month": 1, "duration_months": 12}]}, "events[0].stage", "'mine' or 'processing'"),
        ({"events": [{"country": "CHN", "commodity": "gallium", "stage": "mine", "export_cut": 1.5,
                      "start_month": 1, "duration_months": 12}]}, "events[0].export_cut", "less than or equal to 1"),
        ({"events": [{"country": "China", "commodity": "gallium", "stage": "mine", "export_cut": 1,
                      "start_month": 1, "duration_months": 12}]}, "events[0].country", "ISO 3166-1 alpha-3"),
        ({"events": [{"country": "CHN", "commodity": "galium", "stage": "mine", "export_cut": 1,
                      "start_month": 1, "duration_months": 12}]}, "events[0].commodity", "commodities.csv"),
        ({"events": [{"country": "CHN", "commodity": "gallium", "stage": "mine", "export_cut": 1,
                      "start_month": 13, "duration_months": 12}]}, "events[0].start_month", "1..horizon_months"),
        ({"events": [{"country": "CHN", "commodity": "gallium", "stage": "mine", "export_cut": 1,
                      "start_month": 1, "duration_months": 12, "targets": []}]}, "events[0].targets", "at least 1"),
        ({"overrides": {"leakage": 2}}, "overrides.leakage", "less than or equal to 1"),
        ({"overrides": {"spare_capacity": {"AUS": -0.1}}}, "overrides.spare_capacity.AUS", "greater than or equal to 0"),
        ({"horizon": 12}, "horizon", "unknown field"),
    ],
)
def test_errors_name_file_field_and_expectation(patch, field, expected):
    data = {**BASE, **patch}
    with pytest.raises(ScenarioError) as ei:
        parse_scenario(data, "my.toml")
    msg = str(ei.value)
    assert msg.startswith("my.toml: ")
    assert f": {field}: " in msg
    assert expected in msg


def test_only_name_and_events_are_required():
    s = parse_scenario({"name": "what if", "events": [GA_US]})
    assert s.description == "" and s.sources == ()
    assert s.unsourced and s.flags == ("unsourced",)
    assert not parse_scenario(dict(BASE)).unsourced
    for missing in ("name", "events"):
        data = {"name": "what if", "events": [GA_US]}
        del data[missing]
        with pytest.raises(ScenarioError, match=rf"x\.toml: {missing}: required field is missing"):
            parse_scenario(data, "x.toml")


def test_unsourced_scenario_is_flagged_in_its_output():
    from critmin.disruption.market import synthetic_market
    from critmin.disruption.runs import run_and_store_scenario

    doc = run_and_store_scenario(None, synthetic_market(), parse_scenario({"name": "what if", "events": [GA_US]}),
                                 store=False)
    assert doc["unsourced"] is True and doc["flags"] == ["unsourced"]
    assert doc["results"] and all(r["flags"] == ["unsourced"] for r in doc["results"])
    sourced = run_and_store_scenario(None, synthetic_market(), parse_scenario({**BASE, "events": [GA_US]}),
                                     store=False)
    assert sourced["unsourced"] is False and all(r["flags"] == [] for r in sourced["results"])


def test_missing_required_field(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('description = "x"\nevents = []\n[[sources]]\ntitle = "t"\nurl = "https://a.b"\nas_of = 2025-01-01\n')
    with pytest.raises(ScenarioError, match=r"s\.toml: name: required field is missing"):
        load_scenario(p)


def test_toml_syntax_error_names_line(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('name = "x"\ndescription = \n')
    with pytest.raises(ScenarioError, match=r"bad\.toml: invalid TOML: .*line 2"):
        load_scenario(p)


def test_missing_file():
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario("/nonexistent/x.toml")
