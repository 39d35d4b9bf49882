"""USGS deposit layers with coordinates: PP1802 critical-mineral sites, Major Mineral Deposits
of the World (OFR 2005-1294), and the GMRAP porphyry and sediment-hosted copper sites.

Commodity text is kept verbatim in ``commodity_raw``; ``commodity_ids`` lists the catalogue
commodities recognised in it (word list :data:`DEPOSIT_WORDS`; gemstone names map to
``gemstones``). Tokens that name no catalogue commodity (e.g. 'Limestone', 'Sodium
sulfate') stay only in the raw text. GMRAP's ``-9999`` means missing and becomes NULL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from critmin.data.errors import ImportFault
from critmin.data.ingest.base import DatasetSpec, Frames, read_csv, resolve_country
from critmin.data.normalize import commodities

PUBLISHER = "U.S. Geological Survey"
LICENCE = "Public domain (U.S. Government work)"

DEPOSIT_WORDS = {
    "iron": "iron_ore", "magnetite": "iron_ore", "pge": "pgm", "platinum-group elements": "pgm", "platinum group elements": "pgm",
    "phosphate": "phosphate_rock", "phosphorous": "phosphate_rock", "phosphorus": "phosphate_rock", "phosphate rock": "phosphate_rock",
    "halite": "salt", "halite (salt)": "salt", "sodium chloride": "salt", "salt": "salt", "diamond": "diamond_industrial",
    "columbium": "niobium", "columbium (niobium)": "niobium", "columbium(niobium)": "niobium", "niobium and tantalum": "niobium",
    "rare-earth elements": "rare_earths", "rare earth elements": "rare_earths", "rare earths": "rare_earths", "rare": "rare_earths",
    "fluorite": "fluorspar", "fluorine": "fluorspar", "cryolite": "fluorspar", "kaolin": "clays", "kaolinite": "clays",
    "clay": "clays", "bentonite": "clays", "sodium-bentonite": "clays", "halloysite": "clays", "sepiolite": "clays",
    "attapulgite": "clays", "fuller's earth": "clays", "saponite": "clays", "hectorite": "lithium", "lithium mica": "lithium",
    "magnesium": "magnesium_compounds", "magnesia": "magnesium_compounds", "magnesite": "magnesium_compounds",
    "sodium carbonate": "soda_ash", "soda ash": "soda_ash", "garnet": "garnet_industrial", "zeolite": "zeolites",
    "potassium": "potash", "sylvite": "potash", "barium": "barite", "anhydrite": "gypsum", "pyrophyllite": "talc",
    "muscovite": "mica", "phlogopite": "mica", "andalusite": "kyanite", "sillimanite": "kyanite", "nepheline syenite": "feldspar",
    "feldspathic sand": "feldspar", "cooper": "copper", "aluminum": "bauxite", "alunite": "bauxite", "zircon": "zirconium",
    "zirconium and hafnium": "zirconium", "cesium": "cesium", "rubidium": "rubidium", "scandium": "scandium",
}
GEMS = {"gem", "emerald", "sapphire", "ruby", "jade", "opal", "topaz", "tourmaline", "aquamarine", "amethyst", "kunzite",
        "peridot", "beryl", "spinel", "lapis lazuli", "corundum", "amber"}


def commodity_ids(text: str) -> list[str]:
    """Catalogue commodities named in a deposit's commodity text (order kept, no duplicates)."""
    out: list[str] = []
    whole = text.strip().lower()
    parts = [whole] if whole in DEPOSIT_WORDS else re.split(r"[;,.]|\s-\s?|-(?=[a-z])", whole)
    for part in parts:
        tok = part.strip().strip("()").strip()
        if not tok:
            continue
        cid = DEPOSIT_WORDS.get(tok) or commodities.resolve_or_none(tok)
        if cid is None:
            base = re.sub(r"\s*\(.*$", "", tok).strip()
            inner = re.findall(r"\(([^)]*)\)?", tok)
            cid = DEPOSIT_WORDS.get(base) or commodities.resolve_or_none(base)
            if cid is None and (base.split(" ")[0] in GEMS or base in GEMS):
                cid = "gemstones"
            if cid is None and inner:
                cid = DEPOSIT_WORDS.get(inner[0].strip()) or commodities.resolve_or_none(inner[0].strip())
        if cid and cid not in out:
            out.append(cid)
    return out


def specs(data_dir: Path) -> list[DatasetSpec]:
    out = []
    items = [
        ("usgs_pp1802_critmin", "usgs_pp1802_critmin/PP1802_CritMin_pts.csv", "PP1802",
         "Global distribution of selected mines, deposits, and districts of critical minerals (PP 1802), doi:10.5066/F7GH9GQR",
         "https://doi.org/10.5066/F7GH9GQR", "PP1802-2017"),
        ("usgs_major_deposits", "usgs_major_deposits/deposit.csv", "MAJOR",
         "Major mineral deposits of the world (OFR 2005-1294)", "https://mrdata.usgs.gov/major-deposits/", "OFR2005-1294"),
        ("usgs_gmrap_porphyry", "usgs_gmrap_copper/pcu_deps_pros.csv", "GMRAP_PORPHYRY",
         "Global Mineral Resource Assessment: porphyry copper deposits and prospects (SIR 2010-5090)",
         "https://pubs.usgs.gov/sir/2010/5090/", "SIR2010-5090"),
        ("usgs_gmrap_sedcu", "usgs_gmrap_copper/sedcu_deps_pros.csv", "GMRAP_SEDCU",
         "Global Mineral Resource Assessment: sediment-hosted stratabound copper (SIR 2010-5090-J)",
         "https://pubs.usgs.gov/sir/2010/5090/j/", "SIR2010-5090-J"),
    ]
    for key, rel, layer, title, url, vintage in items:
        p = data_dir / rel
        if p.exists():
            out.append(DatasetSpec(key, p, rel, PUBLISHER, f"USGS {title}", LICENCE, vintage, parse_deposits, url=url,
                                   options={"layer": layer}))
    return out


def _coord(spec: DatasetSpec, line: int, col: str, raw: str, lo: float, hi: float) -> float | None:
    s = raw.strip()
    if s in ("", "-9999"):
        return None
    try:
        v = float(s)
    except ValueError:
        raise ImportFault(spec.relpath, line, col, raw, f"a decimal degree in [{lo}, {hi}]") from None
    if not lo <= v <= hi:
        raise ImportFault(spec.relpath, line, col, raw, f"a decimal degree in [{lo}, {hi}]")
    return v


def _f(raw: str) -> float | None:
    s = raw.strip()
    if s in ("", "-9999", "NA"):
        return None
    try:
        return float(s)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Layout:
    """CSV column of each deposit field in one layer (``status`` None: the layer has no status column)."""

    name: str
    country: str
    lat: str
    lon: str
    comm: str
    type: str
    status: str | None


LAYOUT = {
    "PP1802": _Layout(name="DEPOSIT_NAME", country="LOCATION", lat="LATITUDE", lon="LONGITUDE", comm="CRITICAL_MINERAL",
                      type="DEPOSIT_TYPE", status=None),
    "MAJOR": _Layout(name="dep_name", country="country", lat="latitude", lon="longitude", comm="commodity",
                     type="dep_type", status=None),
    "GMRAP_PORPHYRY": _Layout(name="name", country="country", lat="latitude", lon="longitude", comm="comm_major",
                              type="dep_type", status="dev_status"),
    "GMRAP_SEDCU": _Layout(name="name", country="country", lat="latitude", lon="longitude", comm="comm_major",
                           type="dep_type", status="sitestatus"),
}
ELEMENTS = {"cu": "copper", "mo": "molybdenum", "au": "gold", "ag": "silver", "co": "cobalt", "zn": "zinc", "pb": "lead",
            "re": "rhenium", "u": "uranium", "ni": "nickel", "fe": "iron_ore", "pge": "pgm", "ge": "germanium", "ga": "gallium",
            "v": "vanadium", "w": "tungsten", "sn": "tin", "bi": "bismuth", "te": "tellurium", "se": "selenium", "sb": "antimony"}


def parse_deposits(spec: DatasetSpec) -> Frames:
    layer = spec.options["layer"]
    lay = LAYOUT[layer]
    # the MRDS/GMRAP CSVs are UTF-8 with stray Windows-1252 bytes (as published)
    t = read_csv(spec.path, spec.relpath, encoding="utf-8/cp1252")
    name_ix, country_ix, lat_ix, lon_ix, comm_ix, type_ix = (
        t.col(c) for c in (lay.name, lay.country, lay.lat, lay.lon, lay.comm, lay.type)
    )
    status_ix = t.col(lay.status) if lay.status else None
    out = []
    for line, r in t.iter():
        craw = r[country_ix].strip()
        iso3 = agg = None
        if craw:
            try:
                iso3, agg, _ = resolve_country(craw.rstrip("?"))
            except KeyError:
                raise ImportFault(spec.relpath, line, lay.country, craw, "a country name known to critmin") from None
        comm = r[comm_ix].strip()
        if layer.startswith("GMRAP"):
            ids = [ELEMENTS[e.strip().lower()] for e in comm.split(",") if e.strip().lower() in ELEMENTS] or ["copper"]
        else:
            ids = commodity_ids(comm)
        grade = None
        if layer.startswith("GMRAP"):
            g = [f"{k}={r[t.col(k)]}" for k in ("cu_pct", "mo_pct", "co_pct", "au_g_t", "ag_g_t") if k in t.header and _f(r[t.col(k)]) is not None]
            grade = ";".join(g) or None
        out.append({
            "dataset_id": None, "source_line": line, "layer": layer, "name": r[name_ix].strip() or None,
            "country_iso3": iso3, "country_raw": craw or None, "aggregate": agg,
            "latitude": _coord(spec, line, lay.lat, r[lat_ix], -90, 90),
            "longitude": _coord(spec, line, lay.lon, r[lon_ix], -180, 180),
            "commodity_ids": ids, "commodity_raw": comm or None,
            "deposit_type": r[type_ix].strip() or None,
            "status": r[status_ix].strip() or None if status_ix is not None else None,
            "tonnage_mt": _f(r[t.col("tonnage_mt")]) if "tonnage_mt" in t.header else None, "grade": grade,
        })
    return {"deposit": out}
