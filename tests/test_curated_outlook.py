"""Validation of the outlook curated data (issue 17; see docs/curated_data.md).

* ``src/critmin/data/curated/demand_drivers.csv`` is checked directly with the csv module
  (columns, catalogue ids, drivers, regions, years, units that pair an intensity with its activity,
  source URLs, dates, ASSUMPTION rows flagged with a setting) and through the typed loader in
  ``critmin.data.curated.outlook`` (types, demand = intensity x activity recomputed from the CSV,
  the assumption-settings list, and that its validator rejects bad rows naming line and column).
* The seed projects (``src/critmin/projects/data/seed_projects.json``) and their side file
  ``seed_project_facts.csv``: how many projects are scoreable (capacity and start year known),
  permitting milestones with dates, FAST-41 entries with their source, and a value-chain and
  development stage for every project.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.curated import CuratedTableError, outlook
from curated_support import as_of_ok, catalogue_ids, csv_rows

REPO = Path(__file__).resolve().parents[1]
DRIVERS_CSV = REPO / "src" / "critmin" / "data" / "curated" / "demand_drivers.csv"
PROJECTS = REPO / "src" / "critmin" / "projects" / "data"
SEED = PROJECTS / "seed_projects.json"
FACTS = PROJECTS / "seed_project_facts.csv"
URL = re.compile(r"https?://\S+")
TODAY = dt.date.today()

DRIVER_IDS = {"ai_data_centres", "communications_5g6g", "quantum", "fusion", "space",
              "shipbuilding", "defence"}
COLUMNS = ["driver", "commodity_id", "intensity", "intensity_unit", "activity_year", "activity",
           "activity_unit", "region", "source", "as_of", "note", "setting"]


CATALOGUE = catalogue_ids()
_rows, _date = csv_rows, as_of_ok


def _num(value: str) -> float | None:
    return None if value == "" else float(value)


# --- demand drivers: the CSV itself --------------------------------------------------------
def test_driver_columns_and_rows() -> None:
    cols, rows = _rows(DRIVERS_CSV)
    assert cols == COLUMNS
    assert len(rows) >= 25
    keys = set()
    for i, r in enumerate(rows, start=2):
        where = f"demand_drivers.csv line {i}"
        assert r["driver"] in DRIVER_IDS, where
        assert r["commodity_id"] in CATALOGUE, f"{where}: {r['commodity_id']!r} not in the catalogue"
        assert r["region"] in {"WORLD", "USA", "JPN"}, where
        assert 2024 <= int(r["activity_year"]) <= 2040, where
        for col in ("intensity", "activity"):
            v = _num(r[col])
            assert v is None or v > 0, f"{where}: {col} must be blank or positive"
        assert URL.search(r["source"]), f"{where}: source without a URL"
        _date(r["as_of"], where)
        assert r["note"].strip(), f"{where}: every row explains itself in note"
        key = (r["driver"], r["commodity_id"], r["intensity_unit"], r["region"], r["activity_year"])
        assert key not in keys, f"{where}: duplicate {key}"
        keys.add(key)


def test_every_driver_is_covered() -> None:
    _, rows = _rows(DRIVERS_CSV)
    assert {r["driver"] for r in rows} == DRIVER_IDS


def test_units_pair_intensity_with_activity() -> None:
    """Intensity is t per <unit>, activity is <unit> per year: demand = intensity x activity is t/yr."""
    _, rows = _rows(DRIVERS_CSV)
    for i, r in enumerate(rows, start=2):
        m = re.fullmatch(r"t per (.+)", r["intensity_unit"])
        assert m, f"line {i}: intensity_unit must read 't per <unit of activity>'"
        assert r["activity_unit"] == f"{m.group(1)} per year", f"line {i}: activity_unit must be '{m.group(1)} per year'"


def test_assumption_rows_are_flagged_with_a_setting() -> None:
    _, rows = _rows(DRIVERS_CSV)
    n_assumed = 0
    for i, r in enumerate(rows, start=2):
        where = f"line {i}"
        flagged = "ASSUMPTION" in r["note"]
        settings = [s for s in r["setting"].split(";") if s]
        assert flagged == bool(settings), f"{where}: a setting exactly when the note says ASSUMPTION"
        # a missing number is never silent: it is an assumption with a setting
        for col in ("intensity", "activity"):
            if r[col] == "":
                assert flagged and re.search(rf"ASSUMPTION \([^)]*\b{col}\b", r["note"]), \
                    f"{where}: blank {col} must be marked 'ASSUMPTION ({col})'"
        if flagged:
            n_assumed += 1
            fields = re.search(r"ASSUMPTION \(([a-z, ]+)\)", r["note"])
            assert fields, where
            assert len(settings) == len(fields.group(1).split(",")), f"{where}: one setting per assumed field"
            for s in settings:
                assert s.startswith(f"outlook.drivers.{r['driver']}.{r['commodity_id']}."), f"{where}: {s}"
    assert n_assumed >= 1


def test_public_rows_have_both_numbers_and_crs_platform_figures() -> None:
    """Rows without ASSUMPTION are fully sourced; the CRS platform figures convert exactly."""
    _, rows = _rows(DRIVERS_CSV)
    public = [r for r in rows if "ASSUMPTION" not in r["note"]]
    assert public and all(r["intensity"] and r["activity"] for r in public)
    lb = 0.45359237 / 1000
    crs = {r["intensity_unit"]: float(r["intensity"]) for r in rows
           if r["driver"] == "defence" and r["commodity_id"] == "rare_earths"}
    assert crs["t per F-35 aircraft delivered"] == pytest.approx(920 * lb, abs=1e-4)          # ~417 kg
    assert crs["t per Virginia-class submarine procured"] == pytest.approx(9200 * lb, abs=1e-4)  # ~4,173 kg
    assert crs["t per DDG-51 destroyer procured"] == pytest.approx(5200 * lb, abs=1e-4)
    dc = [r for r in rows if r["driver"] == "ai_data_centres"]
    # DERIVED activity: Macquarie's 77 GW (2023) -> 334 GW (2030) spread evenly over 7 years
    assert dc and all(float(r["activity"]) == pytest.approx((334_000 - 77_000) / 7, abs=1) for r in dc)


# --- demand drivers: the typed loader -------------------------------------------------------
def test_loader_types_and_demand() -> None:
    df = outlook.demand_drivers()
    assert list(df.columns) == COLUMNS
    assert df["activity_year"].dtype == "int64"
    assert df["intensity"].dtype == "float64" and df["activity"].dtype == "float64"
    assert pd.api.types.is_datetime64_any_dtype(df["as_of"])
    dem = outlook.driver_demand()
    _, rows = _rows(DRIVERS_CSV)
    for line, r in zip(dem.index, rows, strict=True):
        i, a = _num(r["intensity"]), _num(r["activity"])
        got = dem.at[line, "demand_t"]
        if i is None or a is None:
            assert pd.isna(got)
        else:
            assert got == pytest.approx(i * a)
        assert dem.at[line, "assumed"] == bool(r["setting"])
    f35 = outlook.driver_demand("defence", "rare_earths", "WORLD")
    assert f35.loc[f35["activity_year"] == 2024, "demand_t"].item() == pytest.approx(110 * 0.4173)  # rounded to 0.1 kg in the CSV
    with pytest.raises(KeyError):
        outlook.driver_demand("tourism")


def test_assumption_settings_list() -> None:
    s = outlook.assumption_settings()
    assert s["setting"].is_unique
    assert set(s["field"]) <= {"intensity", "activity"}
    virginia = s.set_index("setting").loc["outlook.drivers.defence.rare_earths.virginia_class_per_year"]
    assert virginia["default"] == 2.0 and virginia["years"] == [2030, 2035, 2040]
    _, rows = _rows(DRIVERS_CSV)
    names = {n for r in rows for n in r["setting"].split(";") if n}
    assert set(s["setting"]) == names


def _raw() -> pd.DataFrame:
    df = pd.read_csv(DRIVERS_CSV, dtype=str, keep_default_na=False, na_filter=False)
    df.index = pd.RangeIndex(2, len(df) + 2)
    return df


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("commodity_id", "unobtainium", "catalog/commodities.csv"),
        ("driver", "tourism", "a driver in"),
        ("region", "EU", "a region in"),
        ("activity_year", "2050", "a year 2024..2040"),
        ("activity_unit", "MW per year", "per year' (the unit of intensity_unit)"),
        ("source", "a report", "a source that contains a URL"),
        ("as_of", "2099-01-01", "an ISO date"),
        ("setting", "", "a setting exactly when the note says ASSUMPTION"),
    ],
)
def test_validator_names_line_and_column(column: str, value: str, expected: str) -> None:
    df = _raw()
    line = int(df.index[df["setting"] != ""][0]) if column == "setting" else 2
    df.at[line, column] = value
    with pytest.raises(CuratedTableError) as exc:
        outlook.validate_demand_drivers(df)
    faults = [f for f in exc.value.faults if f.line == line]
    assert faults, str(exc.value)
    assert any(expected in str(f) for f in faults), str(exc.value)


def test_validator_rejects_a_silent_blank() -> None:
    df = _raw()
    df.at[2, "intensity"] = ""  # a public row losing its number without saying ASSUMPTION
    with pytest.raises(CuratedTableError, match="line 2, column 'intensity'"):
        outlook.validate_demand_drivers(df)


# --- seed projects: facts for the outlook ---------------------------------------------------
def _seed() -> list[dict]:
    return json.loads(SEED.read_text(encoding="utf-8"))


def test_seed_projects_scoreable_count() -> None:
    """Capacity and start year known (the scoring needs both). 21 before the outlook research."""
    scoreable = [p for p in _seed() if p["capacity_tpy"] is not None and p["first_production_year"] is not None]
    assert len(scoreable) >= 23
    for p in _seed():
        if p not in scoreable:
            # the reason is in the notes, field by field
            missing = [c for c in ("capacity_tpy", "first_production_year") if p[c] is None]
            assert all(c in p["notes"] for c in missing), p["id"]


def test_seed_permitting_milestones_have_dates_and_sources() -> None:
    projects = _seed()
    with_ms = [p for p in projects if p["permitting_milestones"]]
    assert len(with_ms) >= 9  # 1 before the outlook research
    for p in with_ms:
        dated_sources = {s["as_of"] for s in p["sources"]}
        for m in p["permitting_milestones"]:
            where = f"{p['id']} {m['name']}"
            target = dt.date.fromisoformat(m["target_date"])
            if m["actual_date"] is not None:
                assert dt.date.fromisoformat(m["actual_date"]) <= TODAY, where
            assert dt.date(2000, 1, 1) <= target <= dt.date(2040, 12, 31), where
            assert dated_sources, where
    # every FAST-41 milestone of a US project names the dashboard programme and has a source
    fast41 = {p["id"] for p in projects for m in p["permitting_milestones"] if "FAST-41" in m["name"]}
    assert {"P-PPTA-STIBNITE", "P-SLI-SWA", "P-ALB-KINGSMTN", "P-GPH-GRAPHITECREEK"} <= fast41
    assert all(next(p for p in projects if p["id"] == i)["host_country_iso3"] == "USA" for i in fast41)
    # at least one open milestone, so the clock's overdue check has something real to test
    assert any(m["actual_date"] is None for p in projects for m in p["permitting_milestones"])


FACT_VALUES = {
    "value_chain_stage": {"mine", "separation", "refining", "metal", "magnet", "recycling"},
    "development_stage": {"exploration", "feasibility", "permitting", "construction", "production"},
}


def test_seed_project_facts() -> None:
    cols, rows = _rows(FACTS)
    assert cols == ["project_id", "fact", "value", "milestone", "source", "as_of", "note"]
    projects = {p["id"]: p for p in _seed()}
    per_project: dict[str, Counter[str]] = {pid: Counter() for pid in projects}
    statuses: dict[tuple[str, str], str] = {}
    for i, r in enumerate(rows, start=2):
        where = f"seed_project_facts.csv line {i}"
        assert r["project_id"] in projects, where
        assert r["fact"] in {"value_chain_stage", "integrated_stages", "development_stage",
                             "capacity_product", "milestone_status"}, where
        if r["fact"] in FACT_VALUES:
            assert r["value"] in FACT_VALUES[r["fact"]], f"{where}: {r['value']!r}"
        if r["fact"] == "integrated_stages":
            parts = r["value"].split(";")
            assert len(parts) > 1 and set(parts) <= FACT_VALUES["value_chain_stage"], where
        if r["fact"] == "milestone_status":
            assert r["value"] in {"complete", "in_progress", "planned", "paused"}, where
            statuses[(r["project_id"], r["milestone"])] = r["value"]
        else:
            assert r["milestone"] == "", where
        assert URL.search(r["source"]), f"{where}: source without a URL"
        _date(r["as_of"], where)
        per_project[r["project_id"]][r["fact"]] += 1
    for pid, n in per_project.items():
        for fact in ("value_chain_stage", "development_stage", "capacity_product"):
            assert n[fact] == 1, f"{pid}: one {fact} row"
    # one status row per JSON milestone, consistent with its actual date
    json_ms = {(pid, m["name"]): m for pid, p in projects.items() for m in p["permitting_milestones"]}
    assert set(statuses) == set(json_ms)
    for key, m in json_ms.items():
        assert (statuses[key] == "complete") == (m["actual_date"] is not None), key
    # the value-chain stage tells a separation plant and a magnet plant from a mine
    stages = {r["project_id"]: r["value"] for r in rows if r["fact"] == "value_chain_stage"}
    assert stages["P-MPM-MTNPASS"] == "separation" and stages["P-MPM-INDEPENDENCE"] == "magnet"
    assert stages["P-LYC-MTWELD"] == "mine"
