"""MCS industry-trend tables: T4 (end uses), T5 (critical-mineral salient), Fig2 (net import
reliance with major import sources), for every release that has them; long format in
``mcs_trend``. Numeric-looking cells are parsed (codes kept as flags); descriptive cells are
kept as text. Commodity names that match no catalogue id (e.g. 'STONE, dimension') keep
``commodity_id`` NULL and their raw text.
"""

from __future__ import annotations

import re
from pathlib import Path

from critmin.data.ingest.base import DatasetSpec, Frames, read_csv
from critmin.data.ingest.usgs_world import LICENCE, PUBLISHER, RELEASES
from critmin.data.normalize import commodities, values

TABLES = {"T4": "T4_Critical_Minerals_End_Use", "T5": "T5_Critical_Minerals_Salient", "Fig2": "Fig2_Net_Import_Reliance"}
COMMODITY_COLS = ("Commodity", "Critical_mineral", "Critical Mineral")
TEXT_FIELDS = {"Primary Applications", "Category_Note", "Prod_notes", "Consumption_Notes", "Contsumption_Notes",
               "Primary_import_source", "Import_source_notes", "Leading_source_country", "World_prod_notes",
               "Major_Import_Sources_2020_2023", "Major_Import_Sources_2019_2022", "Major_Import_Sources_2018_2021",
               "Notes", "Source", "Year"}


def specs(data_dir: Path) -> list[DatasetSpec]:
    out = []
    for vintage in ("MCS2025", "MCS2024", "MCS2023"):
        d = data_dir / f"usgs_{vintage.lower()}" / "industry_trends"
        if not d.is_dir():
            continue
        title, url = RELEASES[vintage]
        for tid, stem in TABLES.items():
            p = d / f"{vintage}_{stem}.csv"
            if p.exists():
                out.append(DatasetSpec(
                    key=f"usgs_{vintage.lower()}_{tid.lower()}", path=p, relpath=str(p.relative_to(data_dir)),
                    publisher=PUBLISHER, licence=LICENCE, vintage=vintage, url=url,
                    title=f"USGS {title}: industry trends table {tid}", parser=parse_trend, options={"table_id": tid},
                ))
    return out


def resolve_trend_commodity(text: str) -> str | None:
    """'ARSENIC, all forms' → arsenic; 'Rare earths (compounds and metals)' → rare_earths."""
    t = text.strip()
    for cand in (t, t.split(",")[0], re.sub(r"\s*\(.*\)\s*", "", t), t.split("(")[0]):
        cid = commodities.resolve_or_none(cand.strip())
        if cid:
            return cid
    return None


def parse_trend(spec: DatasetSpec) -> Frames:
    t = read_csv(spec.path, spec.relpath)
    tid = spec.options["table_id"]
    ccol = next((c for c in COMMODITY_COLS if c in t.header), None)
    ci = t.col(ccol or "Commodity")  # no commodity column: raises ImportFault naming 'Commodity'
    yi = t.header.index("Year") if "Year" in t.header else None
    out = []
    for line, r in t.iter():
        craw = r[ci].strip()
        cid = resolve_trend_commodity(craw)
        year = None
        if yi is not None:
            m = re.match(r"(\d{4})", r[yi])
            year = int(m.group(1)) if m else None
        for j, field in enumerate(t.header):
            if j == ci or not field:
                continue
            raw = r[j]
            if not raw.strip():
                continue
            fy = year
            m = re.search(r"_(\d{4})$", field)
            if m and field.startswith("Net_Import"):
                fy = int(m.group(1))
            p = None if field in TEXT_FIELDS else values.parse_value(raw)
            row = {
                "dataset_id": None, "source_line": line, "table_id": tid, "vintage": spec.vintage,
                "commodity_id": cid, "commodity_raw": craw, "year": fy, "field": field, "text": None,
                "country_iso3": None, "quantity": None, "unit": None, "flag": None, "bound_lo": None, "bound_hi": None,
                "value_raw": raw, "unit_raw": None,
            }
            if p is None:
                row["text"] = raw.strip()
            else:
                row.update(quantity=p.value, flag=p.flag, bound_lo=p.lo, bound_hi=p.hi,
                           unit="%" if ("pct" in field.lower() or "precent" in field.lower() or field == "Net_Import_Reliance") else None)
            out.append(row)
    return {"mcs_trend": out}
