"""The curated processing-stage shares (``src/critmin/data/curated/stage_shares.csv``) as
production rows, so that :func:`critmin.data.supply.select_stage` answers from them like from
any other source.

One dataset: the CSV as packaged (``source_path`` '<critmin>/data/curated/stage_shares.csv',
its sha256, vintage = the newest ``as_of``). The file is checked with the curated loader's
contract (:func:`critmin.data.curated.validate_stage_shares`: pandera schema, duplicates, share
sums); any fault aborts the whole import (``ImportFault`` with the CSV line and column).

Rows (``source = 'CURATED'``, ``measure = 'production'``, ``stage_group = 'processing'``,
``stage`` = the curated stage: refinery, separation, chemical, metal, magnet):

* one row per CSV row: ``quantity`` = the share (0-1), ``unit = 'fraction'``, ``unit_raw``
  'share', ``value_raw`` the share as written, ``source_line`` its CSV line; ``country_iso3``
  the ISO3 code, or NULL with ``aggregate`` 'other' (``ROW``, a residual the source gives) or
  'group' (``EUROPE``, a region as the source gives it); ``note`` = the citation, the as-of
  date, a tonnage where the source gives one, and the row's note;
* one ``aggregate = 'world'`` row of 1.0 per (commodity, stage, product, year): the shares
  are fractions of world output by construction. Its ``source_line`` is the line of the
  group's first row; ``value_raw`` '1 (world = 1 by construction)'.

So shares come out as published, and ``StageSupply.to_t`` refuses them ('fraction' is not a
mass unit): nothing downstream can mistake a share for a tonnage. Two sources for one
(commodity, stage, product, year) are refused (the warehouse would add their shares).

The directory holding the file can be overridden with ``CRITMIN_CURATED_DIR`` (tests point it at
fixtures; an empty directory means no curated import).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from critmin.data.curated import (
    AGGREGATE_CODES,
    SHARES_FILE,
    CuratedTableError,
    validate_stage_shares,
)
from critmin.data.curated import _read as _read_curated
from critmin.data.errors import ImportFault
from critmin.data.ingest.base import DatasetSpec, Frames

SOURCE = "CURATED"
UNIT = "fraction"
PUBLISHER = "critmin curated table (each row cites its public source)"
LICENCE = "Compilation: Apache-2.0 (critmin); figures: see each row's cited source"
KEY = "curated_stage_shares"
#: the aggregate each non-country code of the CSV stands for
AGGREGATE_OF = {"ROW": "other", "EUROPE": "group"}
assert set(AGGREGATE_OF) == set(AGGREGATE_CODES)


def curated_dir() -> Path:
    """The directory of the curated CSVs (``CRITMIN_CURATED_DIR`` or the package's)."""
    env = os.environ.get("CRITMIN_CURATED_DIR")
    if env:
        return Path(env)
    import critmin.data.curated as pkg

    return Path(pkg.__file__).parent


def specs(data_dir: Path) -> list[DatasetSpec]:
    p = curated_dir() / SHARES_FILE
    if not p.exists():
        return []
    return [DatasetSpec(
        KEY, p, f"<critmin>/data/curated/{SHARES_FILE}", PUBLISHER,
        "Processing-stage country shares (refining, separation, chemicals, metal, magnets) curated from public "
        "sources, one source and as-of date per row (docs/curated_data.md)",
        LICENCE, _vintage(p), parse_stage_shares,
    )]


def _vintage(path: Path) -> str:
    """The newest ``as_of`` of the file ('curated-YYYY-MM-DD'); 'curated' if unreadable (the
    parse then reports the fault)."""
    try:
        df = _read_curated(path.read_text(encoding="utf-8"), SHARES_FILE)
        return "curated-" + max(str(x) for x in df["as_of"]) if "as_of" in df and len(df) else "curated"
    except Exception:  # noqa: BLE001 - the parser raises the precise fault
        return "curated"


def parse_stage_shares(spec: DatasetSpec) -> Frames:
    try:
        text = spec.path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ImportFault(spec.relpath, None, None, f"bytes not valid UTF-8 (at byte {e.start})", "UTF-8 CSV") from None
    try:
        raw = _read_curated(text, SHARES_FILE)
        df = validate_stage_shares(raw.copy(), spec.relpath)
    except CuratedTableError as e:
        first = e.faults[0]
        more = f" (and {len(e.faults) - 1} more problem(s))" if len(e.faults) > 1 else ""
        raise ImportFault(spec.relpath, first.line, first.column, first.found, first.expected + more) from e
    except ValueError as e:  # pandas: not a CSV of the expected shape
        raise ImportFault(spec.relpath, None, None, str(e), "a CSV with the columns of stage_shares.csv") from e
    group = ["commodity_id", "stage", "product", "year"]
    out: list[dict[str, object]] = []
    for keys, g in df.groupby(group, sort=False):
        sources = g["source"].unique()
        if len(sources) > 1:
            line = int(g.index[g["source"] != sources[0]][0])
            raise ImportFault(spec.relpath, line, "source", g.loc[line, "source"],
                              f"one source per (commodity, stage, product, year) {tuple(keys)} (the warehouse "
                              "adds the country rows of one product: give the second source its own product text)")
        for line, r in g.iterrows():
            code = str(r["country_iso3"])
            agg = AGGREGATE_OF.get(code)
            tonnage = "" if r["unit"] == "" else f"; the source also gives {r['quantity']:g} {r['unit']}"
            note = f"source: {r['source']}; as of {r['as_of']:%Y-%m-%d}{tonnage}" + (f"; {r['note']}" if r["note"] else "")
            out.append(_row(int(str(line)), r, None if agg else code, code, agg, float(r["share"]),
                            str(raw.loc[line, "share"]), note))
        r0 = g.iloc[0]
        out.append(_row(int(g.index[0]), r0, None, "World", "world", 1.0, "1 (world = 1 by construction)",
                        f"world = 1: the source gives shares of world output ({r0['source']})"))
    return {"production": out}


def _row(line: int, r: pd.Series, iso3: str | None, country_raw: str, agg: str | None, q: float, raw: str,
         note: str) -> dict[str, object]:
    return {
        "dataset_id": None, "source_line": line, "source": SOURCE, "commodity_id": r["commodity_id"],
        "commodity_raw": r["commodity_id"], "country_iso3": iso3, "country_raw": country_raw, "aggregate": agg,
        "stage": r["stage"], "stage_group": "processing", "measure": "production", "product": r["product"],
        "type_raw": f"{r['stage']}: {r['product']}", "year": int(r["year"]), "estimated": None,
        "quantity": q, "unit": UNIT, "flag": None, "bound_lo": None, "bound_hi": None, "value_raw": raw,
        "unit_raw": "share", "note": note,
    }
