"""The damage table: loss per tonne for every commodity x partner, from the curated end uses,
value added and substitutability (:mod:`critmin.data.curated.economics`) and the disruption
market's consumption and price (:func:`critmin.disruption.api.load_market`)."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import pandas as pd

from critmin import settings
from critmin.data.curated import economics
from critmin.data.partners import partners as configured_partners
from critmin.impact import params
from critmin.impact.damage import Damage, SectorUse, calc_damage

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse
    from critmin.disruption.market import Market

COLUMNS = ["commodity_id", "partner", "loss_per_t", "price", "multiple", "va_exposed_per_t", "va_at_risk_per_t",
           "substitutability", "consumption_t", "basis", "end_use_partner", "sectors", "sources", "flags"]

_table_cache: dict[tuple[object, ...], pd.DataFrame] = {}
_table_lock = threading.Lock()

#: (commodity, partner) -> (end-use partner used, sectors, sources)
Inputs = dict[tuple[str, str], tuple[str, tuple[SectorUse, ...], tuple[str, ...]]]


@lru_cache(maxsize=8)
def _sector_inputs(scale_items: tuple[tuple[str, float], ...], fallback: tuple[str, ...]) -> Inputs:
    """(commodity, partner) -> (end-use partner used, sectors, sources) for USA/JPN."""
    eu = economics.end_uses()
    sub = economics.substitutability(scale=dict(scale_items))
    sub_of = {(r.commodity_id, r.sector): float(r.short_run_substitutability) for r in sub.itertuples()}
    va = economics.value_added()
    va_of = {(r.partner, r.industry_code): float(r.value_added_usd) for r in va.itertuples() if r.classification == "ISIC4"}
    va_src = {(r.partner, r.industry_code): str(r.source) for r in va.itertuples() if r.classification == "ISIC4"}
    by: dict[tuple[str, str], pd.DataFrame] = {k: g for k, g in eu.groupby(["commodity_id", "partner"], sort=False)}  # type: ignore[misc]
    out: Inputs = {}
    for cid in sorted({c for c, _ in by}):
        for partner in economics.VALUE_ADDED_PARTNERS:
            chosen = None
            for p in (partner, *[f for f in fallback if f != partner]):
                g = by.get((cid, p))
                if g is not None and g["share"].notna().any():
                    chosen = (p, g)
                    break
            if chosen is None:
                continue
            p, g = chosen
            sectors = []
            sources = set(g["source"])
            for r in g.itertuples():
                if r.sector in economics.NO_INDUSTRY_SECTORS:
                    continue
                isic = economics.sector_isic(str(r.sector))
                sectors.append(SectorUse(str(r.sector), float(r.share), va_of.get((partner, isic), math.nan),
                                         sub_of.get((cid, str(r.sector)), math.nan)))
                if (partner, isic) in va_src:
                    sources.add(va_src[(partner, isic)])
            out[(cid, partner)] = (p, tuple(sectors), tuple(sorted(sources)))
    return out


def _current() -> tuple[Inputs, dict[str, float]]:
    """The curated inputs and the keyword parameters of :func:`calc_damage` for the current settings."""
    scale = tuple(sorted(params.rating_scale().items()))
    fallback = tuple(str(x) for x in settings.get("impact.end_use_fallback"))
    kw = {"exposure": float(settings.get("impact.industry_exposure")),
          "default_multiple": float(settings.get("impact.default_price_multiple")),
          "default_substitutability": float(settings.get("impact.default_substitutability"))}
    return _sector_inputs(scale, fallback), kw


def damage_for(commodity: str, partner: str, price: float, consumption_t: float,
               current: tuple[Inputs, dict[str, float]] | None = None,
               ) -> tuple[Damage, str, tuple[SectorUse, ...], tuple[str, ...]]:
    """Damage of one (commodity, partner) with the current settings: (damage, end-use partner
    used or '', sectors, sources)."""
    all_inputs, kw = _current() if current is None else current
    inputs = all_inputs.get((commodity, partner))
    if inputs is None:
        return calc_damage(price, consumption_t, (), flags=("no_end_uses",), **kw), "", (), ()
    p, sectors, sources = inputs
    flags = () if p == partner else (f"proxy_end_uses:{p}",)
    return calc_damage(price, consumption_t, sectors, flags=flags, **kw), p, sectors, sources


@dataclass(frozen=True)
class DamageEstimate:
    """The damage of one (commodity, partner) with what it was computed from."""

    commodity_id: str
    partner: str
    damage: Damage  #: loss per tonne, price, basis, flags (see :class:`Damage`)
    consumption_t: float  #: the partner's annual consumption of the disruption market (t)
    end_use_partner: str  #: whose end-use shares were used ('' = none: default multiple)
    sectors: tuple[SectorUse, ...]
    sources: tuple[str, ...]  #: end-use, value-added and price sources

    @property
    def loss_per_t(self) -> float:
        """Loss per tonne of shortfall (US$/t), at least the price."""
        return self.damage.loss_per_t

    def avoided_usd(self, tonnes: float) -> float:
        """Damage avoided by ``tonnes`` of shortfall that does not happen (US$): the model is
        linear, so ``tonnes * loss_per_t``; ValueError for a negative or NaN tonnage."""
        if not (math.isfinite(tonnes) and tonnes >= 0):
            raise ValueError(f"tonnes: {tonnes!r}; expected a finite tonnage >= 0")
        return tonnes * self.damage.loss_per_t


def damage(wh: Warehouse | None, commodity: str, partner: str, *, market: Market | None = None) -> DamageEstimate:
    """The damage model's loss per tonne of shortfall of ``commodity`` (an id) for ``partner``
    (one of the setting ``risk.consumers``): the public entry point for the stockpile, the
    projects (expected damage avoided = avoided shortfall t x ``loss_per_t``) and the price
    floor. Price and consumption come from the disruption market (``load_market(wh)``, cached
    on the warehouse fingerprint, unless ``market`` is given); the curated end uses, value
    added and substitutability and the settings ``impact.*`` from :func:`damage_for`.
    ValueError names the commodity or partner that is not in the market, or a missing price."""
    if market is None:
        if wh is None:
            raise ValueError("damage: give a warehouse or a market")
        table = damage_table(wh, configured_partners())  # cached: no market copy when warm
        hit = table[(table["commodity_id"] == commodity) & (table["partner"] == partner)]
        if len(hit) == 1:
            r = hit.iloc[0]
            d, p, sectors, _sources = damage_for(commodity, partner, float(r["price"]), float(r["consumption_t"]))
            return DamageEstimate(commodity, partner, d, float(r["consumption_t"]), p, sectors,
                                  tuple(r["sources"]))  # end-use, value-added and price sources
        from critmin.disruption.api import load_market

        market = load_market(wh, consumers=configured_partners())  # names what is missing below
    cm = market.commodities.get(commodity)
    if cm is None:
        raise ValueError(f"commodity: {commodity!r} is not in the disruption market (no production or consumption data)")
    if partner not in cm.consumers:
        raise ValueError(f"partner: {partner!r} is not a consumer of the market {list(cm.consumers)}")
    price = float(cm.price_usd_per_t)
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"{commodity}: no positive price in the warehouse ({price!r} US$/t); the loss per tonne is bounded by it")
    cons_t = float(cm.demand_t[cm.consumers.index(partner)])
    d, p, sectors, sources = damage_for(commodity, partner, price, cons_t)
    return DamageEstimate(commodity, partner, d, cons_t, p, sectors,
                          tuple(sources) + ((cm.price_note,) if cm.price_note else ()))


def damage_table(wh: Warehouse | None = None, partners: Sequence[str] | None = None, *,
                 market: Market | None = None, year: int | None = None) -> pd.DataFrame:
    """Loss per tonne for every commodity of the disruption market x ``partners`` (default:
    setting ``risk.consumers``): one row per (commodity, partner) with :data:`COLUMNS`.
    Prices and consumption are the market's (``load_market(wh, consumers=partners)`` unless
    ``market`` is given). Commodities without a positive price are left out (no loss can be
    bounded by it); the flags of each row say which defaults it used."""
    cons = tuple(partners) if partners is not None else configured_partners()
    if market is None:
        if wh is None:
            raise ValueError("damage_table: give a warehouse or a market")
        from critmin.disruption.api import load_market

        # cached per warehouse contents and every setting's effective value (settings change
        # only through the environment), so a warm call does no market copy
        key = (wh.fingerprint(), cons, year,
               tuple((s.name, os.environ.get(s.env_var)) for s in settings.all_settings()))
        with _table_lock:
            hit = _table_cache.get(key)
        if hit is not None:
            return hit.copy()
        df = damage_table(None, cons, market=load_market(wh, consumers=cons, year=year))
        with _table_lock:
            _table_cache[key] = df
            while len(_table_cache) > 8:
                _table_cache.pop(next(iter(_table_cache)))
        return df.copy()
    rows = []
    current = _current()
    for cid, cm in market.commodities.items():
        price = float(cm.price_usd_per_t)
        if not (math.isfinite(price) and price > 0):
            continue
        for k in cons:
            if k not in cm.consumers:
                raise ValueError(f"partners: {k!r} is not a consumer of the market {list(cm.consumers)}")
            cons_t = float(cm.demand_t[cm.consumers.index(k)])
            d, p, sectors, sources = damage_for(cid, k, price, cons_t, current)
            rows.append({
                "commodity_id": cid, "partner": k, "loss_per_t": d.loss_per_t, "price": price,
                "multiple": d.multiple, "va_exposed_per_t": d.va_exposed_per_t,
                "va_at_risk_per_t": d.va_at_risk_per_t, "substitutability": d.substitutability,
                "consumption_t": cons_t, "basis": d.basis, "end_use_partner": p,
                "sectors": ";".join(f"{s.sector}={s.share:g}" for s in sectors),
                "sources": list(sources) + ([cm.price_note] if cm.price_note else []), "flags": list(d.flags),
            })
    return pd.DataFrame(rows, columns=COLUMNS)
