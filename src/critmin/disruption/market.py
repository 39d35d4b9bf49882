"""The simulator's market inputs: one :class:`CommodityMarket` per commodity.

Named dimensions (see ``docs/disruption.md``):

* ``producer``: ISO3 countries supplying the commodity at its *supply stage* (``stage``);
* ``consumer``: the modelled consumers (the partners of setting ``risk.consumers`` by default);
* ``mine_producer``: countries with mine production (used for the mine -> processing feed).

A :class:`Market` holds the commodities that could be built and, separately, the commodities
that could not, each with its reason (never a silent zero).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields

import numpy as np

STAGES = ("mine", "processing")
#: pseudo-producer for the world total less the countries with a figure ('Other countries' and
#: withheld cells): never restricts, has spare capacity like any producer, never a hazard pair
OTHER = "OTH"


@dataclass(frozen=True)
class CommodityMarket:
    """Annual baseline market of one commodity at its supply stage (metric tons).

    Attributes
    ----------
    stage:
        ``'mine'`` or ``'processing'``: the stage at which consumers are supplied and at which
        production is counted (processing where the warehouse has processing production).
    producers, production_t:
        ``[producer]`` annual production at ``stage``. Trade partners without recorded
        production appear with 0 t (re-exporters).
    consumers, demand_t, domestic_t:
        ``[consumer]`` annual consumption and the part supplied from own production.
    import_share:
        ``[consumer, producer]`` share of each consumer's imports by source (rows sum to 1 when
        the consumer imports anything, else 0). Own country has share 0 (domestic is separate).
    proxy_trade_shares:
        ``[consumer]`` True where import shares are world production shares because the
        consumer has no trade data for the commodity.
    mine_producers, mine_production_t:
        Mine production by country (for the feed of processing countries); empty when
        ``stage == 'mine'`` is the only stage with data.
    price_usd_per_t:
        Reference price in US$/t, or NaN with ``price_note`` saying why not computable.
    """

    commodity: str
    stage: str
    producers: tuple[str, ...]
    production_t: np.ndarray
    consumers: tuple[str, ...]
    demand_t: np.ndarray
    domestic_t: np.ndarray
    import_share: np.ndarray
    proxy_trade_shares: tuple[bool, ...]
    mine_producers: tuple[str, ...] = ()
    mine_production_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    price_usd_per_t: float = float("nan")
    price_note: str = ""
    notes: tuple[str, ...] = ()
    #: consumers whose consumption could not be computed (modelled as 0 t, reported as such)
    demand_unknown: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)
    #: annual demand growth from the IEA scenario (``provenance['demand_growth']``); None = the
    #: setting ``disruption.demand_growth``
    demand_growth: float | None = None

    def __post_init__(self) -> None:
        p, k = len(self.producers), len(self.consumers)
        if self.stage not in STAGES:
            raise ValueError(f"{self.commodity}: stage must be one of {STAGES}, got {self.stage!r}")
        if len(set(self.producers)) != p:
            raise ValueError(f"{self.commodity}: duplicate producers")
        checks = {
            "production_t": (self.production_t, (p,)),
            "demand_t": (self.demand_t, (k,)),
            "domestic_t": (self.domestic_t, (k,)),
            "import_share": (self.import_share, (k, p)),
            "mine_production_t": (self.mine_production_t, (len(self.mine_producers),)),
        }
        for name, (arr, shape) in checks.items():
            if np.shape(arr) != shape:
                raise ValueError(f"{self.commodity}: {name} has shape {np.shape(arr)}; expected {shape}")
            if not np.all(np.isfinite(arr)) or np.any(np.asarray(arr) < 0):
                raise ValueError(f"{self.commodity}: {name} must be finite and >= 0")
        if len(self.proxy_trade_shares) != k:
            raise ValueError(f"{self.commodity}: proxy_trade_shares needs one flag per consumer")
        if np.any(self.domestic_t > self.demand_t * (1 + 1e-12)):
            raise ValueError(f"{self.commodity}: domestic_t exceeds demand_t")
        rows = self.import_share.sum(axis=1)
        imports = self.demand_t - self.domestic_t
        for i, c in enumerate(self.consumers):
            if imports[i] > 0 and not np.isclose(rows[i], 1.0):
                raise ValueError(f"{self.commodity}: import_share[{c}] sums to {rows[i]}, expected 1")
            if c in self.producers and self.import_share[i, self.producers.index(c)] != 0:
                raise ValueError(f"{self.commodity}: import_share[{c}, {c}] must be 0 (domestic is domestic_t)")

    def demand_unknown_reason(self, consumer: str) -> str:
        """Why ``consumer``'s consumption is not computable (``demand_unknown``), for every output."""
        why = (self.provenance.get("trade", {}).get(consumer, {}) or {}).get("consumption_not_computable")
        base = f"{consumer} consumption of {self.commodity} not computable from the warehouse"
        return f"{base}: {why}" if why else base

    @property
    def imports_t(self) -> np.ndarray:
        """``[consumer]`` annual imports."""
        return self.demand_t - self.domestic_t

    def copy(self) -> CommodityMarket:
        """An independent copy (what ``copy.deepcopy`` gives, about three times faster): the
        arrays and the provenance are copied; the other fields are immutable and shared."""
        new = copy.copy(self)
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                object.__setattr__(new, f.name, v.copy())
            elif isinstance(v, dict | list):
                object.__setattr__(new, f.name, _copy_tree(v))
        return new


def _copy_tree(x: object) -> object:
    """Copy of nested dicts and lists (JSON-like provenance); anything else by ``copy.deepcopy``
    unless immutable."""
    if isinstance(x, dict):
        return {k: _copy_tree(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_copy_tree(v) for v in x]
    if x is None or isinstance(x, str | int | float | bool):
        return x
    return copy.deepcopy(x)


@dataclass(frozen=True)
class Market:
    """All commodity markets for a set of consumers, plus what could not be built and why."""

    consumers: tuple[str, ...]
    commodities: dict[str, CommodityMarket]
    year: int | None = None
    not_computable: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for cid, cm in self.commodities.items():
            if cm.consumers != self.consumers:
                raise ValueError(f"{cid}: consumers {cm.consumers} differ from market consumers {self.consumers}")

    @property
    def commodity_ids(self) -> tuple[str, ...]:
        return tuple(self.commodities)

    def subset(self, commodities: list[str] | tuple[str, ...]) -> Market:
        missing = [c for c in commodities if c not in self.commodities]
        if missing:
            reasons = {c: self.not_computable.get(c, "not in the market") for c in missing}
            raise KeyError(f"commodities not in the market: {reasons}")
        return Market(
            self.consumers, {c: self.commodities[c] for c in commodities}, self.year, {}, dict(self.meta)
        )


def make_commodity_market(
    commodity: str,
    stage: str,
    production: dict[str, float],
    demand: dict[str, float],
    imports_from: dict[str, dict[str, float]] | None = None,
    *,
    mine_production: dict[str, float] | None = None,
    price_usd_per_t: float = float("nan"),
    consumers: tuple[str, ...] | None = None,
) -> CommodityMarket:
    """Build a :class:`CommodityMarket` from plain dicts (tests, examples, synthetic markets).

    Domestic supply of a consumer = min(own production, demand); import shares come from
    ``imports_from[consumer]`` (any positive weights, normalised), else world production shares
    of the other producers (flagged ``proxy_trade_shares``). ``consumers`` default to the
    partners (setting ``risk.consumers``).
    """
    if consumers is None:
        from critmin.data import partners as _partners

        consumers = _partners.partners()
    imports_from = imports_from or {}
    partners = {p for d in imports_from.values() for p in d}
    producers = tuple(sorted(set(production) | partners))
    prod = np.array([float(production.get(p, 0.0)) for p in producers])
    dem = np.array([float(demand.get(c, 0.0)) for c in consumers])
    dom = np.array([min(float(production.get(c, 0.0)), dem[i]) for i, c in enumerate(consumers)])
    share = np.zeros((len(consumers), len(producers)))
    proxy = []
    for i, c in enumerate(consumers):
        src = {p: w for p, w in imports_from.get(c, {}).items() if p != c and w > 0}
        is_proxy = not src
        if is_proxy:
            src = {p: production.get(p, 0.0) for p in producers if p != c and production.get(p, 0.0) > 0}
        tot = sum(src.values())
        if dem[i] - dom[i] > 0 and tot <= 0:
            raise ValueError(f"{commodity}: {c} imports but no source has production or trade")
        for p, w in src.items():
            share[i, producers.index(p)] = w / tot if tot > 0 else 0.0
        proxy.append(is_proxy)
    mp = mine_production or {}
    mprod = tuple(sorted(mp))
    return CommodityMarket(
        commodity=commodity,
        stage=stage,
        producers=producers,
        production_t=prod,
        consumers=consumers,
        demand_t=dem,
        domestic_t=dom,
        import_share=share,
        proxy_trade_shares=tuple(proxy),
        mine_producers=mprod,
        mine_production_t=np.array([float(mp[m]) for m in mprod]),
        price_usd_per_t=price_usd_per_t,
        price_note="" if np.isfinite(price_usd_per_t) else "no price given",
    )


def synthetic_market(consumers: tuple[str, ...] = ("USA", "JPN")) -> Market:
    """A small hand-made market (not real data) for development, examples and tests. Its
    demand and trade figures are written for the USA and Japan, hence the literal default."""
    cms = {
        "gallium": make_commodity_market(
            "gallium", "processing",
            {"CHN": 750.0, "JPN": 3.0, "KOR": 2.0, "RUS": 5.0},
            {"USA": 20.0, "JPN": 120.0},
            {"USA": {"CHN": 0.5, "JPN": 0.2, "CAN": 0.3}, "JPN": {"CHN": 0.7, "KOR": 0.3}},
            mine_production={},
            price_usd_per_t=1_000_000.0,
            consumers=consumers,
        ),
        "cobalt": make_commodity_market(
            "cobalt", "processing",
            {"CHN": 150_000.0, "FIN": 20_000.0, "CAN": 5_000.0, "JPN": 4_000.0, "BEL": 6_000.0},
            {"USA": 9_000.0, "JPN": 15_000.0},
            {"USA": {"NOR": 0.2, "CAN": 0.2, "FIN": 0.3, "JPN": 0.1, "CHN": 0.2}, "JPN": {"CHN": 0.6, "FIN": 0.4}},
            mine_production={"COD": 220_000.0, "IDN": 28_000.0, "AUS": 4_000.0, "PHL": 4_000.0},
            price_usd_per_t=33_000.0,
            consumers=consumers,
        ),
        "nickel": make_commodity_market(
            "nickel", "mine",
            {"IDN": 2_200_000.0, "PHL": 330_000.0, "RUS": 210_000.0, "NCL": 110_000.0, "CAN": 190_000.0},
            {"USA": 200_000.0, "JPN": 150_000.0},
            {"JPN": {"PHL": 0.8, "NCL": 0.2}},
            price_usd_per_t=16_800.0,
            consumers=consumers,
        ),
    }
    gov = {"CHN": -0.55, "JPN": 1.25, "KOR": 0.9, "RUS": -0.95, "FIN": 1.7, "CAN": 1.5, "BEL": 1.2,
           "COD": -1.45, "IDN": -0.05, "AUS": 1.45, "PHL": -0.3, "NCL": 1.0}
    return Market(consumers, cms, year=None, meta={"synthetic": True, "governance": gov})
