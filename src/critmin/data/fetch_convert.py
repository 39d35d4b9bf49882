"""Post-processing of fetched releases whose official format differs from the raw layout.

Only one converter exists: ``pp1802_points_csv``. USGS publishes the PP 1802 critical-mineral
points as an ESRI shapefile; the importer reads the attribute table as CSV with the columns
``X, Y, DEPOSIT_NAME, CRITICAL_MINERAL, DEPOSIT_TYPE, LATITUDE, LONGITUDE, LOCATION,
LOC_DETAIL`` (the layout of ``shared/data/raw/usgs_pp1802_critmin``). The converter reads the
dBASE table (field names are cut to 10 characters there, e.g. ``DEPOSIT_NA``) and the point
geometry (``X``, ``Y``) with the standard library only, following the ESRI Shapefile Technical
Description (1998) and the dBASE III file format.
"""

from __future__ import annotations

import csv
import struct
from pathlib import Path

from critmin.data.fetch_registry import FetchError

PP1802_COLUMNS = (
    "X",
    "Y",
    "DEPOSIT_NAME",
    "CRITICAL_MINERAL",
    "DEPOSIT_TYPE",
    "LATITUDE",
    "LONGITUDE",
    "LOCATION",
    "LOC_DETAIL",
)
# dBASE field name (max. 10 characters) -> CSV column
PP1802_DBF_FIELDS = {
    "DEPOSIT_NA": "DEPOSIT_NAME",
    "CRITICAL_M": "CRITICAL_MINERAL",
    "DEPOSIT_TY": "DEPOSIT_TYPE",
    "LATITUDE": "LATITUDE",
    "LONGITUDE": "LONGITUDE",
    "LOCATION": "LOCATION",
    "LOC_DETAIL": "LOC_DETAIL",
}


def read_dbf(path: Path, encoding: str) -> tuple[list[str], list[list[str]]]:
    """Field names and records of a dBASE III table; deleted rows skipped.

    Character fields are right-stripped (dBASE pads them with blanks, so trailing blanks of the
    original value cannot be told from padding); other fields are stripped on both sides.
    """
    data = path.read_bytes()
    if len(data) < 32:
        raise FetchError(f"{path}: too short for a dBASE header ({len(data)} bytes)")
    nrec, hlen, rlen = struct.unpack("<IHH", data[4:12])
    fields: list[tuple[str, bytes, int]] = []
    pos = 32
    while pos < hlen - 1 and data[pos] != 0x0D:
        name = data[pos : pos + 11].split(b"\0", 1)[0].decode("ascii")
        fields.append((name, data[pos + 11 : pos + 12], data[pos + 16]))
        pos += 32
    if sum(n for _, _, n in fields) + 1 != rlen:
        raise FetchError(
            f"{path}: field lengths add up to {sum(n for _, _, n in fields) + 1} "
            f"bytes, header says {rlen}"
        )
    rows = []
    for i in range(nrec):
        off = hlen + i * rlen
        rec = data[off : off + rlen]
        if len(rec) < rlen:
            raise FetchError(f"{path}: record {i + 1} of {nrec} is truncated")
        if rec[:1] == b"*":
            continue
        vals, p = [], 1
        for name, typ, n in fields:
            try:
                text = rec[p : p + n].decode(encoding)
                vals.append(text.rstrip() if typ == b"C" else text.strip())
            except UnicodeDecodeError as e:
                raise FetchError(
                    f"{path}: record {i + 1}, field {name}: not {encoding} ({e})"
                ) from None
            p += n
        rows.append(vals)
    return [n for n, _, _ in fields], rows


def read_shp_points(path: Path) -> list[tuple[float, float]]:
    """(x, y) of every record of a Point shapefile (shape type 1)."""
    data = path.read_bytes()
    if len(data) < 100 or struct.unpack(">i", data[:4])[0] != 9994:
        raise FetchError(f"{path}: not an ESRI shapefile (file code 9994 expected)")
    shape_type = struct.unpack("<i", data[32:36])[0]
    if shape_type != 1:
        raise FetchError(f"{path}: shape type {shape_type}, expected 1 (Point)")
    pts, pos = [], 100
    while pos + 8 <= len(data):
        num, words = struct.unpack(">ii", data[pos : pos + 8])
        st = struct.unpack("<i", data[pos + 8 : pos + 12])[0]
        if st != 1:
            raise FetchError(f"{path}: record {num} has shape type {st}, expected 1 (Point)")
        pts.append(struct.unpack("<dd", data[pos + 12 : pos + 28]))
        pos += 8 + 2 * words
    return pts


def _fmt(x: float) -> str:
    return format(x, ".15g")


def pp1802_points_csv(members: dict[str, Path], out: Path) -> int:
    """Write the PP 1802 point CSV from the unpacked shapefile members; returns the row count."""
    by_suffix = {
        Path(t).suffix.lower(): p
        for t, p in members.items()
        if Path(t).stem.startswith("PP1802_CritMin_pts")
    }
    for suffix in (".dbf", ".shp", ".prj"):
        if suffix not in by_suffix:
            raise FetchError(
                f"PP1802 shapefile: member PP1802_CritMin_pts{suffix} missing "
                f"(have {sorted(members)})"
            )
    prj = by_suffix[".prj"].read_text(encoding="ascii", errors="replace")
    if not prj.startswith("GEOGCS"):
        raise FetchError(
            f"{by_suffix['.prj']}: projected CRS ({prj[:40]}...); only geographic "
            "(GEOGCS) coordinates can fill X/Y"
        )
    cpg = by_suffix.get(".cpg")
    encoding = cpg.read_text(encoding="ascii").strip() if cpg else "utf-8"
    names, rows = read_dbf(by_suffix[".dbf"], encoding)
    missing = [f for f in PP1802_DBF_FIELDS if f not in names]
    if missing:
        raise FetchError(
            f"{by_suffix['.dbf']}: field(s) {', '.join(missing)} missing; found {', '.join(names)}"
        )
    pts = read_shp_points(by_suffix[".shp"])
    if len(pts) != len(rows):
        raise FetchError(f"PP1802 shapefile: {len(pts)} points but {len(rows)} attribute rows")
    idx = {PP1802_DBF_FIELDS[n]: i for i, n in enumerate(names) if n in PP1802_DBF_FIELDS}
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(PP1802_COLUMNS)
        for (x, y), rec in zip(pts, rows, strict=True):
            attrs = {c: rec[i] for c, i in idx.items()}
            for c in ("LATITUDE", "LONGITUDE"):
                try:
                    attrs[c] = _fmt(float(attrs[c]))
                except ValueError:
                    raise FetchError(
                        f"{by_suffix['.dbf']}: {c} {attrs[c]!r} is not a number "
                        f"(deposit {attrs['DEPOSIT_NAME']!r})"
                    ) from None
            w.writerow([_fmt(x), _fmt(y)] + [attrs[c] for c in PP1802_COLUMNS[2:]])
    return len(rows)


def convert(name: str, members: dict[str, Path], out: Path) -> None:
    """Run converter ``name`` on the unpacked ``members`` (target -> path), writing ``out``."""
    if name == "pp1802_points_csv":
        pp1802_points_csv(members, out)
    else:
        raise FetchError(f"unknown converter {name!r}")
