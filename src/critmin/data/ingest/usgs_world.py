"""USGS MCS world data: production, capacity and reserves by country.

* MCS 2025: one file ``MCS2025_World_Data.csv`` (long, with ``UNIT_MEAS`` and ``TYPE``).
* MCS 2022 (subset), 2023 and 2024: one file per commodity, units in the column names
  (``Prod_t_2022``, ``Prod_kt_est_2023``, ``Reserves_kg``, ``Cap_kt_2022``, …) and the
  commodity in the file code (``mcs2024-raree_world.csv``).

Quirks handled explicitly: trailing spaces and the misspelling ``Gemanium`` (commodity
aliases); the ``PROD_EST_ 2024`` header with a space; the MCS 2024 fluorspar file whose
``Type`` header reads ``Mine production, fluorspar``; a blank ``UNIT_MEAS`` on one MCS 2025
rutile row (taken from the other rows of the same commodity and TYPE, noted in ``note``);
Platinum-group rows split into ``platinum``/``palladium`` by TYPE; rows of the form
``United States and Canada`` kept as aggregates.
"""

from __future__ import annotations

import re
from pathlib import Path

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import DatasetSpec, Frames, country_fields, parse_cell, read_csv
from critmin.data.normalize import commodities, stages, units
from critmin.data.schema import PRODUCTION, RESERVES

PUBLISHER = "U.S. Geological Survey, National Minerals Information Center"
LICENCE = "Public domain (U.S. Government work)"
RELEASES = {
    "MCS2025": ("Mineral Commodity Summaries 2025 Data Release (ver. 2.0, April 2025), doi:10.5066/P13XCP3R", "https://doi.org/10.5066/P13XCP3R"),
    "MCS2024": ("Mineral Commodity Summaries 2024 Data Release (ver. 2.0, March 2024), doi:10.5066/P144BA54", "https://doi.org/10.5066/P144BA54"),
    "MCS2023": ("Mineral Commodity Summaries 2023 Data Release, doi:10.5066/P9WCYUI6", "https://doi.org/10.5066/P9WCYUI6"),
    "MCS2022": ("Mineral commodity summaries 2022 data release, doi:10.5066/P9KKMCP4", "https://doi.org/10.5066/P9KKMCP4"),
}

PROD_COLS = PRODUCTION.column_names
RES_COLS = RESERVES.column_names


def _spec(key: str, path: Path, data_dir: Path, vintage: str, parser) -> DatasetSpec:
    title, url = RELEASES[vintage]
    return DatasetSpec(
        key=key, path=path, relpath=str(path.relative_to(data_dir)), publisher=PUBLISHER,
        title=f"USGS {title}: world data", licence=LICENCE, vintage=vintage, parser=parser, url=url,
    )


def specs(data_dir: Path) -> list[DatasetSpec]:
    out: list[DatasetSpec] = []
    f25 = data_dir / "usgs_mcs2025" / "world_data" / "MCS2025_World_Data.csv"
    if f25.exists():
        out.append(_spec("usgs_mcs2025_world", f25, data_dir, "MCS2025", parse_mcs2025))
    for vintage, folder in (("MCS2024", "usgs_mcs2024/world_data"), ("MCS2023", "usgs_mcs2023/world_data"), ("MCS2022", "usgs_mcs2022_subset")):
        d = data_dir / folder
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.csv")):
            m = re.search(r"mcs20\d\d-([a-z-]+)_world\.csv$", p.name, re.I)
            if not m:
                continue
            code = m.group(1).lower()
            out.append(_spec(f"usgs_{vintage.lower()}_world_{code}", p, data_dir, vintage, parse_per_commodity))
    return out


def _prod_row(spec, line, commodity_id, commodity_raw, iso3, country_raw, agg, info, year, est, parsed, raw, unit, factor, unit_raw, note):
    q = None if parsed.value is None else parsed.value * factor
    return {
        "dataset_id": None, "source_line": line, "source": "USGS", "commodity_id": commodity_id,
        "commodity_raw": commodity_raw, "country_iso3": iso3, "country_raw": country_raw, "aggregate": agg,
        "stage": info.stage, "stage_group": info.stage_group, "product": info.product, "measure": info.measure,
        "type_raw": None, "year": year, "estimated": est, "quantity": q, "unit": unit, "flag": parsed.flag,
        "bound_lo": None if parsed.lo is None else parsed.lo * factor,
        "bound_hi": None if parsed.hi is None else parsed.hi * factor,
        "value_raw": raw, "unit_raw": unit_raw, "note": note or parsed.note,
    }


def _res_row(line, commodity_id, commodity_raw, iso3, country_raw, agg, type_raw, year, parsed, raw, unit, factor, unit_raw, note):
    return {
        "dataset_id": None, "source_line": line, "commodity_id": commodity_id, "commodity_raw": commodity_raw,
        "country_iso3": iso3, "country_raw": country_raw, "aggregate": agg, "type_raw": type_raw, "year": year,
        "quantity": None if parsed.value is None else parsed.value * factor, "unit": unit, "flag": parsed.flag,
        "bound_lo": None if parsed.lo is None else parsed.lo * factor,
        "bound_hi": None if parsed.hi is None else parsed.hi * factor,
        "value_raw": raw, "unit_raw": unit_raw, "note": note or parsed.note,
    }


def _world_total_scope(info: stages.StageInfo, agg: str | None, country_raw: str, note: str | None):
    """A world-total row that names its own scope ('World total (ilmenite and rutile, rounded)')
    is the total of that scope, not of the TYPE's product: it gets the scope as its product."""
    m = re.search(r"\(([^)]*)\)", country_raw) if agg == "world" else None
    scope = ", ".join(x.strip() for x in m.group(1).split(",") if x.strip() and "rounded" not in x) if m else ""
    if not scope or scope.lower() in info.product.lower():
        return info, note
    new = stages.StageInfo(info.stage, info.stage_group, info.measure, scope.lower())
    return new, "; ".join(x for x in (note, f"world total of '{scope}' (named in the country cell), not of '{info.product}'") if x)


def _commodity_for_type(commodity_id: str, type_raw: str) -> str:
    """Split the Platinum-group row family by metal (TYPE names the content)."""
    if commodity_id == "pgm":
        t = type_raw.lower()
        if "palladium" in t:
            return "palladium"
        if "platinum" in t:
            return "platinum"
    return commodity_id


def _unit(relpath: str, line: int, column: str, unit_text: str, commodity_id: str) -> tuple[str, float]:
    base = units.to_base(unit_text)
    if base is None:
        raise ImportFault(relpath, line, column, unit_text, "a known unit (metric tons, thousand metric tons, kilograms, …)")
    trade_unit = commodities.catalogue()[commodity_id].trade_unit
    return units.to_commodity_unit(base[0], base[1], trade_unit)


def parse_mcs2025(spec: DatasetSpec) -> Frames:
    need = ("COMMODITY", "COUNTRY", "TYPE", "UNIT_MEAS", "PROD_2023", "PROD_EST_ 2024", "PROD_NOTES",
            "CAP_2023", "CAP_EST_ 2024", "CAP_NOTES", "RESERVES_2024", "RESERVE_NOTES")
    t = read_csv(spec.path, spec.relpath, required=need)
    ix = {c: t.col(c) for c in need}
    # unit per (commodity, TYPE) for rows that leave UNIT_MEAS blank
    known_units: dict[tuple[str, str], str] = {}
    for _, r in t.iter():
        u = r[ix["UNIT_MEAS"]].strip()
        if u:
            known_units[(r[ix["COMMODITY"]].strip(), r[ix["TYPE"]].strip())] = u
    # Reserve units stated only in RESERVE_NOTES: '(Reserve data is thousand metric tons)' on some
    # rows applies to the whole commodity (molybdenum, vanadium); 'Crude Ore, million metric
    # tons' (iron ore) applies to its own row.
    reserve_unit: dict[str, str] = {}
    for _, r in t.iter():
        m = re.search(r"reserve data is ([a-z ]+?)\)?\.?\s*$", r[ix["RESERVE_NOTES"]].strip(), re.I)
        if m:
            reserve_unit[r[ix["COMMODITY"]].strip()] = m.group(1).strip().lower()
    prod, res = [], []
    for line, r in t.iter():
        craw = r[ix["COMMODITY"]]
        try:
            cid: str = commodities.resolve(craw)
        except KeyError:
            raise ImportFault(spec.relpath, line, "COMMODITY", craw, "a commodity in critmin/data/catalog/commodities.csv") from None
        type_raw = r[ix["TYPE"]].strip()
        cid = _commodity_for_type(cid, type_raw)
        iso3, agg, qual = country_fields(spec.relpath, line, "COUNTRY", r[ix["COUNTRY"]])
        unit_text = r[ix["UNIT_MEAS"]].strip()
        unit_note = None
        if not unit_text:
            unit_text = known_units.get((craw.strip(), type_raw), "")
            if not unit_text:
                raise ImportFault(spec.relpath, line, "UNIT_MEAS", "", "a unit (no other row of this commodity and TYPE gives one)")
            unit_note = f"UNIT_MEAS blank in source; unit '{unit_text}' taken from other rows with the same TYPE"
        info = stages.classify(type_raw)
        if info is None:
            raise ImportFault(spec.relpath, line, "TYPE", type_raw, "a production, capacity or reserves type")
        info, unit_note = _world_total_scope(info, agg, r[ix["COUNTRY"]], unit_note)
        cells = [("PROD_2023", 2023, False, "PROD_NOTES"), ("PROD_EST_ 2024", 2024, True, "PROD_NOTES"),
                 ("CAP_2023", 2023, False, "CAP_NOTES"), ("CAP_EST_ 2024", 2024, True, "CAP_NOTES")]
        for col, year, est, note_col in cells:
            raw = r[ix[col]]
            if not raw.strip():
                continue
            p = parse_cell(spec.relpath, line, col, raw)
            unit, factor = _unit(spec.relpath, line, "UNIT_MEAS", unit_text, cid)
            i = info
            if col.startswith("CAP") and info.measure != "capacity":
                i = stages.StageInfo(info.stage, info.stage_group, "capacity", info.product)
            if info.measure == "reserves":
                continue
            note = "; ".join(x for x in (r[ix[note_col]].strip(), unit_note, qual and f"country qualifier: {qual}") if x) or None
            row = _prod_row(spec, line, cid, craw.strip(), iso3, r[ix["COUNTRY"]].strip(), agg, i, year, est, p, raw, unit, factor, unit_text, note)
            row["type_raw"] = type_raw
            prod.append(row)
        raw = r[ix["RESERVES_2024"]]
        if raw.strip():
            p = parse_cell(spec.relpath, line, "RESERVES_2024", raw)
            rnote = r[ix["RESERVE_NOTES"]].strip()
            m = re.match(r"^(crude ore|iron content),\s*([a-z ]+)$", rnote, re.I)
            res_unit_text = m.group(2).strip().lower() if m else reserve_unit.get(craw.strip(), unit_text)
            unit, factor = _unit(spec.relpath, line, "RESERVE_NOTES" if res_unit_text != unit_text else "UNIT_MEAS", res_unit_text, cid)
            note = rnote or None
            if res_unit_text != unit_text:
                note = "; ".join(x for x in (note, f"reserve unit '{res_unit_text}' (stated in RESERVE_NOTES), not UNIT_MEAS '{unit_text}'") if x)
            res.append(_res_row(line, cid, craw.strip(), iso3, r[ix["COUNTRY"]].strip(), agg, type_raw, 2024, p, raw, unit, factor, res_unit_text, note))
    stages.fill_generic_products(prod)
    return {"production": prod, "reserves": res}


_COL_RE = re.compile(
    r"^(?P<kind>Prod|Cap|Reserves)(?:_(?P<sub>[A-Za-z]+(?:_[A-Za-z0-9]+)*?))??_(?P<unit>t|kt|kg|Mt|mt|mmt|kct|mct|mcm)"
    r"(?:_(?P<est>[Ee]st))?(?:_(?P<year>\d{4}))?$"
)
_UNIT_CODES = {"t": "metric tons", "kt": "thousand metric tons", "kg": "kilograms", "Mt": "million metric tons",
               "mt": "million metric tons", "mmt": "million metric tons", "kct": "thousand carats",
               "mct": "million carats", "mcm": "million cubic meters"}
# Files whose rows have more cells than the header (an unlabelled column before the notes);
# the surplus is kept, joined into the last (notes) column.
OVERFLOW_FILES = {"mcs2024-vermi_world.csv"}
# Files whose Type column is blank on every row: the type the MCS chapter states.
DEFAULT_TYPE = {"mcs2024-fepig_world.csv": "Mine production, natural iron oxide pigments (Type blank in source)"}
_RESERVES_YEAR = {"MCS2025": 2024, "MCS2024": 2023, "MCS2023": 2022, "MCS2022": 2021}


def parse_value_column(name: str) -> dict | None:
    """Decode a per-commodity value column: kind, sub-product, unit, estimate flag, year."""
    m = _COL_RE.match(name)
    if not m:
        # 'Reserves_ore_K2O_equiv_kt', 'Reserves_ore_kt'
        m2 = re.match(r"^Reserves_(?P<sub>.+)_(?P<unit>t|kt|kg|Mt|mt|mmt)$", name)
        if not m2:
            return None
        return {"kind": "Reserves", "sub": m2.group("sub"), "unit": _UNIT_CODES[m2.group("unit")], "est": False, "year": None}
    d = m.groupdict()
    return {"kind": d["kind"], "sub": d["sub"], "unit": _UNIT_CODES[d["unit"]], "est": bool(d["est"]),
            "year": int(d["year"]) if d["year"] else None}


def parse_per_commodity(spec: DatasetSpec) -> Frames:
    t = read_csv(spec.path, spec.relpath, overflow_into_last=spec.path.name in OVERFLOW_FILES)
    header = list(t.header)
    if "Type" not in header and len(header) > 2 and header[1] == "Country":
        header[2] = "Type"  # MCS2024 fluorspar: the Type header reads 'Mine production, fluorspar'
        t.header = header
    for col in ("Country", "Type"):
        t.col(col)
    m = re.search(r"mcs20\d\d-([a-z-]+)_(?:world|salient)", spec.path.name, re.I)
    if m is None:
        raise ImportFault(spec.relpath, None, None, spec.path.name, "a file name like 'mcs20NN-<commodity>_world.csv'")
    code = m.group(1).lower()
    try:
        file_cid = commodities.resolve(code)
    except KeyError:
        raise ImportFault(spec.relpath, None, None, code, "a USGS commodity file code known to critmin") from None
    value_cols = []
    for j, h in enumerate(t.header):
        if h in ("Source", "Country", "Type") or h.lower().endswith(("notes", "note")):
            continue
        dec = parse_value_column(h)
        if dec is None:
            raise ImportFault(spec.relpath, 1, h, h, "a value column like Prod_t_2022, Prod_kt_est_2023, Cap_kt_2022 or Reserves_t")
        value_cols.append((j, h, dec))
    ci, ti = t.col("Country"), t.col("Type")
    # Rows whose Type holds a code (world-total rows with 'NA'/'XX') take the file's main type.
    typed = [stages.classify(r[ti]) for _, r in t.iter() if r[ti].strip() and r[ti].strip().upper() not in ("NA", "XX")]
    typed = [x for x in typed if x is not None]
    file_type = max(typed, key=typed.count) if typed else None
    note_ix = {k: (t.header.index(k) if k in t.header else None) for k in ("Prod_notes", "Prod_note", "Reserves_notes", "Cap_notes")}
    prod, res = [], []
    for line, r in t.iter():
        country_raw = r[ci].strip()
        if not country_raw:
            raise ImportFault(spec.relpath, line, "Country", "", "a country or aggregate name")
        iso3, agg, qual = country_fields(spec.relpath, line, "Country", country_raw)
        type_raw = r[ti].strip()
        if not type_raw and spec.path.name in DEFAULT_TYPE:
            type_raw = DEFAULT_TYPE[spec.path.name]
        cid = _commodity_for_type(file_cid, type_raw)
        info = stages.classify(type_raw)
        if info is None and type_raw.upper() in ("NA", "XX") and file_type is not None:
            info = file_type
        if info is None:
            raise ImportFault(spec.relpath, line, "Type", type_raw, "a production, capacity or reserves type")
        pnote = next((r[ix].strip() for ix in (note_ix["Prod_notes"], note_ix["Prod_note"]) if ix is not None), "") or None
        if qual:
            pnote = "; ".join(x for x in (pnote, f"country qualifier: {qual}") if x)
        for j, h, dec in value_cols:
            raw = r[j]
            if not raw.strip():
                continue
            p = parse_cell(spec.relpath, line, h, raw)
            unit, factor = _unit(spec.relpath, line, h, dec["unit"], cid)
            if dec["kind"] == "Reserves":
                rnote = r[note_ix["Reserves_notes"]].strip() if note_ix["Reserves_notes"] is not None else None
                year = dec["year"] or _RESERVES_YEAR[spec.vintage]
                res.append(_res_row(line, cid, type_raw, iso3, country_raw, agg, type_raw + (f" [{dec['sub']}]" if dec["sub"] else ""), year, p, raw, unit, factor, h, rnote or None))
                continue
            if dec["year"] is None:
                raise ImportFault(spec.relpath, 1, h, h, "a year at the end of the column name")
            i = info
            if dec["kind"] == "Cap":
                i = stages.StageInfo(info.stage, info.stage_group, "capacity", info.product + (f" [{dec['sub']}]" if dec["sub"] else ""))
            elif dec["sub"]:
                i = stages.StageInfo("processing", "processing", info.measure, f"{dec['sub'].lower()}")
            note = pnote if dec["kind"] == "Prod" else (r[note_ix["Cap_notes"]].strip() if note_ix["Cap_notes"] is not None else None)
            row = _prod_row(spec, line, cid, type_raw, iso3, country_raw, agg, i, dec["year"], dec["est"], p, raw, unit, factor, h, note or None)
            row["type_raw"] = type_raw
            prod.append(row)
    stages.fill_generic_products(prod)
    return {"production": prod, "reserves": res}
