"""Audit table of every commodity's reference price (docs/markets.md, "Reference prices").

Usage: ``.venv/bin/python scripts/reference_price_audit.py --db DB [--write]``: prints the
markdown table (``--write``: replaces the table between the markers in docs/markets.md).
One row per commodity with USGS salient prices: the series chosen, its basis, unit, factor,
the resulting US$/t contained and the flags (``mixed`` / ``gross`` where one is left).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from critmin.data.normalize.prices import PRICE_BASIS
from critmin.data.warehouse import Warehouse
from critmin.disruption.inputs import SALIENT_ALIAS, _price, _salient_all, index_salient
from critmin.disruption.refprice import series_choices

DOC = Path(__file__).resolve().parents[1] / "docs" / "markets.md"
BEGIN = "<!-- reference-price-audit:begin (scripts/reference_price_audit.py) -->"
END = "<!-- reference-price-audit:end -->"


def audit_markdown(wh: Warehouse) -> str:
    """The audit table (markdown) of the warehouse's reference prices."""
    idx = index_salient(_salient_all(wh))
    choices = series_choices()
    ids = sorted(set(idx.price) | set(SALIENT_ALIAS))
    lines = ["| commodity | series chosen (year) | basis | unit | factor | US$/t contained | flags |",
             "|---|---|---|---|---:|---:|---|"]
    for cid in ids:
        sal_id, filt = SALIENT_ALIAS.get(cid, (cid, None))
        df = idx.price.get(sal_id)
        if df is not None and filt:
            df = df[df["variable"].str.contains(filt)]
        price, note = _price(idx, cid)
        ch = choices.get(cid)
        flags = [ch.flag] if ch is not None and ch.flag else []
        if ch is None:
            flags.append("basis from the unit table" if any(u in PRICE_BASIS for u in set(df["unit"]) if df is not None)
                         else "basis not audited")
        names = sorted(set(ch.series)) if ch is not None and ch.series else []
        if df is not None and not df.empty:
            d = df[df["variable"].isin(names)] if names else df
            if not d.empty:
                y = int(d["year"].max())
                d = d[d["year"] == y]
            if ch is None:
                names = sorted(set(d["variable"]))
            units = sorted(set(d["unit"]))
        else:
            y, units = 0, []
        if len(names) > 1 and ch is None:
            flags.append("mixed")
        unit_basis = [PRICE_BASIS[u] for u in units if u in PRICE_BASIS]
        basis = ch.basis if ch is not None else (unit_basis[0] if unit_basis else "as published")
        if ch is None and not unit_basis:
            flags.append("gross? (basis as traded, not checked)")
        factor = f"{ch.fraction():g}" if ch is not None and ch.series else ("1" if ch is None else "")
        val = f"{price:,.0f}" if price == price else "not computable"
        series = f"{'; '.join(names)} ({y})" if names and y else "-"
        lines.append(f"| {cid} | {series} | {basis} | {', '.join(units) or '-'} | {factor} | {val} | "
                     f"{', '.join(flags)} |")
        del note
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args(argv)
    table = audit_markdown(Warehouse(a.db, read_only=True))
    if not a.write:
        sys.stdout.write(table)
        return 0
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table}{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
