"""Validation of the hand-curated reference tables (see docs/curated_data.md).

Every curated file is checked for its columns, ids that exist in the commodity catalogue, valid
ISO3 codes (pycountry), parseable dates, and a source URL plus as-of date on every row. Where a
curated number was derived (export-cut estimates), it is recomputed here from its published
inputs or from the shared raw data, independently of the warehouse code.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from critmin.data import paths
from curated_support import as_of_ok, catalogue_ids, csv_rows, iso3_ok, iso_date

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "src" / "critmin"
ALLIANCES = PKG / "risk" / "data" / "alliances.csv"
SUBSTITUTION = PKG / "risk" / "data" / "substitution_index.csv"
RESTRICTIONS = PKG / "disruption" / "data" / "export_restrictions.csv"
SEED = PKG / "projects" / "data" / "seed_projects.json"
SCENARIOS = REPO / "scenarios"

URL = re.compile(r"^https?://\S+$")
TODAY = dt.date.today()


# --- helpers ------------------------------------------------------------------------------
CATALOGUE = catalogue_ids()
_rows, _iso3_ok, _date, _as_of_ok = csv_rows, iso3_ok, iso_date, as_of_ok


# --- alliances ----------------------------------------------------------------------------
def test_alliances_columns_and_rows() -> None:
    cols, rows = _rows(ALLIANCES)
    assert cols == ["alliance", "country_iso3", "name", "since", "source", "as_of"]
    seen = set()
    for i, r in enumerate(rows, start=2):
        where = f"alliances.csv line {i}"
        assert r["alliance"] in {"MSP", "EU"}, where
        assert _iso3_ok(r["country_iso3"]), f"{where}: bad ISO3 {r['country_iso3']!r}"
        assert (r["alliance"], r["country_iso3"]) not in seen, f"{where}: duplicate"
        seen.add((r["alliance"], r["country_iso3"]))
        _date(r["since"], where)
        assert re.search(r"https?://\S+", r["source"]), f"{where}: source has no URL"
        _as_of_ok(r["as_of"], where)


def test_alliance_membership_matches_published_lists() -> None:
    _, rows = _rows(ALLIANCES)
    eu = {r["country_iso3"] for r in rows if r["alliance"] == "EU"}
    msp = {r["country_iso3"] for r in rows if r["alliance"] == "MSP"}
    # EU-27 after Brexit (UK left 2020-01-31); Croatia joined 2013.
    assert len(eu) == 27 and "GBR" not in eu and "HRV" in eu
    # State Department list: 14 countries plus the European Union (not a country row).
    assert msp == {
        "AUS", "CAN", "EST", "FIN", "FRA", "DEU", "IND", "ITA", "JPN", "NOR", "KOR", "SWE", "GBR", "USA",
    }


# --- substitution index -------------------------------------------------------------------
def _substitution_row_errors(r: dict[str, str]) -> list[str]:
    errs = []
    if r.get("commodity_id") not in CATALOGUE:
        errs.append(f"commodity_id {r.get('commodity_id')!r} not in the catalogue")
    for col in ("si_sr", "si_ei"):
        try:
            v = float(r.get(col) or "")
        except ValueError:
            errs.append(f"{col}: expected a number, got {r.get(col)!r}")
            continue
        if not 0.0 <= v <= 1.0:
            errs.append(f"{col}: expected 0..1, got {v}")
    if not URL.search(r.get("source") or "") and "doi" not in (r.get("source") or "").lower():
        errs.append("source: expected a URL or DOI")
    try:
        dt.date.fromisoformat(r.get("as_of") or "")
    except ValueError:
        errs.append(f"as_of: expected an ISO date, got {r.get('as_of')!r}")
    return errs


def test_substitution_index_file() -> None:
    cols, rows = _rows(SUBSTITUTION)
    assert cols == ["commodity_id", "si_sr", "si_ei", "source", "as_of", "note"]
    ids = [r["commodity_id"] for r in rows]
    assert len(ids) == len(set(ids)), "one row per commodity"
    for i, r in enumerate(rows, start=2):
        assert not _substitution_row_errors(r), f"substitution_index.csv line {i}"


def test_substitution_row_validator_rejects_bad_rows() -> None:
    good = {"commodity_id": "gallium", "si_sr": "0.9", "si_ei": "0.95",
            "source": "EC 2023, doi:10.2873/725585", "as_of": "2023-03-16", "note": ""}
    assert _substitution_row_errors(good) == []
    assert _substitution_row_errors({**good, "commodity_id": "unobtainium"})
    assert _substitution_row_errors({**good, "si_sr": "1.4"})
    assert _substitution_row_errors({**good, "si_ei": ""})
    assert _substitution_row_errors({**good, "as_of": "March 2023"})


# --- export restrictions ------------------------------------------------------------------
RESTRICTION_COLUMNS = [
    "event_id", "country_iso3", "commodity_id", "stage", "measure", "announced", "effective",
    "ended", "targets", "export_cut_estimate", "description", "source_title", "source_url", "as_of",
]


def _restrictions() -> list[dict[str, str]]:
    cols, rows = _rows(RESTRICTIONS)
    assert cols == RESTRICTION_COLUMNS
    return rows


def test_export_restrictions_rows_are_valid() -> None:
    rows = _restrictions()
    keys = set()
    for i, r in enumerate(rows, start=2):
        where = f"export_restrictions.csv line {i} ({r['event_id']})"
        assert re.fullmatch(r"[A-Z]{3}-[A-Z0-9-]+-\d{4}", r["event_id"]), where
        assert r["event_id"].startswith(r["country_iso3"] + "-"), where
        assert (r["event_id"], r["commodity_id"]) not in keys, f"{where}: duplicate key"
        keys.add((r["event_id"], r["commodity_id"]))
        assert _iso3_ok(r["country_iso3"]), where
        assert r["commodity_id"] in CATALOGUE, f"{where}: unknown commodity {r['commodity_id']!r}"
        assert r["stage"] in {"mine", "processing"}, where
        assert r["measure"] in {"ban", "licensing", "quota", "tax", "suspension"}, where
        ann = _date(r["announced"], where + " announced")
        eff = _date(r["effective"], where + " effective")
        assert ann <= eff, f"{where}: announced after effective"
        assert eff >= dt.date(2010, 1, 1), f"{where}: before 2010"
        if r["ended"]:
            assert _date(r["ended"], where + " ended") >= eff, f"{where}: ends before it starts"
        if r["targets"] != "ALL":
            for t in r["targets"].split(";"):
                assert _iso3_ok(t), f"{where}: bad target {t!r}"
        if r["export_cut_estimate"]:
            cut = float(r["export_cut_estimate"])
            assert 0.0 < cut <= 1.0, where
            assert re.search(r"[Cc]ut estimate", r["description"]), f"{where}: estimate not explained"
        assert r["description"] and r["source_title"], where
        assert URL.match(r["source_url"]), f"{where}: source_url"
        _as_of_ok(r["as_of"], where)


def test_export_restrictions_cover_the_required_measures() -> None:
    rows = _restrictions()
    assert len({r["event_id"] for r in rows}) >= 16

    def one(event_id: str, commodity: str) -> dict[str, str]:
        hits = [r for r in rows if r["event_id"] == event_id and r["commodity_id"] == commodity]
        assert len(hits) == 1, (event_id, commodity)
        return hits[0]

    # Dates as published by MOFCOM/GAC, ARECOMS and the Indonesian government.
    ga = one("CHN-GAGE-LIC-2023", "gallium")
    assert (ga["announced"], ga["effective"]) == ("2023-07-03", "2023-08-01")
    assert one("CHN-GAGE-LIC-2023", "germanium")["effective"] == "2023-08-01"
    assert one("CHN-GRAPH-LIC-2023", "graphite")["effective"] == "2023-12-01"
    for c in ("gallium", "germanium", "antimony"):
        r = one("CHN-GAGESB-USBAN-2024", c)
        assert (r["announced"], r["targets"], r["measure"]) == ("2024-12-03", "USA", "ban")
    assert one("CHN-SB-LIC-2024", "antimony")["effective"] == "2024-09-15"
    for c in ("rare_earths", "scandium", "yttrium"):
        assert one("CHN-HREE-LIC-2025", c)["effective"] == "2025-04-04"
    for c in ("tungsten", "tellurium", "bismuth", "molybdenum", "indium"):
        assert one("CHN-WTEBIMOIN-LIC-2025", c)["effective"] == "2025-02-04"
    assert one("CHN-REE-JPN-2010", "rare_earths")["targets"] == "JPN"
    assert one("CHN-REE-QUOTA-2010", "rare_earths")["measure"] == "quota"
    susp = one("COD-CO-SUSP-2025", "cobalt")
    assert (susp["effective"], susp["measure"]) == ("2025-02-22", "suspension")
    assert one("COD-CO-QUOTA-2025", "cobalt")["effective"] == "2025-10-16"
    assert one("IDN-NI-ORE-2014", "nickel")["effective"] == "2014-01-12"
    assert one("IDN-NI-ORE-2020", "nickel")["effective"] == "2020-01-01"
    assert one("IDN-BAUX-ORE-2023", "bauxite")["effective"].startswith("2023-06")
    assert one("ZWE-LI-ORE-2022", "lithium")["effective"].startswith("2022-12")
    assert one("MMR-REE-BORDER-2021", "rare_earths")["targets"] == "CHN"


def test_ree_quota_cut_estimate_from_published_quotas() -> None:
    # 2010 quota 30,258 t vs 2009 quota 50,145 t (MOFCOM figures as reported by Reuters).
    r = next(x for x in _restrictions() if x["event_id"] == "CHN-REE-QUOTA-2010")
    assert float(r["export_cut_estimate"]) == pytest.approx(1 - 30258 / 50145, abs=0.005)


def _raw_dir() -> Path:
    try:
        return paths.resolve_data_dir()
    except paths.DataDirNotFound as e:
        pytest.skip(f"shared raw data not available: {e}")


def test_drc_quota_cut_estimate_from_usgs_production() -> None:
    """0.56 = 1 - 96,600 t quota / DRC 2024e mine production in the raw USGS MCS 2025 CSV."""
    path = _raw_dir() / "usgs_mcs2025" / "world_data" / "MCS2025_World_Data.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [
            r for r in csv.DictReader(fh)
            if r["COMMODITY"].strip() == "Cobalt" and r["COUNTRY"].strip() == "Congo (Kinshasa)"
        ]
    prod_2024 = float(rows[0]["PROD_EST_ 2024"].replace(",", ""))
    r = next(x for x in _restrictions() if x["event_id"] == "COD-CO-QUOTA-2025")
    assert float(r["export_cut_estimate"]) == pytest.approx(1 - 96_600 / prod_2024, abs=0.005)


def test_graphite_cut_estimate_from_china_export_data() -> None:
    """0.37 = 1 - China's HS 250410 exports (t) Dec 2023-Nov 2024 / Dec 2022-Nov 2023."""
    path = _raw_dir() / "comtrade_china_exports" / "deep_dive_hs6_monthly.csv"
    before = after = 0.0
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["hs6"] != "250410" or not r["qty"]:
                continue
            month = r["period_dt"][:7]
            if "2022-12" <= month <= "2023-11":
                before += float(r["qty"])
            elif "2023-12" <= month <= "2024-11":
                after += float(r["qty"])
    assert before > 0
    r = next(x for x in _restrictions() if x["event_id"] == "CHN-GRAPH-LIC-2023")
    assert float(r["export_cut_estimate"]) == pytest.approx(1 - after / before, abs=0.005)


# --- scenarios ----------------------------------------------------------------------------
SCENARIO_FILES = sorted(SCENARIOS.glob("*.toml"))
EVENT_KEYS = {"country", "commodity", "stage", "export_cut", "start_month", "duration_months", "targets"}
OVERRIDE_KEYS = {"demand_growth", "supply_elasticity", "demand_elasticity", "leakage",
                 "spare_capacity", "ramp_up_months"}


def test_scenario_library_size() -> None:
    assert len(SCENARIO_FILES) >= 8


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_scenario_file_is_valid(path: Path) -> None:
    with path.open("rb") as fh:
        sc = tomllib.load(fh)
    assert set(sc) <= {"name", "description", "horizon_months", "consumers", "sources", "events",
                       "overrides"}, f"{path.name}: unknown top-level key"
    assert sc["name"].strip() and sc["description"].strip(), path.name
    horizon = sc.get("horizon_months", 12)
    assert isinstance(horizon, int) and horizon >= 1
    for c in sc.get("consumers", ["USA", "JPN"]):
        assert _iso3_ok(c), f"{path.name}: consumer {c!r}"
    assert sc["sources"], f"{path.name}: at least one source"
    for s in sc["sources"]:
        assert s["title"].strip() and URL.match(s["url"]), f"{path.name}: source {s}"
        _as_of_ok(s["as_of"], f"{path.name} source")
    spans: dict[tuple, list[tuple[int, int]]] = {}
    for k, e in enumerate(sc.get("events", [])):
        where = f"{path.name} events[{k}]"
        assert set(e) <= EVENT_KEYS and EVENT_KEYS - {"targets"} <= set(e), where
        assert _iso3_ok(e["country"]) and e["commodity"] in CATALOGUE, where
        assert e["stage"] in {"mine", "processing"}, where
        assert 0.0 <= e["export_cut"] <= 1.0, where
        start, dur = e["start_month"], e["duration_months"]
        assert start >= 1 and dur >= 1 and start + dur - 1 <= horizon, where
        for t in e.get("targets", []):
            assert _iso3_ok(t), where
        key = (e["country"], e["commodity"], e["stage"], tuple(e.get("targets", [])))
        for a, b in spans.get(key, []):
            assert start + dur - 1 < a or start > b, f"{where}: overlaps an earlier event"
        spans.setdefault(key, []).append((start, start + dur - 1))
    assert set(sc.get("overrides", {})) <= OVERRIDE_KEYS, path.name


def test_required_scenarios_present() -> None:
    loaded = {p.stem: tomllib.loads(p.read_text(encoding="utf-8")) for p in SCENARIO_FILES}
    us_ban = loaded["cn_gallium_germanium_antimony_us_ban_2024"]
    assert {e["commodity"] for e in us_ban["events"]} == {"gallium", "germanium", "antimony"}
    assert all(e["targets"] == ["USA"] for e in us_ban["events"])
    jp = loaded["cn_rare_earth_embargo_japan_2010"]
    assert all(e["targets"] == ["JPN"] for e in jp["events"])
    worst = loaded["hypothetical_cn_worst_case_us_jp"]
    assert "HYPOTHETICAL" in worst["name"] and "HYPOTHETICAL" in worst["description"]
    for stem in ("cn_gallium_germanium_licensing_2023", "cn_heavy_rare_earth_licensing_2025",
                 "cod_cobalt_export_suspension_2025", "idn_nickel_ore_ban_2020",
                 "cn_graphite_licensing_2023", "cn_tungsten_controls_2025"):
        assert loaded[stem]["events"], stem


# --- seed projects ------------------------------------------------------------------------
STAGES = {"mine", "processing", "refining", "recycling", "magnets", "batteries", "catalysts",
          "optical", "other"}
STATUSES = {"announced", "feasibility", "permitting", "financing", "construction", "operating",
            "suspended"}
PROJECT_KEYS = {"id", "name", "sponsors", "host_country_iso3", "latitude", "longitude",
                "commodity_id", "stage", "capacity_tpy", "capex_usd", "first_production_year",
                "status", "permitting_milestones", "financing_requests", "visibility", "sources"}


def _seed() -> list[dict]:
    return json.loads(SEED.read_text(encoding="utf-8"))


def test_seed_projects_are_valid() -> None:
    projects = _seed()
    assert len(projects) >= 25
    ids = [p["id"] for p in projects]
    assert len(ids) == len(set(ids)), "project ids must be unique"
    for p in projects:
        where = f"seed_projects.json {p.get('id')}"
        assert PROJECT_KEYS <= set(p) <= PROJECT_KEYS | {"notes"}, where
        assert re.fullmatch(r"P-[A-Z0-9]+(-[A-Z0-9]+)+", p["id"]), where
        assert p["name"] and p["sponsors"] and all(p["sponsors"]), where
        assert _iso3_ok(p["host_country_iso3"]), where
        assert p["commodity_id"] in CATALOGUE, where
        assert p["stage"] in STAGES and p["status"] in STATUSES, where
        assert p["visibility"] in {"US", "JP", "joint"}, where
        lat, lon = p["latitude"], p["longitude"]
        assert (lat is None) == (lon is None), where
        if lat is not None:
            assert -90 <= lat <= 90 and -180 <= lon <= 180, where
        for col in ("capacity_tpy", "capex_usd"):
            assert p[col] is None or p[col] > 0, where
        fpy = p["first_production_year"]
        assert fpy is None or 1950 <= fpy <= 2035, where
        # a missing number must be explained, never silently left out
        if any(p[c] is None for c in ("capacity_tpy", "capex_usd", "first_production_year")):
            assert "null" in p.get("notes", ""), f"{where}: null without an explanation in notes"
        for m in p["permitting_milestones"]:
            _date(m["target_date"], where)
            if m["actual_date"] is not None:
                _date(m["actual_date"], where)
        for f in p["financing_requests"]:
            assert f["instrument"] in {"grant", "loan", "guarantee", "equity", "offtake", "insurance"}
            assert f["partner"] in {"USA", "JPN"} and f["amount_usd"] > 0, where
            assert set(f) <= {"instrument", "amount_usd", "partner", "illustrative"}, where
        assert p["sources"], where
        for s in p["sources"]:
            assert s["title"] and URL.match(s["url"]), where
            _as_of_ok(s["as_of"], where)


def test_restricted_seed_records_are_flagged_illustrative() -> None:
    projects = _seed()
    restricted = [p for p in projects if p["visibility"] != "joint"]
    assert {p["visibility"] for p in restricted} == {"US", "JP"}
    for p in projects:
        illustrative = [f for f in p["financing_requests"] if f.get("illustrative")]
        if p["visibility"] == "joint":
            assert not illustrative, f"{p['id']}: illustrative amounts only on sample restricted records"
        else:
            assert illustrative and "SAMPLE RESTRICTED RECORD" in p["notes"], p["id"]


def test_seed_projects_validate_against_the_registry_model() -> None:
    from critmin.projects import models

    validated = [models.Project.model_validate(p) for p in _seed()]  # raises on an invalid record
    assert len(validated) == len(_seed()) >= 25


# --- HS map (lead's table, reviewed and extended by the curation work) -----------------------
def test_hs_map_rows_are_valid() -> None:
    path = resources.files("critmin.data.catalog") / "hs_map.csv"
    with path.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["hs_code", "commodity_id", "stage_group", "description", "source"]
        rows = list(reader)
    codes = [r["hs_code"] for r in rows]
    assert len(codes) == len(set(codes)), "an HS code maps to one commodity (the importer joins on it)"
    for i, r in enumerate(rows, start=2):
        where = f"hs_map.csv line {i}"
        assert re.fullmatch(r"\d{4}|\d{6}", r["hs_code"]), where
        assert r["commodity_id"] in CATALOGUE, where
        assert r["stage_group"] in {"extraction", "processing"}, where
        assert r["description"].strip() and r["source"].strip(), where
        # Chapter 26 is ores and concentrates; 28 and 72-85 are chemicals, metals and articles.
        # (Checked for the rows added by the curation review; the lead's rows follow the USGS
        # stage of the commodity, e.g. mercury 280540 is 'extraction' like USGS mine output.)
        chapter = int(r["hs_code"][:2])
        if "curation review" not in r["source"]:
            continue
        if chapter in {26}:
            assert r["stage_group"] == "extraction", f"{where}: chapter 26 is ores and concentrates"
        if chapter in {28, 72, 74, 75, 76, 79, 80, 81, 85}:
            assert r["stage_group"] == "processing", f"{where}: chapter {chapter} is processed"
