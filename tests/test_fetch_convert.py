"""PP 1802 shapefile -> CSV converter of `critmin data fetch`.

The test writes a point shapefile (dBASE III table + .shp + .prj + .cpg) from the rows of the
shared third-party CSV export with its own small writer (following the ESRI Shapefile Technical
Description, 1998), converts it back and compares with the shared CSV value by value.
"""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import pytest

from critmin.data.fetch_convert import PP1802_COLUMNS, pp1802_points_csv, read_dbf
from critmin.data.fetch_registry import FetchError

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
PP1802_CSV = RAW / "usgs_pp1802_critmin" / "PP1802_CritMin_pts.csv"
if not PP1802_CSV.is_file():  # pragma: no cover
    pytest.skip("shared/data/raw not available", allow_module_level=True)

WGS84 = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
DBF_FIELDS = [  # (dBASE name, CSV column, type)
    ("DEPOSIT_NA", "DEPOSIT_NAME", "C"),
    ("CRITICAL_M", "CRITICAL_MINERAL", "C"),
    ("DEPOSIT_TY", "DEPOSIT_TYPE", "C"),
    ("LATITUDE", "LATITUDE", "N"),
    ("LONGITUDE", "LONGITUDE", "N"),
    ("LOCATION", "LOCATION", "C"),
    ("LOC_DETAIL", "LOC_DETAIL", "C"),
]


def shared_rows(n: int | None = None) -> list[dict[str, str]]:
    with PP1802_CSV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[:n] if n else rows


def write_dbf(path: Path, rows: list[dict[str, str]], deleted: frozenset[int] = frozenset()):
    enc = [{c: r[c].encode("utf-8") for _, c, _ in DBF_FIELDS} for r in rows]
    lens = [max(1, *(len(e[c]) for e in enc)) for _, c, _ in DBF_FIELDS]
    hlen = 32 + 32 * len(DBF_FIELDS) + 1
    rlen = 1 + sum(lens)
    out = bytearray(struct.pack("<BBBBIHH20x", 3, 125, 1, 1, len(rows), hlen, rlen))
    for (name, _, typ), n in zip(DBF_FIELDS, lens, strict=True):
        out += struct.pack("<11sc4xBB14x", name.encode(), typ.encode(), n, 0)
    out += b"\r"
    for i, e in enumerate(enc):
        out += b"*" if i in deleted else b" "
        for (_, c, typ), n in zip(DBF_FIELDS, lens, strict=True):
            out += e[c].rjust(n) if typ == "N" else e[c].ljust(n)
    out += b"\x1a"
    path.write_bytes(bytes(out))


def write_shp(path: Path, pts: list[tuple[float, float]]) -> None:
    recs = b"".join(
        struct.pack(">ii", i + 1, 10) + struct.pack("<idd", 1, x, y) for i, (x, y) in enumerate(pts)
    )
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    head = struct.pack(">i20xi", 9994, (100 + len(recs)) // 2)
    head += struct.pack("<ii4d32x", 1000, 1, min(xs), min(ys), max(xs), max(ys))
    path.write_bytes(head + recs)


def build_shapefile(folder: Path, rows: list[dict[str, str]], deleted=frozenset()) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / "PP1802_CritMin_pts"
    write_dbf(stem.with_suffix(".dbf"), rows, deleted)
    write_shp(stem.with_suffix(".shp"), [(float(r["X"]), float(r["Y"])) for r in rows])
    stem.with_suffix(".prj").write_text(WGS84)
    stem.with_suffix(".cpg").write_text("UTF-8")
    return {f"usgs_pp1802_critmin/shapefile/{p.name}": p for p in folder.iterdir()}


def assert_same_values(out: Path, rows: list[dict[str, str]]) -> None:
    with out.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == PP1802_COLUMNS
        got = list(reader)
    assert len(got) == len(rows)
    for g, r in zip(got, rows, strict=True):
        for c in PP1802_COLUMNS:
            if c in ("X", "Y", "LATITUDE", "LONGITUDE"):
                assert float(g[c]) == float(r[c]), (c, g, r)
            else:  # dBASE cannot keep trailing blanks (e.g. "Clayton Valley ")
                assert g[c] == r[c].rstrip(), (c, g, r)


def test_full_layer_round_trips_value_by_value(tmp_path):
    rows = shared_rows()
    members = build_shapefile(tmp_path / "shp", rows)
    out = tmp_path / "PP1802_CritMin_pts.csv"
    assert pp1802_points_csv(members, out) == 2121  # SOURCES.md: 2,121 points
    assert_same_values(out, rows)


def test_deleted_dbf_records_are_skipped(tmp_path):
    rows = shared_rows(5)
    write_dbf(tmp_path / "t.dbf", rows, deleted=frozenset({1, 3}))
    names, recs = read_dbf(tmp_path / "t.dbf", "utf-8")
    assert names == [n for n, _, _ in DBF_FIELDS]
    assert [r[0] for r in recs] == [rows[i]["DEPOSIT_NAME"] for i in (0, 2, 4)]


def test_projected_crs_is_refused(tmp_path):
    members = build_shapefile(tmp_path / "shp", shared_rows(3))
    prj = next(p for t, p in members.items() if t.endswith(".prj"))
    prj.write_text('PROJCS["WGS_1984_Web_Mercator",GEOGCS["GCS_WGS_1984"]]')
    with pytest.raises(FetchError, match="projected CRS"):
        pp1802_points_csv(members, tmp_path / "out.csv")


def test_missing_member_and_count_mismatch_are_errors(tmp_path):
    members = build_shapefile(tmp_path / "shp", shared_rows(3))
    no_dbf = {t: p for t, p in members.items() if not t.endswith(".dbf")}
    with pytest.raises(FetchError, match=r"PP1802_CritMin_pts\.dbf missing"):
        pp1802_points_csv(no_dbf, tmp_path / "out.csv")
    shp = next(p for t, p in members.items() if t.endswith(".shp"))
    write_shp(shp, [(1.0, 2.0)])
    with pytest.raises(FetchError, match="1 points but 3 attribute rows"):
        pp1802_points_csv(members, tmp_path / "out.csv")
