"""Shared machinery for the per-source parsers.

A source module exposes ``specs(data_dir) -> list[DatasetSpec]``. Each spec names one
dataset (a file, or one sheet / SQLite table of a file) and the parser that turns it into
DataFrames keyed by warehouse table name. Parsers are pure with respect to the database:
they read the file and return rows (with ``source_line``), or raise
:class:`~critmin.data.errors.ImportFault`; the importer writes everything in one
transaction, so a fault anywhere leaves the database untouched.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO

import pandas as pd

from critmin.data.errors import ImportFault
from critmin.data.normalize import countries, values

#: table name -> rows (list of dicts with the table's columns), a DataFrame, or SqlRows
Frames = dict[str, "list[dict] | pd.DataFrame | SqlRows"]
#: reserved Frames key: values skipped on purpose, as dicts {"ref", "line", "reason"}; the
#: importer logs them and lists them in ImportReport.not_imported (never written as rows)
NOT_IMPORTED = "_not_imported"


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    path: Path  # the physical file
    relpath: str  # relative to the data dir, '#sheet' / '#table' appended where needed
    publisher: str
    title: str
    licence: str
    vintage: str
    parser: Callable[[DatasetSpec], Frames]
    url: str = ""
    options: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass
class SqlRows:
    """Rows too many for Python objects: CSV files that the importer loads with DuckDB's CSV
    reader and a SELECT producing the table's columns (``{dataset_id}`` is substituted).

    ``csv_paths`` are temporary files owned by the import; ``frames`` are small DataFrames
    registered under their key for the SELECT (e.g. a code → ISO3 map). The SELECT must give
    one row per source row (``n_rows`` of them); when it gives another number (a JOIN dropped a
    row with an unknown code), the importer aborts with an :class:`ImportFault` for the row
    that ``lost_sql`` names: a query (``{files}`` substituted) giving (line, column, found) of
    the first such row, and ``lost_expected`` says what was expected there."""

    csv_paths: list[str]
    select_sql: str
    n_rows: int
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    tmpdir: str | None = None
    lost_sql: str | None = None
    lost_expected: str = ""

    def __len__(self) -> int:
        return self.n_rows


@dataclass
class CsvTable:
    path: Path
    relpath: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]

    def col(self, name: str) -> int:
        try:
            return self.header.index(name)
        except ValueError:
            raise ImportFault(
                self.relpath, 1, name, "no such column", f"a header with column {name!r} (found: {self.header})"
            ) from None

    def iter(self) -> Iterator[tuple[int, list[str]]]:
        return zip(self.lines, self.rows, strict=True)


def read_csv(
    path: Path, relpath: str, *, required: tuple[str, ...] = (), encoding: str = "utf-8-sig", overflow_into_last: bool = False
) -> CsvTable:
    """Read a CSV keeping the physical line number of every record.

    Trailing empty columns (USGS files end in runs of commas) are dropped; wholly empty rows
    are skipped. A missing required column raises :class:`ImportFault` naming it.
    """
    opener: Callable[[], IO[str]]
    if encoding == "utf-8/cp1252":
        # files that are UTF-8 with stray Windows-1252 bytes (e.g. 0x92 for a right quote)
        import io

        text = path.read_bytes().decode("utf-8", errors="cp1252fallback").lstrip("\ufeff")
        opener = lambda: io.StringIO(text, newline="")  # noqa: E731
    else:
        opener = lambda: open(path, encoding=encoding, newline="")  # noqa: E731, SIM115
    try:
        with opener() as f:
            reader = csv.reader(f)
            try:
                header = next(reader)
            except StopIteration:
                raise ImportFault(relpath, 1, None, "an empty file", "a CSV header line") from None
            rows: list[list[str]] = []
            lines: list[int] = []
            start = reader.line_num + 1
            for rec in reader:
                if any(c.strip() for c in rec):
                    rows.append(rec)
                    lines.append(start)
                start = reader.line_num + 1
    except UnicodeDecodeError:
        raise _decode_fault(path, relpath, encoding) from None
    except csv.Error as e:
        raise ImportFault(relpath, reader.line_num, None, str(e), "well-formed CSV") from None
    header = [h.strip() for h in header]
    while header and header[-1] == "":
        header.pop()
    n = len(header)
    if n == 0:
        raise ImportFault(relpath, 1, None, "an empty header", "column names")
    norm_rows = []
    for line, r in zip(lines, rows, strict=True):
        extra = [c for c in r[n:] if c.strip()]
        if extra and overflow_into_last:
            r = r[: n - 1] + [" | ".join(c for c in r[n - 1 :] if c.strip())]
        elif extra and not _is_repeat(r[:n], extra):
            raise ImportFault(relpath, line, f"#{n + 1}", extra[0], f"at most {n} columns (the header has {n})")
        norm_rows.append((r + [""] * (n - len(r)))[:n])
    for col in required:
        if col not in header:
            raise ImportFault(relpath, 1, col, "no such column", f"a header with column {col!r} (found: {header})")
    return CsvTable(path, relpath, header, norm_rows, lines)


def _decode_fault(path: Path, relpath: str, encoding: str) -> ImportFault:
    """Where exactly a file stops being valid text: physical line, column and the bad bytes.

    The text reader decodes in chunks (its error offsets are relative to a chunk), so the
    whole file is decoded again here to find the absolute offset."""
    data = path.read_bytes()
    skip = 3 if encoding.replace("_", "-").lower() == "utf-8-sig" and data.startswith(codecs.BOM_UTF8) else 0
    codec = "utf-8" if skip or encoding.replace("_", "-").lower() == "utf-8-sig" else encoding
    try:
        data[skip:].decode(codec)
    except UnicodeDecodeError as e:
        start = skip + e.start
        bad = data[start : skip + e.end]
    else:  # pragma: no cover - the reader failed, so the bytes cannot all be valid
        return ImportFault(relpath, None, None, "bytes that are not valid text", f"{encoding} text")
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    column: str | None = None
    try:
        prefix = data[max(line_start, skip) : start].decode(codec)
        fields = next(csv.reader([prefix]), [""])
        header_end = data.find(b"\n", skip)
        header = next(csv.reader([data[skip : header_end if header_end >= 0 else None].decode(codec, "replace")]))
        ix = len(fields) - 1
        column = header[ix].strip() if line > 1 and 0 <= ix < len(header) and header[ix].strip() else f"#{ix + 1}"
    except (UnicodeDecodeError, csv.Error, StopIteration):
        pass
    return ImportFault(relpath, line, column, f"bytes {bad!r} not valid {encoding} (at byte {start})", "UTF-8 text")


def _cp1252_fallback(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    bad = err.object[err.start : err.end]
    return bytes(bad).decode("cp1252", errors="replace"), err.end


codecs.register_error("cp1252fallback", _cp1252_fallback)


def _is_repeat(row: list[str], extra: list[str]) -> bool:
    """USGS quirk: some files repeat a value in unnamed trailing columns (e.g. barite
    repeats its reserves, sometimes without the thousands separator)."""
    def key(x: str) -> str:
        return x.replace(",", "").strip()
    have = {key(x) for x in row}
    return all(key(x) in have for x in extra)


def parse_cell(t_path: str, line: int, column: str, raw: str) -> values.Parsed:
    p = values.parse_value(raw)
    if p is None:
        raise ImportFault(t_path, line, column, raw, values.EXPECTED)
    return p


@lru_cache(maxsize=8192, typed=True)
def resolve_country(raw: str) -> tuple[str | None, str | None, str | None]:
    """(iso3, aggregate, qualifier) for a country cell, or raise KeyError.

    The answer depends on the text alone (the alias and aggregate tables are read once), so
    it is kept per text: a file names the same few hundred countries thousands of times.

    USGS cells carry qualifiers and flattened footnote marks, handled explicitly in order:
    ``Brazil (beneficiated)`` / ``Denmark (processed)5`` (qualifier kept), ``Argentina, crude
    ore`` (qualifier after a comma), ``Russiae`` / ``Japane`` (a superscript 'e' for
    'estimated' flattened onto the name), curly apostrophes (``Côte d’Ivoire``).
    """
    text = str(raw).replace("\u00a0", " ").replace("’", "'").replace("\x92", "'").strip()
    agg = countries.aggregate_kind(text)
    if agg:
        return None, agg, None
    try:
        return countries.to_iso3(text), None, None
    except KeyError:
        pass
    m = re.match(r"^(.*?)\s*\(([^)]*)\)\s*\d*$", text)
    if m:
        iso3, agg, _ = resolve_country(m.group(1))
        return iso3, agg, m.group(2).strip()
    if "," in text:
        head, tail = text.split(",", 1)
        try:
            return countries.to_iso3(head), None, tail.strip()
        except KeyError:
            pass
    if text.endswith("e"):
        try:
            return countries.to_iso3(text[:-1]), None, "estimated (footnote mark 'e' on the country name)"
        except KeyError:
            pass
    raise KeyError(text)


def country_fields(relpath: str, line: int, column: str, raw: str) -> tuple[str | None, str | None, str | None]:
    """(iso3, aggregate, qualifier) for a country cell; ImportFault when unknown."""
    try:
        return resolve_country(raw)
    except KeyError:
        raise ImportFault(relpath, line, column, raw, "a country name known to critmin (catalog/country_aliases.csv or ISO 3166)") from None


def sha256_file(path: Path, _cache: dict[tuple[str, int, int, int, int], str] = {}) -> str:  # noqa: B006
    """sha256 of a file, cached per process. The cache key includes the inode change time,
    which every write (and every ``utime``) updates and which cannot be set back, so a file
    replaced with the same size and a restored mtime (``cp -p``, ``rsync -t``, tar) is
    hashed again instead of being taken for the already-imported one."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size)
    if key not in _cache:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _cache[key] = h.hexdigest()
    return _cache[key]


_DTYPES = {"DOUBLE": "float64", "INTEGER": "Int64", "BIGINT": "Int64", "BOOLEAN": "boolean"}


def frame(rows: list[dict], table: str | list[str]) -> pd.DataFrame:
    """DataFrame with the columns and dtypes of a warehouse table (consistent dtypes keep
    concatenation and insertion exact, also for all-NULL columns)."""
    from critmin.data.schema import TABLES

    cols = TABLES[table].columns if isinstance(table, str) else None
    names = [c.name for c in cols] if cols else list(table)
    df = pd.DataFrame.from_records(rows, columns=names)
    if cols:
        for c in cols:
            dt = _DTYPES.get(c.type, "object")
            if dt != "object" or df[c.name].dtype != object:
                df[c.name] = df[c.name].astype(dt) if dt != "object" else df[c.name].astype(object)
    return df
