"""World Bank: Worldwide Governance Indicators (CSV bulk) and the Pink Sheet (monthly xlsx)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import DatasetSpec, Frames, read_csv
from critmin.data.normalize import countries, values

PUBLISHER = "World Bank"
LICENCE = "CC BY 4.0"
#: World Bank economy codes that are not ISO 3166 alpha-3
WB_CODES = {"ADO": "AND", "ZAR": "COD", "ROM": "ROU", "TMP": "TLS", "WBG": "PSE", "KSV": "XKX", "XKX": "XKX", "ANT": "ANT"}
DIMENSIONS = {"CC", "GE", "PV", "RQ", "RL", "VA"}


def specs(data_dir: Path) -> list[DatasetSpec]:
    out = []
    p = data_dir / "worldbank_wgi" / "WGIData.csv"
    if p.exists():
        out.append(DatasetSpec("worldbank_wgi", p, str(p.relative_to(data_dir)), PUBLISHER,
                               "Worldwide Governance Indicators, 2023 update (data to 2022), WGIData.csv bulk download",
                               LICENCE, "WGI2023", parse_wgi, url="https://www.worldbank.org/en/publication/worldwide-governance-indicators"))
    p = data_dir / "worldbank_pinksheet" / "CMO-Historical-Data-Monthly.xlsx"
    if p.exists():
        out.append(DatasetSpec("worldbank_pinksheet_monthly", p, str(p.relative_to(data_dir)) + "#Monthly Prices", PUBLISHER,
                               "Commodity Price Data (The Pink Sheet), monthly prices, updated 2025-12-02", LICENCE,
                               "CMO-2025-12", parse_pinksheet,
                               url="https://www.worldbank.org/en/research/commodity-markets"))
    return out


def wb_to_iso3(code: str) -> str:
    code = code.strip().upper()
    if code in WB_CODES:
        return WB_CODES[code]
    return countries.to_iso3(code)


def parse_wgi(spec: DatasetSpec) -> Frames:
    t = read_csv(spec.path, spec.relpath, required=("Country Name", "Country Code", "Indicator Code"))
    year_cols = [(j, int(h)) for j, h in enumerate(t.header) if re.fullmatch(r"\d{4}", h)]
    if not year_cols:
        raise ImportFault(spec.relpath, 1, None, t.header, "year columns (1996 … 2022)")
    ni, ci, ii = t.col("Country Name"), t.col("Country Code"), t.col("Indicator Code")
    iso_of: dict[str, str] = {}
    meta = []
    for line, r in t.iter():
        code = r[ii].strip()
        dim, _, measure = code.partition(".")
        if dim not in DIMENSIONS or not measure:
            raise ImportFault(spec.relpath, line, "Indicator Code", code, "<dimension>.<measure> with dimension in CC, GE, PV, RQ, RL, VA")
        cc = r[ci]
        if cc not in iso_of:
            try:
                iso_of[cc] = wb_to_iso3(cc)
            except KeyError:
                raise ImportFault(spec.relpath, line, "Country Code", cc, "an ISO3 or World Bank economy code") from None
        meta.append((line, iso_of[cc], r[ni], dim, measure))
    # values: vectorised; anything non-blank that is not a number is an error naming its cell
    raw = pd.DataFrame([[r[j] for j, _ in year_cols] for r in t.rows], columns=[y for _, y in year_cols])
    m = pd.DataFrame(meta, columns=["source_line", "country_iso3", "country_raw", "dimension", "measure"])
    long = pd.concat([m, raw], axis=1).melt(id_vars=list(m.columns), var_name="year", value_name="value_raw")
    long["value_raw"] = long["value_raw"].str.strip()
    long = long[long["value_raw"] != ""]
    long["value"] = pd.to_numeric(long["value_raw"], errors="coerce")
    bad = long[long["value"].isna()]
    if len(bad):
        b = bad.iloc[0]
        raise ImportFault(spec.relpath, int(b["source_line"]), str(b["year"]), b["value_raw"], "a number")
    long["dataset_id"] = 0
    long["source"] = "WGI"
    long["year"] = long["year"].astype("int64")
    return {"governance": long[["dataset_id", "source_line", "source", "country_iso3", "country_raw", "year", "dimension",
                                "measure", "value", "value_raw"]].reset_index(drop=True)}


def parse_pinksheet(spec: DatasetSpec) -> Frames:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(spec.path))
    if "Monthly Prices" not in wb.sheet_names:
        raise ImportFault(spec.relpath, None, None, wb.sheet_names, "a sheet named 'Monthly Prices'")
    rows = [[None if v == "" else v for v in r] for r in wb.get_sheet_by_name("Monthly Prices").to_python()]
    # the header block: a row of series names, a row of units, a row of codes, then data rows 'YYYYMmm'
    first = next((i for i, r in enumerate(rows) if r and isinstance(r[0], str) and re.fullmatch(r"\d{4}M\d{2}", r[0])), None)
    if first is None or first < 3:
        raise ImportFault(spec.relpath + "#Monthly Prices", None, "A", "no 'YYYYMmm' rows", "monthly rows like 1960M01 after three header rows")
    names, units, codes = rows[first - 3], rows[first - 2], rows[first - 1]
    out = []
    for i in range(first, len(rows)):
        r = rows[i]
        if not r or r[0] is None:
            continue
        m = re.fullmatch(r"(\d{4})M(\d{2})", str(r[0]))
        if not m:
            raise ImportFault(spec.relpath + "#Monthly Prices", i + 1, "A", r[0], "a month like 1960M01")
        d = date(int(m.group(1)), int(m.group(2)), 1)
        for j in range(1, len(r)):
            if codes[j] is None:
                continue
            raw = r[j]
            if raw is None or (isinstance(raw, str) and raw.strip() in ("", "…", "...")):
                continue
            p = values.parse_value(raw)
            if p is None:
                raise ImportFault(spec.relpath + "#Monthly Prices", i + 1, str(codes[j]), raw, "a number or '…'")
            unit = str(units[j]).strip("() ") if units[j] else None
            out.append({"dataset_id": None, "source_line": i + 1, "series": str(codes[j]).strip(),
                        "name": str(names[j]).strip() if names[j] else str(codes[j]), "commodity_id": PINK_COMMODITY.get(str(codes[j]).strip()),
                        "frequency": "M", "date": d, "quantity": p.value, "unit": unit.replace("$", "USD") if unit else None,
                        "flag": p.flag, "bound_lo": None, "bound_hi": None, "value_raw": str(raw), "unit_raw": units[j]})
    return {"price": pd.DataFrame(out) if out else []}


PINK_COMMODITY = {
    "ALUMINUM": "aluminum", "IRON_ORE": "iron_ore", "COPPER": "copper", "LEAD": "lead", "Tin": "tin", "TIN": "tin",
    "NICKEL": "nickel", "Zinc": "zinc", "ZINC": "zinc", "GOLD": "gold", "PLATINUM": "platinum", "SILVER": "silver",
    "PHOSROCK": "phosphate_rock", "POTASH": "potash",
}
