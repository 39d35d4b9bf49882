"""Regenerate the watchlist table of docs/methodology.md from a warehouse.

    .venv/bin/python scripts/methodology_table.py --db /tmp/critmin.duckdb [--year 2024]

Replaces the block between ``<!-- watchlist-top25:begin -->`` and ``<!-- watchlist-top25:end -->``
with :func:`critmin.risk.watchlist.render_top_table` of the live assessment;
tests/test_risk_watchlist.py fails when the committed table differs from it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import critmin
from critmin.risk import api
from critmin.risk.watchlist import render_top_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "methodology.md"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None)
    ap.add_argument("--year", type=int, default=2024)
    args = ap.parse_args()
    wh = critmin.open(args.db, read_only=True)
    try:
        table = render_top_table(api.run(wh, None, args.year).records, 25)
    finally:
        wh.close()
    text = DOC.read_text(encoding="utf-8")
    new, n = re.subn(r"(<!-- watchlist-top25:begin -->\n).*?(<!-- watchlist-top25:end -->)",
                     lambda m: m.group(1) + table + m.group(2), text, flags=re.S)
    if n != 1:
        sys.stderr.write(f"{DOC}: expected one watchlist-top25 block, found {n}\n")
        return 1
    DOC.write_text(new, encoding="utf-8")
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
