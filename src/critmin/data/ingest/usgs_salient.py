"""USGS MCS salient statistics (US, per commodity, 5 years a release), long format.

Each file has ``DataSource, Commodity, Year`` and one column per variable; the variable
name carries category and unit (``USprod_Mine_t``, ``Imports_Metalkg``, ``Price_Nd2O3_dkg``,
``NIR_pct``). Values are kept as published (unit decoded from the suffix where known, else
``unit`` NULL with the name in ``unit_raw``; a price column's unit is the release metadata's
where the suffix misleads, e.g. tungsten's US$/mtu WO3, and an unknown price unit is flagged:
:mod:`critmin.data.normalize.prices`). Price variables are also written to the
``price`` table as annual series ``<commodity>:<variable>`` (the platinum-group file's
platinum, palladium and rhodium columns under those metals: :data:`PRICE_COMMODITY`).

Quirks handled explicitly: MCS 2024 files ``mcs2024-{cobal,gypsu,kyani}_salient.csv`` hold
*world* data instead of salient statistics (as published); they are imported with the world
parser under their own key, so their rows are kept and traceable, but they are recorded as
``misfiled`` in the title. MCS 2023 quartz and dimension stone are published as XLSX.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import CsvTable, DatasetSpec, Frames, parse_cell, read_csv
from critmin.data.ingest.usgs_world import LICENCE, PUBLISHER, RELEASES, parse_per_commodity
from critmin.data.normalize import commodities
from critmin.data.normalize.prices import salient_price_unit

FOLDERS = (("MCS2025", "usgs_mcs2025/salient_commodity"), ("MCS2024", "usgs_mcs2024/salient_commodity"),
           ("MCS2023", "usgs_mcs2023/salient_commodity"), ("MCS2022", "usgs_mcs2022_subset"))
# Rows with one more cell than the header (a header cell is missing in the USGS file): the
# columns cannot be aligned reliably, so every value is kept raw with flag 'misaligned' and
# no number.
MISALIGNED = {"mcs2024-felds_salient.csv", "mcs2024-fluor_salient.csv"}
MISFILED = {"mcs2024-cobal_salient.csv", "mcs2024-gypsu_salient.csv", "mcs2024-kyani_salient.csv"}
#: price variables of a group file that price one catalogue commodity: (file commodity, variable)
#: -> commodity of the ``price`` row (and of its series code). The MCS platinum-group file
#: ('plati', commodity pgm) prices each metal in its own column (US$/troy oz, 2017-2024);
#: iridium and ruthenium have no catalogue id and stay with pgm. The us_salient rows keep the
#: file's commodity.
PRICE_COMMODITY = {
    ("pgm", "Price_Platinum_dto"): "platinum",
    ("pgm", "Price_Palladium_dto"): "palladium",
    ("pgm", "Price_Rhodium_dto"): "rhodium",
}

CATEGORY = [
    (r"^(usprod|prod|shipments|sales|sold|usprodcrude|hpqproduction|crystalproduction|recycled|extracted|withdrawn|supply)", "production"),
    (r"^(imports|hpqimports|crystalimports)", "imports"),
    (r"^(exports|hpqexports|crystalexports)", "exports"),
    (r"^consump", "consumption"),
    (r"^(price|hpqprice|crystalprice)", "price"),
    (r"^stocks", "stocks"),
    (r"^employment", "employment"),
    (r"^(nir|hpqnir|crystalnir)", "nir"),
]
# variable-name suffix -> normalised unit
UNITS = {
    "t": "t", "kt": "kt", "mmt": "Mt", "kg": "kg", "g": "kg?", "pct": "%", "num": "count", "mcm": "million m3",
    "cm": "m3", "dt": "USD/t", "dkg": "USD/kg", "ctslb": "USc/lb", "dlb": "USD/lb", "dg": "USD/g", "dto": "USD/troy oz",
    "dtoz": "USD/troy oz", "dst": "USD/short ton", "df": "USD/flask", "mdol": "million USD", "index": "index",
    "ct": "carat", "mct": "million carats", "kct": "thousand carats", "dct": "USD/carat",
}
_SUFFIX_RE = re.compile(r"(?:_|(?<=[a-z]))(kt|mmt|kg|t|g|pct|num|mcm|cm|dt|dkg|ctslb|dlb|dg|dtoz|dto|dst|df|mdol|index|mct|kct|dct|ct)$", re.I)


def decode_variable(name: str) -> tuple[str, str | None]:
    """(category, unit) of a salient variable name."""
    low = name.lower()
    cat = next((c for rx, c in CATEGORY if re.match(rx, low)), "other")
    if cat == "other" and "_" in low:  # product-prefixed names: 'Bauxite_NIR_pct', 'Alumina_Imports_kt'
        rest = low.split("_", 1)[1]
        cat = next((c for rx, c in CATEGORY if re.match(rx, rest)), "other")
    m = _SUFFIX_RE.search(name)
    unit = UNITS.get(m.group(1).lower()) if m else None
    if unit == "kg?":  # 'Exports_g' in the MCS 2024 gallium file: grams or a truncated 'kg' — keep unknown
        unit = None
    if cat == "nir":
        # Net import reliance is always "a percentage of apparent consumption" (MCS metadata,
        # attrunit 'percentage'), whatever the name's suffix says: MCS 2025 rare earths names
        # it 'NIR_Compounds-Metals_t', the diamond files 'NIR_ct'.
        unit = "%"
    return cat, unit


def specs(data_dir: Path) -> list[DatasetSpec]:
    out = []
    for vintage, folder in FOLDERS:
        d = data_dir / folder
        if not d.is_dir():
            continue
        title, url = RELEASES[vintage]
        for p in sorted(d.iterdir()):
            m = re.search(r"mcs20\d\d-([a-z-]+)_salient\.(csv|xlsx)$", p.name, re.I)
            if not m:
                continue
            code = m.group(1).lower()
            misfiled = p.name in MISFILED
            out.append(DatasetSpec(
                key=f"usgs_{vintage.lower()}_salient_{code}", path=p, relpath=str(p.relative_to(data_dir)),
                publisher=PUBLISHER, licence=LICENCE, vintage=vintage, url=url,
                title=f"USGS {title}: salient statistics" + (" (file holds world data as published)" if misfiled else ""),
                parser=_misfiled if misfiled else parse_salient,
            ))
    return out


def _misfiled(spec: DatasetSpec) -> Frames:
    # Same content as a world file; the world parser needs the world-file name pattern.
    return parse_per_commodity(spec)


def _read(spec: DatasetSpec) -> CsvTable:
    if spec.path.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(spec.path, read_only=True, data_only=True)
        # the CSV-shaped sheet when the workbook has one (MCS 2023 dimension stone)
        ws = wb["SalientCSV"] if "SalientCSV" in wb.sheetnames else wb.worksheets[0]
        rows, lines = [], []
        header: list[str] = []
        for i, r in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = ["" if v is None else str(v) for v in r]
            if not header:
                # the header is the first row naming 'Commodity' (some sheets start with a title row)
                if "Commodity" in [c.strip() for c in cells]:
                    header = [c.strip() for c in cells]
                continue
            if any(c.strip() for c in cells):
                rows.append(cells[: len(header)] + [""] * (len(header) - len(cells)))
                lines.append(i)
        wb.close()
        while header and header[-1] == "":
            header.pop()
        return CsvTable(spec.path, spec.relpath, header, [r[: len(header)] for r in rows], lines)
    return read_csv(spec.path, spec.relpath, overflow_into_last=spec.path.name in MISALIGNED)


def parse_salient(spec: DatasetSpec) -> Frames:
    t = _read(spec)
    ci, yi = t.col("Commodity"), t.col("Year")
    m = re.search(r"mcs20\d\d-([a-z-]+)_salient", spec.path.name, re.I)
    if m is None:
        raise ImportFault(spec.relpath, None, None, spec.path.name, "a file name like 'mcs20NN-<commodity>_salient.csv'")
    code = m.group(1).lower()
    sal: list[dict[str, object]] = []
    prices: list[dict[str, object]] = []
    for line, r in t.iter():
        craw = r[ci].strip()
        cid = commodities.resolve_or_none(craw) or commodities.resolve_or_none(code)
        if cid is None:
            raise ImportFault(spec.relpath, line, "Commodity", craw, "a commodity known to critmin")
        yraw = r[yi].strip()
        if not re.fullmatch(r"\d{4}", yraw):
            raise ImportFault(spec.relpath, line, "Year", yraw, "a four-digit year")
        year = int(yraw)
        for j, var in enumerate(t.header):
            if j in (0, ci, yi) or not var:
                continue
            raw = r[j]
            if not raw.strip():
                continue
            cat, unit = decode_variable(var)
            if spec.path.name in MISALIGNED:
                sal.append({
                    "dataset_id": None, "source_line": line, "commodity_id": cid, "commodity_raw": craw, "year": year,
                    "variable": var, "category": cat, "quantity": None, "unit": unit, "flag": "misaligned",
                    "bound_lo": None, "bound_hi": None, "value_raw": raw, "unit_raw": var,
                })
                continue
            p = parse_cell(spec.relpath, line, var, raw)
            flag = p.flag
            if cat == "price":  # the metadata's unit where the suffix misleads; unknown units flagged
                unit, unit_flag = salient_price_unit(cid, var, unit, spec.vintage)
                flag = flag or unit_flag
            row: dict[str, object] = {
                "dataset_id": None, "source_line": line, "commodity_id": cid, "commodity_raw": craw, "year": year,
                "variable": var, "category": cat, "quantity": p.value, "unit": unit, "flag": flag,
                "bound_lo": p.lo, "bound_hi": p.hi, "value_raw": raw, "unit_raw": var,
            }
            sal.append(row)
            if cat == "price":
                pcid = PRICE_COMMODITY.get((cid, var.strip()), cid)
                prices.append({
                    "dataset_id": None, "source_line": line, "series": f"{pcid}:{var}", "name": f"{craw} {var} (USGS MCS salient)",
                    "commodity_id": pcid, "frequency": "A", "date": date(year, 1, 1), "quantity": p.value, "unit": unit,
                    "flag": flag, "bound_lo": p.lo, "bound_hi": p.hi, "value_raw": raw, "unit_raw": var,
                })
    return {"us_salient": sal, "price": prices}
