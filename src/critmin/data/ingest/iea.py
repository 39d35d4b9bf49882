"""IEA Critical Minerals Data Explorer, May 2025 edition: the JSON extract of
``iea_cmde_2025/iea.json`` (SOURCES.md section 16).

The file is a third-party extraction (barrytho/uk-critical-minerals-dashboard) of the IEA
workbook; its values are kilotonnes (kt), stored here in tonnes with ``value_raw`` (the number
exactly as written) and ``unit_raw`` 'kt'.

* ``supply`` -> ``production`` (source 'IEA'): Copper, Cobalt, Lithium, Nickel, Graphite, Rare
  Earth Elements; ``mining`` = stage 'mine' (extraction), ``refining`` = stage 'refinery'
  (processing); 2024 is ``measure='production'``, 2030/2035/2040 (the IEA base case) are
  ``measure='outlook_base_case'``, so no query for production by year meets a projection.
  ``total`` is the aggregate 'world', ``Rest of world`` the aggregate 'other' (a residual).
* ``totalDemand``, ``cleantechByMineral``, ``cleantechByTech``, ``byTechnology`` ->
  ``demand_outlook``, one row per value, with the section it came from.

Provenance: the file has no rows; every row keeps its JSON path in ``source_ref`` and the
physical line of the value in the (pretty-printed) file in ``source_line``.

Quirks handled explicitly (docs/data.md lists them):

* A ``Notes: ...`` text and a ``"Base case" is assessed ...`` text stand as country keys (with
  null values) under the rare-earth mining countries: recognised by their opening words, not
  imported, reported in ``ImportReport.not_imported`` with the reason. Any other null is an
  error.
* The cobalt refining total is the workbook row labelled "Total clean technologies": kept as
  the world total (the country rows add up to it exactly), the label noted on its rows.
* Nickel mining (Australia), nickel refining (Canada), graphite mining (Tanzania) and graphite
  refining (Germany): one listed country is also inside ``Rest of world`` (countries + Rest of
  world exceed the total by exactly that country's value in every year). Found by arithmetic
  and noted on both rows; any other mismatch of countries and total is an error.
* ``top3Share`` (derived from the rows) and the top-level ``source`` text are not imported
  (reported with the reason). The ``source`` text says "(2024)", the base year; the edition is
  May 2025.
* Mineral names: the REE elements (Neodymium, Praseodymium, Dysprosium, Terbium, Lanthanum) are
  ``rare_earths`` with ``element`` set; Yttrium is the catalogue's ``yttrium`` (element 'Y',
  counted in the IEA's ``Total REE``); PGMs -> ``pgm``; Battery-grade graphite -> ``graphite``;
  Iridium has no catalogue id (kept, ``commodity_id`` NULL, ``mineral_flag`` 'no_catalogue_id');
  ``Total solar PV`` etc. in ``byTechnology`` are technology totals (``mineral_flag``
  'not_a_mineral', measure 'technology_total').
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import NOT_IMPORTED, DatasetSpec, Frames, resolve_country
from critmin.data.normalize import commodities, units

PUBLISHER = "International Energy Agency"
LICENCE = "CC BY 4.0"
ATTRIBUTION = "IEA (2025), Critical Minerals Data Explorer, CC BY 4.0"
VINTAGE = "2025-05"
URL = "https://www.iea.org/data-and-statistics/data-tools/critical-minerals-data-explorer"
TITLE = (
    "Critical Minerals Data Explorer, May 2025 edition (Global Critical Minerals Outlook 2025; base year 2024, "
    "projections 2030-2050), JSON extract data/iea.json of barrytho/uk-critical-minerals-dashboard "
    f"(commit 6229124bb0bc6a665216d831dd5d1b92fcceec74). Attribution: \"{ATTRIBUTION}\""
)
RELPATH = "iea_cmde_2025/iea.json"
#: the last observed year; later years are projections
BASE_YEAR = 2024
UNIT_RAW = "kt"
SOURCE = "IEA"

SECTIONS = ("source", "totalDemand", "supply", "cleantechByTech", "cleantechByMineral", "byTechnology")
SCENARIOS = ("STEPS", "APS", "NZE")
STAGES = {"mining": ("mine", "extraction"), "refining": ("refinery", "processing")}
#: (mineral, stage key) -> product (what is measured; shares are computed within one product)
PRODUCTS = {
    ("Copper", "mining"): "Cu content",
    ("Copper", "refining"): "refined copper, Cu content",
    ("Cobalt", "mining"): "Co content",
    ("Cobalt", "refining"): "refined cobalt, Co content",
    ("Lithium", "mining"): "Li content",
    ("Lithium", "refining"): "lithium chemicals, Li content",
    ("Nickel", "mining"): "Ni content",
    ("Nickel", "refining"): "refined nickel, Ni content",
    ("Graphite", "mining"): "natural graphite",
    ("Graphite", "refining"): "battery-grade graphite",
    ("Rare Earth Elements", "mining"): "magnet rare earths Nd+Pr+Dy+Tb oxide",
    ("Rare Earth Elements", "refining"): "magnet rare earths Nd+Pr+Dy+Tb oxide",
}
#: totals the workbook labels other than 'Total' (SOURCES.md section 16)
TOTAL_LABELS = {("Cobalt", "refining"): "Total clean technologies"}
#: note texts that the extraction put where country names belong (all values null)
NOTE_KEY_PREFIXES = ("Notes:", "\u201cBase case\u201d", '"Base case"')
SUPPLY_BLOCK_KEYS = {"countries", "total", "top3Share"}
DEMAND_KEYS = {"sectors": "clean_tech", "totalClean": "total_clean", "otherUses": "other_uses",
               "totalDemand": "total_demand", "cleanShare": "clean_share"}
#: IEA mineral names the catalogue does not know by name: (commodity_id, element, note)
MINERALS: dict[str, tuple[str | None, str | None, str | None]] = {
    "Rare Earth Elements": ("rare_earths", None, "the four magnet rare earths Nd, Pr, Dy, Tb (oxide)"),
    "Total REE": ("rare_earths", None, "IEA total of Nd, Pr, Dy, Tb, La and Y"),
    "Neodymium": ("rare_earths", "Nd", None),
    "Praseodymium": ("rare_earths", "Pr", None),
    "Dysprosium": ("rare_earths", "Dy", None),
    "Terbium": ("rare_earths", "Tb", None),
    "Lanthanum": ("rare_earths", "La", None),
    "Yttrium": ("yttrium", "Y", "counted in the IEA 'Total REE'"),
    "PGMs": ("pgm", None, "platinum-group metals as one figure"),
    "Battery-grade graphite": ("graphite", None, "battery-grade graphite"),
    "Iridium": (None, "Ir", "a platinum-group metal listed separately from 'PGMs'; no catalogue id"),
}
#: a relative tolerance for 'adds up' (the file's totals are sums of unrounded values)
REL_TOL = 1e-6


def specs(data_dir: Path) -> list[DatasetSpec]:
    p = data_dir / RELPATH
    if not p.exists():
        return []
    return [DatasetSpec("iea_cmde_2025", p, str(p.relative_to(data_dir)), PUBLISHER, TITLE, LICENCE, VINTAGE, parse,
                        url=URL, options={"base_year": BASE_YEAR})]


# ----------------------------------------------------------------------------- the JSON file

Path_ = tuple[str, ...]


def json_path(parts: Path_) -> str:
    """'supply.Cobalt.refining.countries.China.2024'; keys with dots or quotes in brackets."""
    if not parts:
        return "(top level)"
    out = ""
    for p in parts:
        if re.search(r'[.\[\]"]', p) or not p:
            out += "[" + json.dumps(p, ensure_ascii=False) + "]"
        else:
            out += ("." if out else "") + p
    return out


class JsonFault(ImportFault):
    """An :class:`ImportFault` that names the JSON path (in ``column``) instead of a column."""

    def __init__(self, path: str, line: int | None, ref: Path_, found: object, expected: str) -> None:
        super().__init__(path, line, json_path(ref), found, expected)
        where = path + (f", line {line}" if line is not None else "")
        self.args = (f"{where}, JSON path {json_path(ref)!r}: found {found!r}, expected {expected}",)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|NaN|-?Infinity|[{}\[\]:,]')


@dataclass(frozen=True)
class Located:
    line: int  # physical line of the member (its key) or value
    literal: str | None  # a scalar exactly as written; None for objects and arrays


def locate(text: str, relpath: str) -> dict[Path_, Located]:
    """Line and literal text of every member of a (valid) JSON document, by path.

    A key that occurs twice in one object is an error (``json`` would keep the last silently)."""
    newlines = [m.start() for m in re.finditer("\n", text)]
    out: dict[Path_, Located] = {}
    path: list[str] = []
    stack: list[list[Any]] = []  # [kind, has_key, index]
    expect_key = False
    for m in _TOKEN.finditer(text):
        tok = m.group()
        line = bisect.bisect_left(newlines, m.start()) + 1
        c = tok[0]
        if c == ":":
            expect_key = False
        elif c == ",":
            if stack[-1][0] == "obj":
                expect_key = True
            else:
                stack[-1][2] += 1
                path[-1] = str(stack[-1][2])
        elif c in "}]":
            kind, has_key, _ = stack.pop()
            if kind == "arr" or has_key:
                path.pop()
            expect_key = False
        elif c == '"' and stack and stack[-1][0] == "obj" and expect_key:
            key = json.loads(tok)
            if stack[-1][1]:
                path[-1] = key
            else:
                path.append(key)
                stack[-1][1] = True
            if tuple(path) in out:
                raise JsonFault(relpath, line, tuple(path), key, "each key once in its object")
            out[tuple(path)] = Located(line, None)
        else:  # a value: scalar or the start of an object/array
            if not stack or stack[-1][0] == "arr":
                out[tuple(path)] = Located(line, None if c in "{[" else tok)
            elif c not in "{[":
                out[tuple(path)] = Located(out[tuple(path)].line, tok)
            if c == "{":
                stack.append(["obj", False, 0])
                expect_key = True
            elif c == "[":
                stack.append(["arr", True, 0])
                path.append("0")
    return out


class Doc:
    """The parsed JSON with the line and literal of each value, and faults that name them."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.relpath = spec.relpath
        try:
            text = spec.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ImportFault(spec.relpath, None, None, f"bytes not valid UTF-8 (at byte {e.start})", "UTF-8 JSON") from None
        try:
            self.data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ImportFault(spec.relpath, e.lineno, f"character {e.colno}", e.msg, "well-formed JSON") from None
        self.loc = locate(text, spec.relpath)

    def line(self, ref: Path_) -> int | None:
        while ref not in self.loc and ref:
            ref = ref[:-1]
        return self.loc[ref].line if ref in self.loc else None

    def fault(self, ref: Path_, found: object, expected: str) -> JsonFault:
        return JsonFault(self.relpath, self.line(ref), ref, found, expected)

    def found(self, ref: Path_, value: object) -> object:
        lit = self.loc.get(ref)
        if lit is not None and lit.literal is not None:
            return lit.literal
        if isinstance(value, dict):
            return "an object"
        return "an array" if isinstance(value, list) else value

    def obj(self, ref: Path_, value: object, what: str = "an object") -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            raise self.fault(ref, self.found(ref, value), what)
        return value

    def keys(self, ref: Path_, value: dict[str, Any], allowed: set[str] | tuple[str, ...],
             required: set[str] | frozenset[str] = frozenset()) -> None:
        for k in value:
            if k not in allowed:
                raise self.fault(ref + (k,), k, f"a key among {sorted(allowed)}")
        for k in required:
            if k not in value:
                raise self.fault(ref, f"no key {k!r}", f"keys {sorted(required)}")

    def number(self, ref: Path_, value: object) -> tuple[float, str]:
        """(value, literal) of a non-negative finite number, or a fault naming the path."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise self.fault(ref, self.found(ref, value), "a non-negative number (kt, or a 0-1 share)")
        lit = self.loc[ref].literal
        assert lit is not None
        return float(value), lit

    def row_base(self, ref: Path_) -> dict[str, Any]:
        return {"dataset_id": None, "source_line": self.loc[ref].line, "source_ref": json_path(ref)}


def _year(doc: Doc, ref: Path_, key: str) -> int:
    if not re.fullmatch(r"\d{4}", key):
        raise doc.fault(ref, key, "a four-digit year")
    return int(key)


def _series(doc: Doc, ref: Path_, node: object) -> Iterator[tuple[str, int, Path_, float, str]]:
    """(scenario, year, path, value, literal) of a demand series:
    ``{"2024": v, "STEPS": {"2030": v, ...}, "APS": {...}, "NZE": {...}}``."""
    for k, v in doc.obj(ref, node, "a series {year: value, scenario: {year: value}}").items():
        if k in SCENARIOS:
            for y, x in doc.obj(ref + (k,), v, "an object {year: value}").items():
                yield k, _year(doc, ref + (k, y), y), ref + (k, y), *doc.number(ref + (k, y), x)
        elif re.fullmatch(r"\d{4}", k):
            yield "observed", int(k), ref + (k,), *doc.number(ref + (k,), v)
        else:
            raise doc.fault(ref + (k,), k, f"a year or a scenario ({', '.join(SCENARIOS)})")


def _kt_to_t(doc: Doc, ref: Path_, commodity_id: str) -> tuple[str, float]:
    base = units.to_base(UNIT_RAW)
    if base is None:  # pragma: no cover - 'kt' is a known unit
        raise doc.fault(ref, UNIT_RAW, "a known unit")
    return units.to_commodity_unit(base[0], base[1], commodities.catalogue()[commodity_id].trade_unit)


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


# ----------------------------------------------------------------------------- supply


def _is_note_key(key: str) -> bool:
    return key.startswith(NOTE_KEY_PREFIXES)


def _double_counted(doc: Doc, ref: Path_, countries: dict[str, dict[str, float]], total: dict[str, float]) -> str | None:
    """The country that is also inside 'Rest of world', when countries + rest exceed the total
    by exactly its value in every year; None when they add up; otherwise a fault."""
    excess = {y: sum(s[y] for s in countries.values()) - t for y, t in total.items()}
    if all(abs(e) <= REL_TOL * max(total[y], 1.0) for y, e in excess.items()):
        return None
    hits = [c for c, s in countries.items() if not _is_rest(c)
            and all(abs(s[y] - e) <= REL_TOL * max(total[y], 1.0) for y, e in excess.items())]
    if len(hits) != 1:
        y = max(excess, key=lambda k: abs(excess[k]))
        raise doc.fault(ref + ("total", y), f"countries sum to {sum(s[y] for s in countries.values())!r}, total {total[y]!r}",
                        "countries + Rest of world = total (or one country also counted in Rest of world)")
    return hits[0]


def _is_rest(name: str) -> bool:
    return name.strip().lower() == "rest of world"


def parse_supply(doc: Doc, node: object, base_year: int, skipped: list[dict]) -> list[dict]:
    out: list[dict] = []
    ref0: Path_ = ("supply",)
    for mineral, stages in doc.obj(ref0, node).items():
        ref_m = ref0 + (mineral,)
        cid = commodities.resolve_or_none(mineral)
        if cid is None:
            raise doc.fault(ref_m, mineral, "a mineral in critmin/data/catalog/commodities.csv")
        doc.keys(ref_m, doc.obj(ref_m, stages), set(STAGES))
        for stage_key, block in stages.items():
            ref = ref_m + (stage_key,)
            if (mineral, stage_key) not in PRODUCTS:
                raise doc.fault(ref, f"{mineral}/{stage_key}", f"a product defined in {__name__}.PRODUCTS")
            block = doc.obj(ref, block)
            doc.keys(ref, block, SUPPLY_BLOCK_KEYS, {"countries", "total"})
            if "top3Share" in block:
                skipped.append({"ref": json_path(ref + ("top3Share",)), "line": doc.line(ref + ("top3Share",)),
                                "reason": "derived (share of the three leading countries); recomputable from the rows"})
            out.extend(_supply_block(doc, ref, mineral, stage_key, cid, block, base_year, skipped))
    return out


def _supply_block(doc: Doc, ref: Path_, mineral: str, stage_key: str, cid: str, block: dict[str, Any],
                  base_year: int, skipped: list[dict]) -> list[dict]:
    total_ref = ref + ("total",)
    total = {y: doc.number(total_ref + (y,), v)[0] for y, v in doc.obj(total_ref, block["total"]).items()}
    for y in total:
        _year(doc, total_ref + (y,), y)
    countries: dict[str, dict[str, float]] = {}
    places: dict[str, tuple[str | None, str | None]] = {}
    for name, series in doc.obj(ref + ("countries",), block["countries"]).items():
        cref = ref + ("countries", name)
        if _is_note_key(name):
            if not isinstance(series, dict) or any(v is not None for v in series.values()):
                raise doc.fault(cref, doc.found(cref, series), "null values under a note text standing as a country key")
            skipped.append({"ref": json_path(cref), "line": doc.line(cref),
                            "reason": f"a note text standing as a country key, values all null: {name!r}"})
            continue
        if _is_rest(name):
            places[name] = (None, "other")
        else:
            try:
                iso3, agg, _ = resolve_country(name)
            except KeyError:
                raise doc.fault(cref, name, "a country name known to critmin (catalog/country_aliases.csv or ISO 3166), "
                                "'Rest of world' or a note text") from None
            places[name] = (iso3, agg)
        s = doc.obj(cref, series)
        if set(s) != set(total):
            raise doc.fault(cref, sorted(s), f"the years of the total {sorted(total)}")
        countries[name] = {y: doc.number(cref + (y,), v)[0] for y, v in s.items()}
    inside_rest = _double_counted(doc, ref, countries, total)
    stage, group = STAGES[stage_key]
    unit, factor = _kt_to_t(doc, ref, cid)
    label = TOTAL_LABELS.get((mineral, stage_key))
    rows = []
    members = [(n, ref + ("countries", n), places[n]) for n in countries] + [("total", total_ref, (None, "world"))]
    for name, nref, (iso3, agg) in members:
        node = block["countries"][name] if name != "total" else block["total"]
        note = None
        if name == "total" and label:
            note = f"labelled '{label}' in the IEA workbook; kept as the world total" + (
                "" if inside_rest else " (the country rows add up to it exactly)")
        elif inside_rest and name == inside_rest:
            note = f"also counted in 'Rest of world' (countries + Rest of world exceed the total by exactly {name}'s value)"
        elif inside_rest and _is_rest(name):
            note = f"includes {inside_rest}, which is also listed separately"
        for y, v in node.items():
            value, lit = doc.number(nref + (y,), v)
            year = int(y)
            outlook = year > base_year
            rows.append({
                **doc.row_base(nref + (y,)), "source": SOURCE, "commodity_id": cid, "commodity_raw": mineral,
                "country_iso3": iso3, "country_raw": name, "aggregate": agg, "stage": stage, "stage_group": group,
                "measure": "outlook_base_case" if outlook else "production", "product": PRODUCTS[(mineral, stage_key)],
                "type_raw": stage_key, "year": year, "estimated": False, "quantity": value * factor, "unit": unit,
                "flag": None, "bound_lo": None, "bound_hi": None, "value_raw": lit, "unit_raw": UNIT_RAW,
                "note": _join("IEA base case (projects weighted by their probability of coming online)" if outlook else None, note),
            })
    return rows


# ----------------------------------------------------------------------------- demand


def _mineral(name: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(commodity_id, element, mineral_flag, note) of an IEA mineral name."""
    if name in MINERALS:
        cid, element, note = MINERALS[name]
    else:
        cid, element, note = commodities.resolve_or_none(name), None, None
    return cid, element, (None if cid else "no_catalogue_id"), note


def _demand_rows(doc: Doc, ref: Path_, section: str, mineral: str, sector: str | None, measure: str,
                 node: object, *, technology_total: bool = False) -> list[dict]:
    cid: str | None
    element: str | None
    flag: str | None
    note: str | None
    if technology_total:
        cid, element, flag, note = None, None, "not_a_mineral", f"total of all minerals of '{sector}'"
    else:
        cid, element, flag, note = _mineral(mineral)
    share = measure == "clean_share"
    rows = []
    for scenario, year, vref, value, lit in _series(doc, ref, node):
        if share and value > 1:
            raise doc.fault(vref, lit, "a share between 0 and 1")
        rows.append({
            **doc.row_base(vref), "source": SOURCE, "section": section, "commodity_id": cid, "mineral_raw": mineral,
            "element": element, "mineral_flag": flag, "scenario": scenario, "year": year,
            "sector_or_technology": sector, "measure": measure, "quantity": value if share else value * 1e3,
            "unit": "fraction" if share else "t", "value_raw": lit, "unit_raw": "fraction" if share else UNIT_RAW,
            "note": note,
        })
    return rows


def parse_demand(doc: Doc, data: dict[str, Any]) -> list[dict]:
    out: list[dict] = []
    ref: Path_ = ("totalDemand",)
    for mineral, node in doc.obj(ref, data["totalDemand"]).items():
        mref = ref + (mineral,)
        node = doc.obj(mref, node)
        doc.keys(mref, node, set(DEMAND_KEYS), {"totalDemand"})
        for key, v in node.items():
            if key == "sectors":
                for sector, s in doc.obj(mref + (key,), v).items():
                    out += _demand_rows(doc, mref + (key, sector), "totalDemand", mineral, sector, "clean_tech", s)
            else:
                out += _demand_rows(doc, mref + (key,), "totalDemand", mineral, None, DEMAND_KEYS[key], v)
    ref = ("cleantechByMineral",)
    for mineral, node in doc.obj(ref, data["cleantechByMineral"]).items():
        out += _demand_rows(doc, ref + (mineral,), "cleantechByMineral", mineral, None, "total_clean", node)
    ref = ("cleantechByTech",)
    for mineral, node in doc.obj(ref, data["cleantechByTech"]).items():
        mref = ref + (mineral,)
        node = doc.obj(mref, node)
        doc.keys(mref, node, {"sectors", "total"}, {"sectors"})
        for tech, s in doc.obj(mref + ("sectors",), node["sectors"]).items():
            out += _demand_rows(doc, mref + ("sectors", tech), "cleantechByTech", mineral, tech, "clean_tech", s)
        if "total" in node:
            out += _demand_rows(doc, mref + ("total",), "cleantechByTech", mineral, None, "total_clean", node["total"])
    ref = ("byTechnology",)
    for tech, node in doc.obj(ref, data["byTechnology"]).items():
        tref = ref + (tech,)
        node = doc.obj(tref, node)
        doc.keys(tref, node, {"minerals"}, {"minerals"})
        for mineral, s in doc.obj(tref + ("minerals",), node["minerals"]).items():
            total = mineral.startswith("Total ")
            out += _demand_rows(doc, tref + ("minerals", mineral), "byTechnology", mineral, tech,
                                "technology_total" if total else "clean_tech", s, technology_total=total)
    return out


# ----------------------------------------------------------------------------- entry point


def parse(spec: DatasetSpec) -> Frames:
    doc = Doc(spec)
    data = doc.obj((), doc.data, "a JSON object with the keys " + ", ".join(SECTIONS))
    doc.keys((), data, SECTIONS, set(SECTIONS) - {"source"})
    skipped: list[dict] = []
    if "source" in data:
        skipped.append({"ref": "source", "line": doc.line(("source",)),
                        "reason": f"descriptive text {data['source']!r}, not data (the edition is May 2025, base year 2024)"})
    base_year = int(spec.options.get("base_year", BASE_YEAR))
    production = parse_supply(doc, data["supply"], base_year, skipped)
    demand = parse_demand(doc, data)
    return {"production": production, "demand_outlook": demand, NOT_IMPORTED: skipped}
