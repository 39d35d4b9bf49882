"""The supply-network model: vectorised over scenarios (runs) and months, one commodity at a time.

The rules (stated in full, with the redirection rule the property tests rely on, in
``docs/disruption.md``):

1. Baseline annual flows ``F[importer, producer]`` at the commodity's supply stage. Importers are
   the consumers plus ``ROW`` (the rest of the world), which takes what is left of each
   producer's output: ``F[ROW, p] = max(prod_p - sum_k F[k, p], 0)``. A consumer's domestic
   supply is a separate, never-restricted flow.
2. An export restriction at the supply stage (slot ``h``: country ``p``, cut ``x``) keeps
   ``1 - x (1 - leakage)`` of ``p``'s flows to the targeted importers while active; several
   restrictions on the same flow multiply.
   A processing-stage restriction on a commodity supplied at the mine stage (the warehouse has
   no processing series, e.g. antimony) cuts the country's flows at the supply stage: its mine
   output stands for what it processes and exports (chain rule, docs/disruption.md).
3. A mine-stage restriction when the supply stage is processing cuts the *feed* of processing
   countries ``q != p``: their whole output (exports and domestic use) keeps
   ``1 - x (1 - leakage) * s_p``, where ``s_p`` is ``p``'s share of world mine output (pooled
   ore market: ore sourcing by processing country is unknown in the warehouse). With targets,
   only processing in targeted countries is hit.
4. Redirection (targeted restrictions only): what a restricting producer no longer ships to
   targeted importers is sold to its untargeted importers, which in turn release the same
   volume of their purchases from unrestricted producers, up to those purchases (``Cap``). The
   released volume goes back to the targeted importers in proportion to their diverted losses:
   ``redirect_i = B_i * min(1, Cap / V)``.
5. Spare capacity of producers that do not restrict exports ramps up linearly from the first
   event month (feed-hit processors keep theirs: it is assumed fed by spare ore elsewhere);
   the pool is shared among importers with a remaining loss *in proportion to their demand*,
   each capped at its remaining loss (water-filling).
6. Supply additions (new capacity, a quota increase: slot kind ``supply_addition``, t/yr while
   active) and demand changes (kind ``demand_change``: the targeted importers' demand times
   ``1 + change``) act both ways. A demand change adds to (or, when negative, takes from) an
   importer's residual need; what a demand fall frees beyond the importer's own residual loss
   goes back to the market. Additions and freed demand are used first, spare capacity after:
   the same water-filling pool serves every importer's residual need, and what is left of the
   additions and freed demand is the surplus.
7. Shortfall = residual need - pool share; price change = 100 * (world shortfall - surplus) /
   world demand / (eps_s - eps_d), floored at -100 %: the net shortage can be negative and the
   price then falls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critmin.disruption.market import CommodityMarket
from critmin.disruption.params import ModelParams

ROW = "ROW"


@dataclass(frozen=True)
class Slot:
    """An event position: who restricts, at which stage, towards whom (None = all importers)."""

    country: str | None
    stage: str | None
    targets: tuple[str, ...] | None = None
    #: 'export_restriction' (magnitude = cut), 'supply_addition' (magnitude = fraction of the
    #: country's production, or t/yr with ``per_unit_t = 1``) or 'demand_change' (relative change)
    kind: str = "export_restriction"
    #: supply addition: tonnes per unit of magnitude (None = the country's production at the stage)
    per_unit_t: float | None = None


@dataclass(frozen=True)
class CompiledCommodity:
    """Arrays of one commodity market and its event slots, ready for :func:`simulate`."""

    commodity: str
    importers: tuple[str, ...]  # consumers + ROW
    producers: tuple[str, ...]
    F_nd: np.ndarray  # [importer, producer] annual non-domestic flows (t)
    F_d: np.ndarray  # [importer, producer] annual domestic flows (t)
    demand: np.ndarray  # [importer] annual demand (t)
    spare: np.ndarray  # [producer] annual spare capacity (t)
    ramp: np.ndarray  # [producer] ramp-up months
    x_prod: np.ndarray  # [slot] producer index of an export-cut slot, -1 otherwise
    x_targets: np.ndarray  # [slot, importer] bool: importer targeted by the slot
    feed: np.ndarray  # [slot, producer] feed-loss weight of a mine slot on processing producers
    has_targeted: bool
    add_t: np.ndarray  # [slot] annual t added per unit of magnitude (supply additions)
    dem_w: np.ndarray  # [slot, importer] annual demand changed per unit of magnitude (demand changes)
    x_targeted: np.ndarray  # [slot] bool: a targeted export restriction (segments the market)
    restricted: np.ndarray  # [importer] bool: in the restricted pool (targeted by some slot)
    leakage: float
    growth: float
    supply_elasticity: float
    demand_elasticity: float
    slot_notes: tuple[str, ...]
    re_export_lag: float = 0.0
    contract_cover: float = 0.0
    inventory_months: float = 0.0
    #: theta of the calibrated log price response (None: the linear response)
    theta: float | None = None


def compile_commodity(cm: CommodityMarket, slots: list[Slot], params: ModelParams) -> CompiledCommodity:
    """Turn a market and its slots into arrays (rules 1-3 of the module docstring)."""
    cons = cm.consumers
    importers = cons + (ROW,)
    P, K = len(cm.producers), len(cons)
    F_nd = np.zeros((K + 1, P))
    F_d = np.zeros((K + 1, P))
    F_nd[:K] = cm.imports_t[:, None] * cm.import_share
    for i, c in enumerate(cons):
        if c in cm.producers and cm.domestic_t[i] > 0:
            F_d[i, cm.producers.index(c)] = cm.domestic_t[i]
    taken = F_nd[:K].sum(0) + F_d[:K].sum(0)
    F_nd[K] = np.maximum(cm.production_t - taken, 0.0)
    demand = F_nd.sum(1) + F_d.sum(1)
    spare = np.array([params.spare_for(p) for p in cm.producers]) * cm.production_t + np.array(
        [float(params.extra_spare_t.get(p, 0.0)) for p in cm.producers]
    )
    ramp = np.array([params.ramp_for(p) for p in cm.producers])
    H = len(slots)
    x_prod = np.full(H, -1, dtype=np.int64)
    x_targets = np.zeros((H, K + 1), dtype=bool)
    feed = np.zeros((H, P))
    mine_total = float(cm.mine_production_t.sum())
    notes: list[str] = []
    has_targeted = False
    add_t = np.zeros(H)
    dem_w = np.zeros((H, K + 1))
    for h, s in enumerate(slots):
        tmask = np.ones(K + 1, dtype=bool) if s.targets is None else np.array(
            [imp in s.targets for imp in cons] + [False]
        )
        if s.kind == "demand_change":
            dem_w[h] = np.where(tmask, demand, 0.0)
            continue
        if s.kind == "supply_addition":
            if s.stage != cm.stage:
                notes.append(f"{s.country} {s.stage}-stage supply addition on {cm.commodity}: the supply stage "
                             f"is {cm.stage}: no effect")
            elif s.per_unit_t is not None:
                add_t[h] = float(s.per_unit_t)
            elif s.country in cm.producers:
                add_t[h] = float(cm.production_t[cm.producers.index(str(s.country))])
            else:
                notes.append(f"{s.country} has no {cm.commodity} production to scale a relative supply "
                             "addition by (give quantity_t): no effect")
            continue
        if s.kind != "export_restriction":
            raise ValueError(f"slot {h}: kind: expected one of export_restriction, supply_addition, "
                             f"demand_change, got {s.kind!r}")
        chain_proxy = s.stage == "processing" and cm.stage == "mine"
        if s.stage == cm.stage or chain_proxy:
            if chain_proxy and s.country in cm.producers:
                notes.append(f"{s.country} processing-stage restriction on {cm.commodity}: the warehouse has "
                             f"{cm.commodity} supply at the mine stage only, so {s.country}'s mine output stands for "
                             "what it processes and exports: its flows to the targets are cut (chain rule)")
            if s.country not in cm.producers:
                notes.append(f"{s.country} does not supply {cm.commodity} at the {cm.stage} stage: no effect")
                continue
            x_prod[h] = cm.producers.index(str(s.country))
            x_targets[h] = tmask
            if s.targets is not None and tmask.any():
                has_targeted = True
        elif s.stage == "mine" and cm.stage == "processing":
            if s.country not in cm.mine_producers or mine_total <= 0:
                notes.append(f"{s.country} has no {cm.commodity} mine production: no effect")
                continue
            share = cm.mine_production_t[cm.mine_producers.index(str(s.country))] / mine_total
            for q, p in enumerate(cm.producers):
                if p != s.country and (s.targets is None or p in s.targets):
                    feed[h, q] = share
    x_targeted = (x_prod >= 0) & np.array([sl.targets is not None for sl in slots], dtype=bool)
    restricted = x_targets[x_targeted].any(0) if x_targeted.any() else np.zeros(K + 1, dtype=bool)
    return CompiledCommodity(
        cm.commodity, importers, cm.producers, F_nd, F_d, demand, spare, ramp, x_prod, x_targets,
        feed, has_targeted, add_t, dem_w, x_targeted, restricted, params.leakage,
        params.demand_growth if params.demand_growth_override or cm.demand_growth is None else cm.demand_growth,
        params.supply_elasticity, params.demand_elasticity, tuple(notes),
        params.re_export_lag_months, params.contract_cover_months, params.inventory_months,
        params.theta_for(cm.commodity),
    )


def calc_prorata_fill(amount: np.ndarray, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Share ``amount[...]`` among claimants in proportion to ``weights[i]``, each capped at
    ``caps[..., i]``; what a capped claimant cannot take is shared among the others
    (water-filling). Returns ``given[..., i]`` with ``given <= caps`` and
    ``sum_i given = min(amount, sum_i caps)`` (up to rounding).

    With ``I`` claimants at most ``I`` rounds are needed: every round either places all of the
    remaining amount or caps at least one more claimant.
    """
    given = np.zeros_like(caps)
    remaining = np.maximum(amount, 0.0).astype(float)
    open_ = (caps > 0) & (weights > 0)
    for _ in range(caps.shape[-1]):
        w = np.where(open_, weights, 0.0)
        wsum = w.sum(-1, keepdims=True)
        share = np.divide(remaining[..., None] * w, wsum, out=np.zeros_like(caps), where=wsum > 0)
        give = np.minimum(share, caps - given)
        given = given + give
        remaining = np.maximum(remaining - give.sum(-1), 0.0)
        open_ = open_ & (given < caps)
    return np.minimum(given, caps)


def calc_price_change_pct(shortage_fraction: np.ndarray, supply_elasticity: float, demand_elasticity: float) -> np.ndarray:
    """%dP = 100 * shortage / (eps_s - eps_d): the price change that clears a supply shortfall
    of ``shortage_fraction`` with linear (log) supply and demand responses (constant-elasticity
    partial equilibrium, e.g. Fally & Sayre 2018, eq. for a supply shock)."""
    return 100.0 * shortage_fraction / (supply_elasticity - demand_elasticity)


@dataclass(frozen=True)
class SimResult:
    """Monthly results ``[run, month, importer]`` in t (importer axis = consumers + ROW)."""

    importers: tuple[str, ...]
    demand: np.ndarray  # [month, importer]
    loss: np.ndarray
    redirect: np.ndarray
    pool: np.ndarray
    shortfall: np.ndarray
    delivered: np.ndarray
    spare_pool: np.ndarray  # [run, month] spare capacity available
    redirect_cap: np.ndarray  # [run, month] volume untargeted importers can release
    price_change_pct: np.ndarray  # [run, month]
    #: [run, month, importer] demand change (t; 0 without demand events): demand + change = need
    demand_change: np.ndarray | None = None
    #: [run, month] supply additions and freed demand left unused (t): a negative net shortage
    surplus: np.ndarray | None = None
    #: [run, month] (world shortfall - surplus) / world demand: negative in a glut
    net_shortage: np.ndarray | None = None
    #: [run, month] price change in the restricted pool (targeted importers) and in the open pool
    #: (everyone else); equal to ``price_change_pct`` where the market is not segmented
    price_restricted_pct: np.ndarray | None = None
    price_open_pct: np.ndarray | None = None
    #: [run, month, importer] stocks drawn to cover shortfalls (t)
    inventory_draw: np.ndarray | None = None
    #: [run, month] diverted volume the open pool receives beyond what it releases (t)
    open_excess: np.ndarray | None = None


def simulate(
    comp: CompiledCommodity,
    cut: np.ndarray,
    start: np.ndarray,
    duration: np.ndarray,
    declared: np.ndarray,
    horizon: int,
) -> SimResult:
    """Simulate ``n`` runs of one commodity over ``horizon`` months.

    ``cut``, ``start`` (1-based month), ``duration`` (months) and ``declared`` (the event exists
    in the run; it starts the spare-capacity ramp even at cut 0) are ``[run, slot]``.
    """
    n, H = cut.shape
    T = int(horizon)
    n_imp, n_prod = comp.F_nd.shape
    t = np.arange(1, T + 1)
    m_t = (1.0 + comp.growth) ** ((t - 1) / 12.0) / 12.0  # [month] annual -> monthly, with growth
    act = (t[None, None, :] >= start[:, :, None]) & (t[None, None, :] < (start + duration)[:, :, None])
    leak = np.full((n, H, T), comp.leakage)
    if comp.x_targeted.any():  # segmented markets: leakage to the targets only after the re-export lag
        lag_ok = t[None, None, :] >= (start + comp.re_export_lag)[:, :, None]
        leak = np.where(comp.x_targeted[None, :, None] & ~lag_ok, 0.0, leak)
    a = cut[:, :, None] * (1.0 - leak) * act  # [run, slot, month]
    keep_x = np.ones((n, T, n_imp, n_prod))
    keep_f = np.ones((n, T, n_prod))
    for h in range(H):
        p = comp.x_prod[h]
        if p >= 0:
            tg = np.flatnonzero(comp.x_targets[h])
            keep_x[:, :, tg, p] *= (1.0 - a[:, h, :])[:, :, None]
        if comp.feed[h].any():
            keep_f *= 1.0 - a[:, h, :, None] * comp.feed[h][None, None, :]
    kk = keep_x * keep_f[:, :, None, :]
    loss = ((1.0 - kk) * comp.F_nd).sum(-1) + (1.0 - keep_f) @ comp.F_d.T  # [run, month, importer] annual rate
    restricting: np.ndarray = np.any(keep_x < 1.0, axis=2)  # [run, month, producer]
    redirect = np.zeros_like(loss)
    cap = np.zeros((n, T))
    excess = np.zeros((n, T))  # diverted volume the open pool receives beyond what it releases
    seg = np.zeros((n, T), dtype=bool)  # [run, month] a targeted restriction is active
    if comp.has_targeted:
        tgt = comp.x_targeted[None, :] & declared
        seg = (act & (cut[:, :, None] > 0) & tgt[:, :, None]).any(1)
        t0 = np.where(tgt, start, T + 1).min(axis=1)  # first targeted restriction of the run
        swap_on = t[None, :] >= (t0 + comp.contract_cover)[:, None]  # contract cover over
        redirect, cap, V = _redirect(comp, keep_x, keep_f, restricting, swap_on)
        excess = np.maximum(V - redirect.sum(-1), 0.0)
    # spare capacity pool (rule 5)
    first = np.where(declared, start, T + 1).min(axis=1) if H else np.full(n, T + 1)
    since = t[None, :] - first[:, None] + 1  # months since the first event, 1 in its month
    ramp = np.clip(since[:, :, None] / comp.ramp[None, None, :], 0.0, 1.0)
    pool_avail = (ramp * ~restricting * comp.spare).sum(-1)  # [run, month]
    residual = np.maximum(loss - redirect, 0.0)
    dchg = np.zeros_like(loss)
    extra = np.zeros((n, T))
    if comp.add_t.any() or comp.dem_w.any():  # rule 6: additions and demand changes
        mag = cut[:, :, None] * act  # [run, slot, month]
        extra = np.einsum("rhm,h->rm", mag, comp.add_t)
        dchg = np.einsum("rhm,hi->rmi", mag, comp.dem_w)
        need = residual + dchg
        extra = extra + np.maximum(-need, 0.0).sum(-1)
        residual = np.maximum(need, 0.0)
    pool = calc_prorata_fill(extra + pool_avail, comp.demand, residual)
    surplus = np.maximum(extra - residual.sum(-1), 0.0)  # additions and freed demand come first
    short = residual - pool
    scale = m_t[None, :, None]
    demand_m = comp.demand[None, :] * m_t[:, None]
    loss, redirect, pool, short, dchg = loss * scale, redirect * scale, pool * scale, short * scale, dchg * scale
    surplus, excess = surplus * m_t[None, :], excess * m_t[None, :]
    draw = np.zeros_like(short)
    if comp.inventory_months > 0:  # stocks cover the first shortfalls, cumulatively
        stock = comp.demand * comp.inventory_months / 12.0  # [importer] t
        covered = np.minimum(np.cumsum(short, axis=1), stock[None, None, :])
        draw = np.diff(covered, axis=1, prepend=0.0)
        short = short - draw
    delivered = demand_m[None] + dchg - short
    world = demand_m.sum(-1)
    frac = np.divide(short.sum(-1) - surplus - excess, world[None, :], out=np.zeros((n, T)), where=world[None, :] > 0)
    price = _price(frac, comp)
    price_r, price_o = price, price
    if comp.has_targeted:  # rule 8: each pool clears at its own price
        R = comp.restricted
        dem_r, dem_o = demand_m[:, R].sum(-1), demand_m[:, ~R].sum(-1)
        # a pool with a negligible demand (below 1e-12 of the world's: subnormal test markets)
        # takes the world price rather than a ratio of rounding errors
        tiny = 1e-12 * world[None, :]
        frac_r = np.divide(short[:, :, R].sum(-1), dem_r[None, :], out=frac.copy(), where=dem_r[None, :] > tiny)
        frac_o = np.divide(short[:, :, ~R].sum(-1) - surplus - excess, dem_o[None, :], out=frac.copy(),
                           where=dem_o[None, :] > tiny)
        # arbitrage closes the spread the other way; a negligible pool takes the world price
        split = seg & (frac_r > frac_o) & (dem_r[None, :] > tiny) & (dem_o[None, :] > tiny)
        price_r = np.where(split, _price(frac_r, comp), price)
        price_o = np.where(split, _price(frac_o, comp), price)
    return SimResult(
        comp.importers, demand_m, loss, redirect, pool, short, delivered,
        (pool_avail + extra) * m_t[None, :], cap * m_t[None, :], price, dchg, surplus, frac,
        price_r, price_o, draw, excess,
    )


def calc_log_price_change_pct(shortage_fraction: np.ndarray, theta: float) -> np.ndarray:
    """%dP = 100 (exp(theta * shortage) - 1): the constant-elasticity response in logs,
    ln(P1/P0) = shortage / (eps_s - eps_d) with theta = 1/(eps_s - eps_d) calibrated per group
    (critmin.disruption.calibrate); never below -100 %."""
    return 100.0 * np.expm1(theta * shortage_fraction)


def _price(frac: np.ndarray, comp: CompiledCommodity) -> np.ndarray:
    """Rule 7: the price change of a net shortage fraction: the calibrated log response, or the
    linear one floored at -100 % (setting disruption.price_response)."""
    if comp.theta is not None:
        return calc_log_price_change_pct(frac, comp.theta)
    return np.maximum(calc_price_change_pct(frac, comp.supply_elasticity, comp.demand_elasticity), -100.0)


def _redirect(
    comp: CompiledCommodity, keep_x: np.ndarray, keep_f: np.ndarray, restricting: np.ndarray,
    swap_on: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule 4: redirection of targeted restrictions (annual rates ``[run, month, importer]``),
    only once the open pool's contract cover is over (``swap_on[run, month]``). Returns the
    redirected volumes, the release capacity and the diverted volume ``V`` the open pool gets."""
    Fnd = comp.F_nd
    blocked = Fnd * keep_f[:, :, None, :] * (1.0 - keep_x)  # [run, month, importer, producer]
    untargeted = (keep_x == 1.0) & (Fnd > 0)  # importer buys from p and is not restricted by it
    divertible = restricting & untargeted.any(axis=2)  # [run, month, producer]
    b_div = (blocked * divertible[:, :, None, :]).sum(-1)  # [run, month, importer]
    V = b_div.sum(-1)
    absorber = (untargeted & divertible[:, :, None, :]).any(-1)  # [run, month, importer]
    free = ((Fnd * keep_f[:, :, None, :]) * ~restricting[:, :, None, :]).sum(-1)  # purchases from unrestricted
    cap = (free * absorber).sum(-1)
    cap = cap * swap_on
    ratio = np.divide(np.minimum(cap, V), V, out=np.zeros_like(V), where=V > 0)
    return b_div * ratio[..., None], cap, V
