"""The watchlist: list memberships, coverage of the critical-mineral lists, ordering in groups,
and the table (DataFrame) form of the records.

* Every commodity on a list of ``risk.coverage_lists`` (US 2022, US 2025, EU 2023, Japan) is a
  row, with its score or the reason it has none; a group entry of a list (platinum-group metals)
  marks its members.
* Groups: ``ranked`` (the joint score covers every partner; ranks 1..n), ``single_partner``
  (a score for some partners only, its own marked group, no rank), ``no_score`` (the reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd

from critmin import settings
from critmin.data import curated

__all__ = [
    "GROUP_MEMBERS",
    "GROUP_ORDER",
    "coverage_commodities",
    "list_memberships_of",
    "order_records",
    "partner_uses",
    "render_top_table",
    "scope",
    "watchlist_frame",
]

COVERAGE_LISTS = settings.register(
    "risk.coverage_lists",
    ("US2022", "US2025", "EU2023", "JP"),
    "Critical-mineral lists whose every commodity is a watchlist row (scored, or shown with "
    "the reason it is not); list ids of critmin.data.curated.list_memberships().",
    "Issue 12: the US 2022 list (50), the US 2025 list, the EU 2023 CRM list and Japan's rare metals.",
)
PARTNER_LISTS = settings.register(
    "risk.partner_lists",
    ("USA=US2022|US2025", "JPN=JP|JP_RM31"),
    "Each partner's own critical-mineral lists (ISO3=LIST|LIST): a commodity on them is one the "
    "partner uses, so a stage it does not perform at home counts as imported (NIR 1) even where "
    "no trade is recorded (flag no_stage_trade).",
    "The lists' own definitions: minerals essential to the partner's economy (US Energy Act of "
    "2020 section 7002; Japan's rare metals stockpiling under JOGMEC).",
)

#: group entries of the lists and the catalogue commodities scored for them.
#: Source: USGS MCS 2025 'Platinum-group metals' (platinum, palladium, rhodium, ruthenium,
#: iridium, osmium; the warehouse has country production for platinum and palladium).
GROUP_MEMBERS: dict[str, tuple[str, ...]] = {"pgm": ("platinum", "palladium", "rhodium")}

GROUP_ORDER = ("ranked", "single_partner", "no_score")


@lru_cache(maxsize=1)
def _memberships() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    out: dict[str, tuple[list[str], list[str]]] = {}
    df = curated.list_memberships()
    for cid, g in df.groupby("commodity_id"):
        out.setdefault(str(cid), ([], []))[0].extend(sorted(set(g["list_id"]), key=curated.LIST_IDS.index))
    for grp, members in GROUP_MEMBERS.items():
        for lid in out.get(grp, ([], []))[0]:
            for m in members:
                own, via = out.setdefault(m, ([], []))
                if lid not in own:
                    own.append(lid)
                    via.append(f"{lid} (as {grp})")
    return {c: (tuple(sorted(a, key=curated.LIST_IDS.index)), tuple(b)) for c, (a, b) in out.items()}


def list_memberships_of(commodity: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The list ids a commodity is on (in :data:`critmin.data.curated.LIST_IDS` order, a group
    entry's lists included) and notes for those it is on through a group."""
    return _memberships().get(commodity, ((), ()))


def coverage_commodities(lists: Iterable[str] | None = None) -> set[str]:
    """Commodities of the lists (default ``risk.coverage_lists``), group entries included."""
    ids = tuple(lists if lists is not None else settings.get("risk.coverage_lists"))
    unknown = [x for x in ids if x not in curated.LIST_IDS]
    if unknown:
        raise ValueError(f"lists: unknown list id(s) {', '.join(unknown)}; expected some of {', '.join(curated.LIST_IDS)}")
    return {c for c, (ls, _) in _memberships().items() if set(ls) & set(ids)}


def scope(lists: Sequence[str] | str | None) -> tuple[str, ...] | None:
    """List ids from ``"US2025,EU2023,JP"`` or a sequence (None: no scope); unknown -> ValueError."""
    if lists is None:
        return None
    items = [x.strip().upper() for x in (lists.split(",") if isinstance(lists, str) else lists) if x.strip()]
    if not items:
        return None
    coverage_commodities(items)  # validates the ids
    return tuple(dict.fromkeys(items))


def partner_uses(consumer: str) -> set[str]:
    """Commodities on the partner's own lists (setting ``risk.partner_lists``)."""
    out: set[str] = set()
    for item in settings.get("risk.partner_lists"):
        if "=" not in item:
            raise ValueError(f"setting risk.partner_lists: entry {item!r} is not ISO3=LIST|LIST")
        k, v = item.split("=", 1)
        if k.strip().upper() == consumer:
            out |= coverage_commodities([x.strip() for x in v.split("|") if x.strip()])
    return out


def order_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort into the groups (ranked by joint score, then single-partner by score, then no
    score alphabetically) and number the ranked group 1..n (others: rank None)."""
    def key(r: dict[str, Any]) -> tuple[int, float, str]:
        j = r["indices"]["joint_score"]
        return GROUP_ORDER.index(r["group"]), -(j if j is not None else 0.0), r["commodity"]

    records.sort(key=key)
    rank = 0
    for r in records:
        if r["group"] == "ranked":
            rank += 1
            r["rank"] = rank
        else:
            r["rank"] = None
    return records


def watchlist_frame(records: list[dict[str, Any]], cons: tuple[str, ...], stages: Sequence[str],
                    names: dict[str, str]) -> pd.DataFrame:
    """The records as one row per commodity (the columns of ``critmin assess --csv``)."""
    rows = []
    for r in records:
        row: dict[str, Any] = {"rank": r["rank"], "commodity": r["commodity"], "name": names.get(r["commodity"], r["commodity"]),
                               "joint_score": r["indices"]["joint_score"], "group": r["group"],
                               "covers": tuple(r["covers"]), "bottleneck_stage": r["bottleneck_stage"],
                               "grade": r["grade"], "lists": tuple(r["lists"])}
        for k in cons:
            row[f"usgs_supply_risk_{k}"] = r["indices"]["usgs_supply_risk"].get(k)
            row[f"eu_supply_risk_{k}"] = r["indices"]["eu_supply_risk"].get(k)
            row[f"bottleneck_stage_{k}"] = r["indices"]["bottleneck_by_consumer"].get(k)
            ex = r["exposure"][k]
            nir = ex["net_import_reliance"]
            row[f"nir_{k}"] = nir["usable"] if nir else None
            row[f"nir_flag_{k}"] = nir["flag"] if nir else None
            row[f"net_export_ratio_{k}"] = nir.get("net_export_ratio") if nir else None
            row[f"nir_text_{k}"] = nir["text"] if nir else None
            row[f"nir_ref_{k}"] = tuple(nir["ref"]) if nir and nir.get("ref") else None
            row[f"non_allied_import_share_{k}"] = ex["non_allied_import_share"]
        for st in stages:
            s = r["stages"].get(st) or {}
            row[f"top_country_{st}"] = s.get("top_country_iso3")
            row[f"top_share_{st}"] = s.get("top_share")
            row[f"china_share_{st}"] = s.get("china_share")
            row[f"hhi_{st}"] = s.get("hhi")
            row[f"source_{st}"] = s.get("source")
            row[f"year_{st}"] = s.get("year")
        row["flags"] = r["flags"]
        row["missing"] = r["missing"]
        row["sources"] = r["sources"]
        rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        df["rank"] = df["rank"].astype("Int64")
    return df


def render_top_table(records: list[dict[str, Any]], n: int = 25) -> str:
    """The first ``n`` ranked rows as the Markdown table of docs/methodology.md (rank,
    commodity, joint score, bottleneck stage (per partner where they differ), grade, lists)."""
    lines = ["| rank | commodity | joint score | bottleneck stage | grade | lists |",
             "|---:|---|---:|---|:-:|---|"]
    for r in [r for r in records if r["group"] == "ranked"][:n]:
        by = r["indices"]["bottleneck_by_consumer"]
        stage = str(r["bottleneck_stage"])
        if len(set(by.values())) > 1:
            stage += " (" + ", ".join(f"{k} {v}" for k, v in by.items()) + ")"
        lines.append(f"| {r['rank']} | {r['commodity']} | {r['indices']['joint_score']:.3f} | {stage} | "
                     f"{r['grade']} | {', '.join(r['lists']) or '–'} |")
    return "\n".join(lines) + "\n"
