"""UN Comtrade extracts: US/China trade (comtrade_cmm), Quad imports (comtrade_quad, xlsx),
Japan's 2020 imports by partner (scarce_japan/Comtrade_all_2020.csv) and China's monthly
exports by partner (comtrade_china_exports, derived tables).

Every row becomes one exporter → importer flow in ``trade``: an import reported by R from P
is P → R; an export reported by R to P is R → P. Partner 'World' is 'WLD'. Values are US$
(``primaryValue``), weights kg (``netWgt``) stored as metric tons. A missing weight is NULL
with flag 'qty_missing', never 0.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import DatasetSpec, Frames, read_csv, resolve_country
from critmin.data.normalize import countries

PUBLISHER = "United Nations Statistics Division (UN Comtrade)"
TERMS = "UN Comtrade terms of use (attribution; bulk redistribution restricted)"
# Comtrade reporter/partner codes that differ from ISO 3166 numeric
COMTRADE_CODES = {0: "WLD", 842: "USA", 251: "FRA", 699: "IND", 757: "CHE", 579: "NOR", 490: "TWN", 381: "ITA",
                  711: "ZAF", 58: "BEL", 280: "DEU", 736: "SDN", 891: "SCG", 530: "ANT", 697: "XEU", 899: "XXX"}
CHINA_GROUP = {"Rare Earths": "rare_earths", "Graphite": "graphite", "Polysilicon": "silicon", "Gallium/Germanium": None}


def code_to_iso3(code: object, iso: object, relpath: str, line: int, column: str) -> str:
    iso_s = str(iso or "").strip()
    if iso_s in ("W00",):
        return "WLD"
    if re.fullmatch(r"[A-Z]{3}", iso_s) and iso_s not in ("_X ", "X1 "):
        return iso_s
    try:
        n = int(float(str(code)))
    except ValueError:
        raise ImportFault(relpath, line, column, code, "a numeric Comtrade country code") from None
    if n in COMTRADE_CODES:
        return COMTRADE_CODES[n]
    iso3 = countries.numeric_to_iso3(n)
    if iso3 is None:
        raise ImportFault(relpath, line, column, code, "a Comtrade/ISO 3166 numeric country code known to critmin")
    return iso3


def specs(data_dir: Path) -> list[DatasetSpec]:
    out: list[DatasetSpec] = []
    d = data_dir / "comtrade_cmm"
    if d.is_dir():
        for p in sorted(d.glob("*_trade_data.csv")):
            name = p.name.replace("_trade_data.csv", "")
            dup = name == "heavy_ree"
            out.append(DatasetSpec(
                f"comtrade_cmm_{name}", p, str(p.relative_to(data_dir)), PUBLISHER,
                f"UN Comtrade API extract, {name.replace('_', ' ')} 2020-2024 (via PNNL cmm-data)"
                + (" — identical numbers to light_ree (same HS codes); rows not imported twice" if dup else ""),
                TERMS, "2025-12", _empty if dup else parse_standard, url="https://comtradeplus.un.org/",
                options={"source": "COMTRADE_CMM"},
            ))
    d = data_dir / "comtrade_quad"
    if d.is_dir():
        for p in sorted(d.glob("*.xlsx")):
            partner = "china" if "china" in p.name else "world"
            out.append(DatasetSpec(
                f"comtrade_quad_{partner}", p, str(p.relative_to(data_dir)) + "#Sheet1", PUBLISHER,
                f"UN Comtrade API export: Quad imports of graphite, cobalt oxides, lithium oxide/hydroxide 2019-2024, partner {partner}",
                TERMS, "2024", parse_standard, url="https://comtradeplus.un.org/", options={"source": "COMTRADE_QUAD"},
            ))
    p = data_dir / "scarce_japan" / "Comtrade_all_2020.csv"
    if p.exists():
        out.append(DatasetSpec(
            "comtrade_jpn_2020", p, str(p.relative_to(data_dir)), PUBLISHER,
            "UN Comtrade: Japan imports by partner 2020, 35 materials (compiled for the SCARCE Japan assessment)",
            TERMS, "2020", parse_standard, url="https://comtradeplus.un.org/", options={"source": "COMTRADE_JPN2020"},
        ))
    d = data_dir / "comtrade_china_exports"
    for stem, parser in (("country_monthly_stats", parse_china_groups), ("deep_dive_hs6_monthly", parse_china_hs6)):
        p = d / f"{stem}.csv"
        if p.exists():
            out.append(DatasetSpec(
                f"china_exports_{stem}", p, str(p.relative_to(data_dir)), f"{PUBLISHER}; tables derived by Q. Ennis (ChinaCriticalMineralComtrade)",
                f"China critical-mineral exports by partner, monthly 2017-2024 ({stem})", TERMS + "; derived tables, licence unclear",
                "2024", parser, url="https://github.com/qennis/ChinaCriticalMineralComtrade",
            ))
    return out


def _empty(spec: DatasetSpec) -> Frames:
    read_csv(spec.path, spec.relpath, required=("cmdCode",))  # still validated
    return {"trade": []}


def _rows(spec: DatasetSpec) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if spec.path.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(spec.path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(it)]
        rows = [(i, ["" if v is None else str(v) for v in r]) for i, r in enumerate(it, start=2) if any(v is not None for v in r)]
        wb.close()
        return header, rows
    t = read_csv(spec.path, spec.relpath)
    return t.header, list(t.iter())


def _pick(header: list[str], *names: str) -> int:
    low = [h.lower() for h in header]
    for n in names:
        if n.lower() in low:
            return low.index(n.lower())
    raise ImportFault("", 1, names[0], "no such column", f"a column named one of {names}")


def _num(raw: str) -> float | None:
    s = str(raw).strip()
    if s in ("", "None", "nan"):
        return None
    try:
        return float(s)
    except ValueError:
        return None


def parse_standard(spec: DatasetSpec) -> Frames:
    header, rows = _rows(spec)
    try:
        ix = {k: _pick(header, *v) for k, v in {
            "year": ("refYear", "RefYear"), "month": ("refMonth", "RefMonth"), "rep": ("reporterCode", "ReporterCode"),
            "rep_iso": ("reporterISO", "ReporterISO"), "flow": ("flowCode", "FlowCode"), "par": ("partnerCode", "PartnerCode"),
            "par_iso": ("partnerISO", "PartnerISO"), "cmd": ("cmdCode", "CmdCode"), "wgt": ("netWgt", "NetWgt"),
            "val": ("primaryValue", "PrimaryValue"), "qty": ("qty", "Qty"), "qunit": ("qtyUnitAbbr", "QtyUnitAbbr"),
        }.items()}
    except ImportFault as e:
        raise ImportFault(spec.relpath, 1, e.column, e.found, e.expected) from None
    out = []
    for line, r in rows:
        flow = r[ix["flow"]].strip()
        if flow not in ("M", "X"):
            raise ImportFault(spec.relpath, line, header[ix["flow"]], flow, "M or X")
        rep = code_to_iso3(r[ix["rep"]], r[ix["rep_iso"]], spec.relpath, line, header[ix["rep"]])
        par = code_to_iso3(r[ix["par"]], r[ix["par_iso"]], spec.relpath, line, header[ix["par"]])
        yraw = r[ix["year"]]
        if not re.fullmatch(r"\d{4}", str(yraw).strip()):
            raise ImportFault(spec.relpath, line, header[ix["year"]], yraw, "a four-digit year")
        m = _num(r[ix["month"]])
        month = int(m) if m is not None and 1 <= m <= 12 else None  # 52 = annual
        val = _num(r[ix["val"]])
        wgt = _num(r[ix["wgt"]])
        if wgt is None and r[ix["qunit"]].strip() == "kg":
            wgt = _num(r[ix["qty"]])
        flag = None
        if val is None:
            flag = "value_missing"
        if wgt is None or (wgt == 0 and (val or 0) > 0):
            flag = "qty_missing"
            wgt = None
        imp, exp = (rep, par) if flow == "M" else (par, rep)
        out.append({
            "dataset_id": None, "source_line": line, "source": spec.options["source"], "year": int(yraw), "month": month,
            "exporter_iso3": exp, "importer_iso3": imp, "reporter_iso3": rep, "flow": flow,
            "hs_code": str(r[ix["cmd"]]).strip(), "commodity_id": None, "stage_group": None,
            "value_usd": val, "qty_t": None if wgt is None else wgt / 1000.0,
            "value_raw": str(r[ix["val"]]), "qty_raw": str(r[ix["wgt"]]), "unit_raw": "USD;kg", "flag": flag,
        })
    return {"trade": out}


def _partner(spec: DatasetSpec, line: int, name: str) -> str:
    try:
        iso3, agg, _ = resolve_country(name)
    except KeyError:
        raise ImportFault(spec.relpath, line, "partner_name", name, "a country name known to critmin") from None
    if iso3 is None:
        raise ImportFault(spec.relpath, line, "partner_name", name, "a country, not an aggregate")
    return iso3


def _month(spec: DatasetSpec, line: int, raw: str) -> date:
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw.strip())
    if not m:
        raise ImportFault(spec.relpath, line, "period_dt", raw, "a date YYYY-MM-DD")
    return date(int(m.group(1)), int(m.group(2)), 1)


def _china_export_row(spec: DatasetSpec, line: int, r: list[str], ix: dict[str, int], hs_code: str,
                      commodity_id: str | None, stage_group: str | None) -> dict[str, object]:
    """One monthly China → partner export row (values US$, quantities kg → t)."""
    d = _month(spec, line, r[ix["period_dt"]])
    val, qty = _num(r[ix["val"]]), _num(r[ix["qty"]])
    return {
        "dataset_id": None, "source_line": line, "source": "CHINA_EXPORTS", "year": d.year, "month": d.month,
        "exporter_iso3": "CHN", "importer_iso3": _partner(spec, line, r[ix["partner_name"]]), "reporter_iso3": "CHN",
        "flow": "X", "hs_code": hs_code, "commodity_id": commodity_id, "stage_group": stage_group,
        "value_usd": val, "qty_t": None if qty is None else qty / 1000.0, "value_raw": r[ix["val"]],
        "qty_raw": r[ix["qty"]], "unit_raw": "USD;kg",
        "flag": "value_missing" if val is None else ("qty_missing" if qty is None else None),
    }


def parse_china_groups(spec: DatasetSpec) -> Frames:
    cols = ("period_dt", "val", "qty", "broad_group", "partner_name")
    t = read_csv(spec.path, spec.relpath, required=cols)
    ix = {c: t.col(c) for c in cols}
    out = []
    for line, r in t.iter():
        group = r[ix["broad_group"]].strip()
        if group not in CHINA_GROUP:
            raise ImportFault(spec.relpath, line, "broad_group", group, f"one of {sorted(CHINA_GROUP)}")
        out.append(_china_export_row(spec, line, r, ix, f"GROUP:{group}", CHINA_GROUP[group], "processing"))
    return {"trade": out}


def parse_china_hs6(spec: DatasetSpec) -> Frames:
    cols = ("period_dt", "partner_name", "hs6", "val", "qty")
    t = read_csv(spec.path, spec.relpath, required=cols)
    ix = {c: t.col(c) for c in cols}
    out = []
    for line, r in t.iter():
        hs = r[ix["hs6"]].strip()
        if not re.fullmatch(r"\d{6}", hs):
            raise ImportFault(spec.relpath, line, "hs6", hs, "a six-digit HS code")
        out.append(_china_export_row(spec, line, r, ix, hs, None, None))
    return {"trade": out}
