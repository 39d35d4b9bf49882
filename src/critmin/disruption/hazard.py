"""Hazard model: which export restrictions happen in a Monte Carlo run, how severe, how long.

Per hazard pair h = (commodity, country, stage) (a producer with at least
``disruption.hazard.min_share`` of world output at the stage, or a pair in the event history):

* prior rate   lambda0_h = lambda_bar * exp(-beta * wgi_h) / mean_h' exp(-beta * wgi_h')
  where lambda_bar = N_events / (Y * N_pairs) is the pooled historical rate (events per pair-year)
  and wgi_h the mean of the six WGI estimates of the country (latest year);
* posterior    lambda_h = (alpha + n_h) / (alpha / lambda0_h + Y)   (Gamma-Poisson, Gelman et al.
  2013 BDA sec. 2.6), n_h = distinct events of the pair in the history since ``history_start_year``;
* probability of an event starting within a horizon of T months: 1 - exp(-lambda_h * T / 12);
* severity (export cut) ~ Beta(severity_alpha, severity_beta); duration in months ~
  ceil(LogNormal(log(duration_median), duration_sigma)); start month ~ Uniform{1..T}.

An event recorded at a stage the simulator does not model for its commodity counts at the
commodity's supply stage (the hazard is per country and commodity). Sampled events target all
importers, except a share ``disruption.hazard.targeted_share`` aimed at one consumer (drawn
uniformly; those split the market into pools). Random numbers come from one ``SeedSequence`` child stream
per block of ``disruption.mc.block_size`` runs (spawn key = block index), so run ``r`` always
sees the same draws whatever the batch size or number of workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from critmin import settings
from critmin.disruption import params as _params  # noqa: F401  (registers the settings)
from critmin.disruption.market import OTHER, Market

log = logging.getLogger(__name__)

EVENTS_CSV = Path(__file__).parent / "data" / "export_restrictions.csv"


def load_event_history(path: str | Path = EVENTS_CSV) -> pd.DataFrame:
    """The curated event table (one row per event and commodity)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    required = {"event_id", "country_iso3", "commodity_id", "stage", "effective", "export_cut_estimate"}
    missing = required - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    bad = df[~df["stage"].isin(["mine", "processing"])]
    if len(bad):
        raise ValueError(f"{path}: line {bad.index[0] + 2}: stage: expected mine|processing, got {bad['stage'].iloc[0]!r}")
    return df


@dataclass(frozen=True)
class HazardModel:
    """Per-pair annual restriction rates (``[pair]`` arrays) and the sampling distributions."""

    commodity: tuple[str, ...]
    country: tuple[str, ...]
    stage: tuple[str, ...]
    n_events: np.ndarray
    prior_rate: np.ndarray
    rate: np.ndarray
    wgi: np.ndarray
    severity_alpha: float
    severity_beta: float
    duration_median: float
    duration_sigma: float
    years: int
    missing_wgi: tuple[str, ...] = ()
    #: share of sampled events aimed at one consumer (drawn uniformly among ``n_consumers``)
    targeted_share: float = 0.0
    n_consumers: int = 0

    @property
    def n_pairs(self) -> int:
        return len(self.country)

    def probability(self, horizon_months: int) -> np.ndarray:
        """P(at least one event starts within the horizon) per pair (Poisson arrivals)."""
        return 1.0 - np.exp(-self.rate * horizon_months / 12.0)

    def labels(self) -> list[str]:
        return [f"{c}:{p}:{s}" for c, p, s in zip(self.commodity, self.country, self.stage, strict=True)]


def calc_hazard_rates(
    n_events: np.ndarray, wgi: np.ndarray, years: int, prior_strength: float, wgi_beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Governance-scaled Gamma-Poisson rates (formulas in the module docstring).

    Returns ``(prior_rate, posterior_rate)`` per pair, events per year.
    """
    if years <= 0 or len(n_events) == 0:
        raise ValueError("need a positive observation window and at least one pair")
    lam_bar = max(float(n_events.sum()), prior_strength) / (years * len(n_events))
    g = np.exp(-wgi_beta * wgi)
    prior = lam_bar * g / g.mean()
    post = (prior_strength + n_events) / (prior_strength / prior + years)
    return prior, post


def build_hazard(
    market: Market,
    history: pd.DataFrame | None = None,
    governance: dict[str, float] | None = None,
) -> HazardModel:
    """Hazard pairs and rates for every commodity of ``market`` (settings in ``disruption.hazard.*``)."""
    hist = load_event_history() if history is None else history
    gov = market.meta.get("governance", {}) if governance is None else governance
    y0 = int(settings.get("disruption.hazard.history_start_year"))
    y1 = int(settings.get("disruption.hazard.as_of_year"))
    min_share = float(settings.get("disruption.hazard.min_share"))
    eff_year = pd.to_numeric(hist["effective"].str[:4], errors="coerce")
    hist = hist[(eff_year >= y0) & (eff_year <= y1)]
    # The hazard is per (country, commodity): an event recorded at a stage the simulator does not
    # model for that commodity (e.g. China's rare-earth processing controls, while rare earths are
    # supplied at the mine stage) counts at the commodity's supply stage instead of being lost.
    modelled = {
        cid: {cm.stage} | ({"mine"} if cm.stage == "processing" and len(cm.mine_producers) else set())
        for cid, cm in market.commodities.items()
    }
    hist = hist.assign(stage=[
        s if cid not in modelled or s in modelled[cid] else market.commodities[cid].stage
        for cid, s in zip(hist["commodity_id"], hist["stage"], strict=True)
    ])
    counts = hist.groupby(["commodity_id", "country_iso3", "stage"])["event_id"].nunique().to_dict()
    pairs: list[tuple[str, str, str]] = []
    for cid, cm in market.commodities.items():
        stages = [(cm.stage, cm.producers, cm.production_t)]
        if cm.stage == "processing" and len(cm.mine_producers):
            stages.append(("mine", cm.mine_producers, cm.mine_production_t))
        for stage, prods, q in stages:
            tot = float(np.sum(q))
            for p, v in zip(prods, q, strict=True):
                if v <= 0 or tot <= 0 or p == OTHER:  # 'Other countries' is nobody's policy
                    continue
                if v / tot >= min_share or (cid, p, stage) in counts:
                    pairs.append((cid, p, stage))
    if not pairs:
        raise ValueError("no hazard pairs: the market has no producers with production data")
    n = np.array([counts.get(pr, 0) for pr in pairs], dtype=float)
    missing = tuple(sorted({p for _, p, _ in pairs if p not in gov}))
    if missing:
        log.warning("no WGI score for %s: hazard prior uses WGI = 0 (world mean) for them", ", ".join(missing))
    wgi = np.array([float(gov.get(p, 0.0)) for _, p, _ in pairs])
    prior, rate = calc_hazard_rates(
        n, wgi, y1 - y0 + 1,
        float(settings.get("disruption.hazard.prior_strength")),
        float(settings.get("disruption.hazard.wgi_beta")),
    )
    return HazardModel(
        commodity=tuple(c for c, _, _ in pairs),
        country=tuple(p for _, p, _ in pairs),
        stage=tuple(s for _, _, s in pairs),
        n_events=n,
        prior_rate=prior,
        rate=rate,
        wgi=wgi,
        severity_alpha=float(settings.get("disruption.hazard.severity_alpha")),
        severity_beta=float(settings.get("disruption.hazard.severity_beta")),
        duration_median=float(settings.get("disruption.hazard.duration_median_months")),
        duration_sigma=float(settings.get("disruption.hazard.duration_sigma")),
        years=y1 - y0 + 1,
        missing_wgi=missing,
        targeted_share=float(settings.get("disruption.hazard.targeted_share")),
        n_consumers=len(market.consumers),
    )


def seed_entropy(random_state: int | np.random.Generator | np.random.SeedSequence) -> int:
    """An integer seed from ``random_state`` (an int is used as is; a Generator is drawn from)."""
    if isinstance(random_state, (bool, np.bool_)) or random_state is None:
        raise TypeError("random_state must be an int seed or a numpy Generator (explicit, never None)")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if isinstance(random_state, np.random.SeedSequence):
        return int(random_state.generate_state(2, dtype=np.uint64)[0])
    raise TypeError(f"random_state must be an int or numpy Generator, got {type(random_state).__name__}")


@dataclass(frozen=True)
class EventDraws:
    """Sampled events ``[run, pair]``: occurrence, cut (0 when no event), start month, duration."""

    occurred: np.ndarray
    cut: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    #: [run, pair] the consumer index an event is aimed at, -1 = all importers (or no event)
    target: np.ndarray | None = None


def sample_block(hz: HazardModel, seed: int, block: int, block_size: int, horizon: int) -> EventDraws:
    """Draw the events of one block of runs from its own stream (spawn key = block index)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    shape = (block_size, hz.n_pairs)
    u = rng.random(shape)
    sev = rng.beta(hz.severity_alpha, hz.severity_beta, shape)
    dur = np.ceil(rng.lognormal(np.log(hz.duration_median), hz.duration_sigma, shape))
    start = rng.integers(1, horizon + 1, shape)
    occ = u < hz.probability(horizon)[None, :]
    target = np.full(shape, -1, dtype=np.int64)
    if hz.targeted_share > 0 and hz.n_consumers > 0:
        # drawn after the other draws (so occurrence, cut, start and duration stay as they were),
        # one aim per event that occurred, in row-major order
        n_occ = int(occ.sum())
        aimed = rng.random(n_occ) < hz.targeted_share
        who = rng.integers(0, hz.n_consumers, n_occ)
        target[occ] = np.where(aimed, who, -1)
    return EventDraws(
        occurred=occ,
        cut=np.where(occ, sev, 0.0),
        start=start.astype(np.int64),
        duration=np.clip(dur, 1, 10 * 12).astype(np.int64),
        target=target,
    )


def sample_runs(hz: HazardModel, seed: int, first_run: int, n_runs: int, block_size: int, horizon: int) -> EventDraws:
    """Events of runs ``first_run .. first_run + n_runs - 1`` (any range; blocks are cut as needed)."""
    b0, b1 = first_run // block_size, (first_run + n_runs - 1) // block_size
    parts = [sample_block(hz, seed, b, block_size, horizon) for b in range(b0, b1 + 1)]
    off = first_run - b0 * block_size
    sl = slice(off, off + n_runs)
    return EventDraws(
        *(np.concatenate([getattr(p, f) for p in parts])[sl] for f in ("occurred", "cut", "start", "duration",
                                                                          "target"))
    )
