"""The value chain of a commodity as the assessment sees it: which stages have data, the supply
used at each stage for an assessment year (the newest year with data, flagged with its age),
and a consumer's net import reliance at each stage.

Stages come in the order of the setting ``risk.stages`` (mine -> processing -> metal ->
component, where the data exist); the supply at each stage is decided by
:func:`critmin.data.supply.select_stages` (this module only picks the year). A consumer's own
output is secure supply only at the stages it performs at home
(:func:`critmin.risk.exposure.calc_stage_nir`).
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from critmin import settings
from critmin.data.supply import NoStageSupply, StageSupply
from critmin.risk import params  # noqa: F401  (registers the risk settings)
from critmin.risk.exposure import NIR, calc_stage_nir, calc_stage_nir_bound

__all__ = [
    "MAX_DATA_AGE",
    "MCS_STAGE_NIR",
    "OwnStage",
    "byproduct_hosts",
    "StageTrade",
    "StageView",
    "chain_stages",
    "own_at",
    "stage_nirs",
    "stage_of_trade_group",
    "stage_views",
]

MAX_DATA_AGE = settings.register(
    "risk.max_data_age_years",
    10,
    "A stage without data for the assessment year uses its newest earlier year, at most this "
    "many years old (the age is flagged and lowers the data-quality grade); older data are not used.",
    "Project choice (issue 12: 'a commodity with no data for the year uses its latest year, "
    "flagged with its age'); ten years keeps the 2018 NdFeB magnet shares for 2024 (grade D).",
)
RESIDUAL_FLAG = settings.register(
    "risk.residual_share_flag",
    0.2,
    "A stage whose shares leave more than this part of world output unattributed to a country "
    "is flagged (residual; data-quality grade B at best).",
    "Project choice: the curated processing shares often name only the leading country.",
)

#: the MCS NIR variable that measures a given stage, where the MCS publishes one per stage
#: (salient commodity, variable); elsewhere the commodity's NIR applies at every stage.
#: Source: USGS MCS 2025 salient statistics (rare earths: concentrate / compounds and metals;
#: zinc: ores / refined; bauxite: bauxite / alumina; titanium: sponge metal).
MCS_STAGE_NIR: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("rare_earths", "mine"): (("rare_earths", "NIR_Concentrate_t"), ("rare_earths", "NIR_Concentrate_pct")),
    ("rare_earths", "processing"): (("rare_earths", "NIR_Compounds-Metals_t"),
                                    ("rare_earths", "NIR_Compounds-Metals_pct")),
    ("zinc", "mine"): (("zinc", "NIR_Ores_pct"),),
    ("zinc", "processing"): (("zinc", "NIR_Refined_pct"),),
    ("bauxite", "mine"): (("bauxite", "Bauxite_NIR_pct"),),
    ("bauxite", "processing"): (("bauxite", "Alumina_NIR_pct"),),
    ("titanium", "processing"): (("titanium", "NIR_Sponge_pct"),),
}

#: production sources that are statistics (anything else, e.g. CURATED, is a curated estimate)
STATISTICAL_SOURCES = ("USGS", "WMD", "IEA")

#: trade stage groups of the HS map and the chain stage they belong to (others: the same name)
TRADE_GROUP_STAGE = {"extraction": "mine", "processing": "processing"}


def stage_of_trade_group(group: str) -> str:
    """Chain stage of an HS-map stage group (``extraction`` -> ``mine``)."""
    return TRADE_GROUP_STAGE.get(str(group), str(group))


def chain_stages() -> tuple[str, ...]:
    """The chain stages in order (setting ``risk.stages``)."""
    return tuple(settings.get("risk.stages"))


@dataclass(frozen=True)
class StageView:
    """The supply used at one stage for an assessment year."""

    stage: str
    supply: StageSupply
    year: int  #: the year of the data used
    age: int  #: assessment year minus ``year``
    flags: tuple[str, ...] = ()
    #: a by-product's mine stage is its host's mine supply (:func:`byproduct_hosts`): the host id
    host: str | None = None


@lru_cache(maxsize=1)
def byproduct_hosts() -> dict[str, tuple[str, str]]:
    """Commodity -> (host commodity, relation) (``risk/data/byproduct_hosts.csv``, each row
    with its source): a commodity without mine production of its own is fed by its host's
    mines, so its mine stage is the host's mine supply. ``byproduct``: recovered from the host's
    ores (Nassar, Graedel & Harper 2015, Sci. Adv. 1:e1400180, "By-product metals are
    technologically essential but have problematic supply"); ``feed``: the host is the mineral
    the commodity is made from, kept as another catalogue commodity (titanium minerals for
    titanium sponge)."""
    path = resources.files("critmin.risk") / "data" / "byproduct_hosts.csv"
    out: dict[str, tuple[str, str]] = {}
    with path.open(encoding="utf-8") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            for col in ("commodity_id", "host_id", "relation", "source"):
                if not (r.get(col) or "").strip():
                    raise ValueError(f"{path}: line {i}: column {col}: empty")
            if r["relation"].strip() not in ("byproduct", "feed"):
                raise ValueError(f"{path}: line {i}: column relation: expected byproduct or feed, got {r['relation']!r}")
            out[r["commodity_id"].strip()] = (r["host_id"].strip(), r["relation"].strip())
    return out


def _supply_flags(sup: StageSupply, age: int) -> list[str]:
    flags = []
    if age > 0:
        flags.append(f"latest_year:{age}: {sup.stage} data of {sup.year} ({age} year(s) before the assessment year)")
    if sup.source not in STATISTICAL_SOURCES:
        flags.append(f"curated: {sup.stage} shares from {sup.source} ({sup.product or sup.source_stage})")
    sh = sup.shares
    if sh is not None and sh.residual_share > float(settings.get("risk.residual_share_flag")):
        flags.append(f"residual: {sup.stage} {sh.residual_share:.0%} of world output not attributed to a country")
    return flags


def stage_views(supplies: Mapping[tuple[str, str, int], StageSupply], year: int,
                stages: Sequence[str] | None = None) -> dict[str, dict[str, StageView]]:
    """commodity -> stage -> the supply used for ``year``: that year's, else the newest earlier
    year with country shares within ``risk.max_data_age_years`` (flagged ``latest_year``)."""
    order = tuple(stages if stages is not None else chain_stages())
    max_age = int(settings.get("risk.max_data_age_years"))
    best: dict[tuple[str, str], StageSupply] = {}
    for (cid, st, y), sup in supplies.items():
        if y > year or year - y > max_age or sup.shares is None or st not in order:
            continue
        cur = best.get((cid, st))
        if cur is None or y > cur.year:
            best[(cid, st)] = sup
    out: dict[str, dict[str, StageView]] = {}
    for (cid, st), sup in best.items():
        age = year - sup.year
        out.setdefault(cid, {})[st] = StageView(st, sup, sup.year, age, tuple(_supply_flags(sup, age)))
    if "mine" in order:
        for cid, (host, relation) in byproduct_hosts().items():
            hv = out.get(host, {}).get("mine")
            if hv is None or "mine" in out.get(cid, {}):
                continue
            what = "a by-product of" if relation == "byproduct" else "made from"
            out.setdefault(cid, {})["mine"] = StageView(
                "mine", hv.supply, hv.year, hv.age,
                (*hv.flags, f"byproduct_host: {cid} is {what} {host}: its mine stage is the {host} mine supply"), host)
    rank = {s: i for i, s in enumerate(order)}
    return {c: dict(sorted(v.items(), key=lambda kv: rank[kv[0]])) for c, v in out.items()}


class OwnStage(NamedTuple):
    """A consumer's own output at a stage, in t (None: coded or not a mass; ``note`` why)."""

    quantity_t: float | None
    note: str
    source: str
    #: the source does not name the consumer while it leaves a residual: not reported (``quantity_t``
    #: None); :func:`stage_nirs` reads it as no output at the stage, flagged ``not_named``
    not_named: bool = False


def own_at(sup: StageSupply, consumer: str) -> OwnStage:
    """The consumer's production in the supply used at a stage, by the one rule of
    :meth:`critmin.data.supply.StageSupply.partner`: 0 only where the source's named countries
    account for world output; a consumer the source does not name while it leaves a residual
    ('Other countries', IEA 'Rest of world') is not reported (None, the note says so), as is a
    coded cell, a share (curated sources) or a unit that is not a mass."""
    fig = sup.partner(consumer)
    if fig.status == "reported" and sup.source not in STATISTICAL_SOURCES:
        sh = sup.shares
        return OwnStage(None, f"{sup.source} gives a share ({100 * (sh.shares.get(consumer, 0) if sh else 0):.0f}%),"
                        " not a quantity", sup.source)
    if fig.quantity is None:
        # a curated table names only the leading countries (shares): a partner it leaves out is not usable
        return OwnStage(None, fig.note, sup.source, fig.status == "not_named" and sup.source in STATISTICAL_SOURCES)
    if fig.status == "nil":
        return OwnStage(0.0, fig.note, sup.source)
    try:
        return OwnStage(fig.quantity * sup.to_t, "", sup.source)
    except NoStageSupply:
        return OwnStage(None, f"production in {sup.unit!r}, not a mass", sup.source)


@dataclass
class StageTrade:
    """A consumer's trade in the products of one stage in one year: imports and exports in t
    (contained metal), the HS codes behind them, and why unusable."""

    imports_t: float | None
    exports_t: float | None
    basis: str  #: what the tonnes measure ('contained metal', 'imports only, HS 8112')
    reason: str | None = None
    codes: tuple[str, ...] = field(default_factory=tuple)


def stage_nirs(
    chain: Sequence[str],
    own: Mapping[str, OwnStage],
    trade: Mapping[str, StageTrade],
    use_evidence: Collection[str],
    source: str,
    hosts: Sequence[str] = (),
) -> tuple[dict[str, NIR], dict[str, list[str]], dict[str, str]]:
    """A consumer's NIR at each stage of ``chain`` (:func:`calc_stage_nir`), the flags and the
    reasons for stages without one.

    ``own`` holds the consumer's output at each stage, ``trade`` its trade at the stages that
    have flows (``exports_t`` None: imports only, which bound the NIR from above where the
    consumer produces, :func:`calc_stage_nir_bound`); the feed demand at a stage is the
    consumer's output at the next stage, except at ``hosts`` stages (a by-product's host
    supply, in the host's units). ``use_evidence`` says how the consumer is known to use the
    commodity: ``'trade'`` (recent imports of it at some stage), ``'list'`` (its own
    critical-minerals list names it). At a stage it does not perform at home, exports above
    imports mean a supply the production data do not show: the consumer reads as a net
    exporter (``E``) unless its own list declares the commodity, when the exports are taken as
    residue or secondary streams (Japan's antimony and molybdenum ores) and the NIR stays 1."""
    nirs: dict[str, NIR] = {}
    flags: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    for i, st in enumerate(chain):
        o = own.get(st, OwnStage(0.0, "no data", ""))
        nxt = own.get(chain[i + 1]) if i + 1 < len(chain) and st not in hosts else None
        feed = nxt.quantity_t if nxt is not None and nxt.quantity_t is not None else 0.0
        t = trade.get(st)
        if (t is not None and t.reason is None and t.imports_t is not None and t.exports_t is None
                and o.quantity_t is not None and o.quantity_t > 0):
            try:
                nirs[st] = calc_stage_nir_bound(o.quantity_t, t.imports_t,
                                                source=f"{source} {st} ({t.basis}); {o.source} production")
            except ValueError as e:
                reasons[st] = f"{st}: {e}"
                continue
            flags[st] = [f"imports_only: {st} NIR bounded from above by M/(P+M) (no exports recorded)"]
            continue
        usable = t is not None and t.reason is None and t.imports_t is not None and t.exports_t is not None
        fl: list[str] = []
        if o.quantity_t is None and not o.not_named:
            reasons[st] = f"{st}: own production not usable ({o.note})"
            continue
        p = 0.0 if o.quantity_t is None else float(o.quantity_t)
        if o.not_named:  # not reported, not nil: the NIR below holds only if the partner has no output here
            fl.append(f"{o.note}; read as no {st} output")
        # with no own output the NIR is 1 whatever the tonnages; they are shown where recorded
        m = float(t.imports_t or 0.0) if t is not None and (usable or p <= 0) else 0.0
        x = float(t.exports_t or 0.0) if t is not None and (usable or p <= 0) else 0.0
        if p > 0 and not usable:
            why = t.reason if t is not None and t.reason else "no trade recorded at this stage"
            reasons[st] = f"{st}: {why} (own production {p:g} t)"
            continue
        if p <= 0:
            recorded = t is not None and (m > 0 or x > 0)
            if recorded and x > m and feed <= 0:
                if "list" not in use_evidence:  # a net exporter of what it does not produce
                    nirs[st] = NIR(None, "E", None, 0.0, f"E (P=0 t, M={m:g} t, X={x:g} t): net exporter without "
                                   "recorded production (secondary or by-product supply)",
                                   f"{source} {st} tonnages ({t.basis if t else ''}); {o.source or 'no'} production")
                    flags[st] = [*fl, f"unrecorded_supply: {st} exports exceed imports without recorded production: "
                                 "read as a net exporter (secondary or by-product supply)"]
                    continue
                fl.append(f"unrecorded_supply: {st} exports exceed imports without recorded production; the "
                          "partner's own critical-minerals list names the commodity: the exports are read as "
                          "residue or secondary streams and the NIR as 1")
            elif recorded and m > 0:
                pass  # the stage is not performed at home and its products are imported
            elif feed > 0 or "trade" in use_evidence:
                fl.append(f"no_stage_trade: {st} not performed at home and no {st} trade recorded: NIR 1 inferred")
            elif "list" in use_evidence:
                fl.append(f"use_from_list: {st} not performed at home, no trade recorded; the partner's own "
                          "critical-minerals list names the commodity: NIR 1 inferred")
            else:
                reasons[st] = f"{st}: no production, imports or use of the commodity recorded"
                continue
        try:
            n = calc_stage_nir(p, m, x, feed_demand=feed, uses_commodity=True,
                               source=f"{source} {st}" + (f" tonnages ({t.basis})" if usable and t is not None else "")
                               + f"; {o.source or 'no'} production" + (f" ({o.note})" if o.note else ""))
        except ValueError as e:
            reasons[st] = f"{st}: {e}"
            continue
        if n.flag == "mass_balance":
            fl.append(f"mass_balance: {st} apparent consumption raised to the feed of the consumer's next stage")
        nirs[st] = n
        flags[st] = fl
    return nirs, flags, reasons
