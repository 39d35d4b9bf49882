"""Exposure of a consumer country: net import reliance, import concentration, governance of
its suppliers. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from critmin.risk.concentration import calc_hhi

__all__ = [
    "NIR",
    "calc_import_hhi",
    "calc_import_shares",
    "calc_net_import_reliance",
    "calc_non_allied_share",
    "calc_stage_nir",
    "calc_stage_nir_bound",
    "calc_supplier_governance_risk",
    "nir_from_mcs",
]


@dataclass(frozen=True)
class NIR:
    """Net import reliance as a fraction, keeping the published codes explicit.

    * ``value``: the number (fraction of apparent consumption), or None when the source only
      gives a code or a bound;
    * ``flag``: None for a plain number; ``'E'`` net exporter (NIR < 0, ``hi = 0``);
      ``'>'``/``'<'`` bounded (``lo``/``hi``); ``'computed'`` from trade;
      ``'W'``/``'NA'`` withheld / not available (then ``usable`` is None);
    * ``text``: the cell as published (e.g. ``'>75'``, ``'E'``) or a formula note;
    * ``source``: where it comes from (e.g. ``'MCS2025 salient NIR_pct'``);
    * ``net_export_ratio``: for a net exporter computed from trade (``flag 'E'``), the net
      exports as a share of the consumer's production, ``(X - M) / P`` (above 1 when the
      recorded exports exceed production plus imports); never folded into ``value``.

    ``value``, ``lo`` and ``hi`` are always fractions in [0, 1] (or None): a net exporter is
    the code ``E``, never a negative reliance (checked at construction).

    :attr:`usable` is the single number the composite indices use: the value itself; for a
    bound, the published bound (``'>75'`` -> 0.75, ``'<25'`` -> 0.25); for ``'E'`` 0 (a net
    exporter has no net reliance on imports); negative computed values are clipped to 0 and
    values above 1 (stock draw-downs) to 1. None when there is no number at all.
    """

    value: float | None
    flag: str | None
    lo: float | None
    hi: float | None
    text: str
    source: str
    #: (dataset_id, source_line) of the published cell, where the value is one cell
    ref: tuple[int, int] | None = None
    net_export_ratio: float | None = None

    def __post_init__(self) -> None:
        for name in ("value", "lo", "hi"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and -1e-9 <= v <= 1.0 + 1e-9):
                raise ValueError(f"NIR.{name} must be a fraction in [0, 1] or None, got {v!r} ({self.text})")
        if self.flag == "E" and self.value is not None:
            raise ValueError(f"NIR: a net exporter (flag E) carries no reliance value, got {self.value!r}")

    @property
    def usable(self) -> float | None:
        if self.value is not None:
            return min(1.0, max(0.0, self.value))
        if self.flag == "E":
            return 0.0
        if self.flag == ">" and self.lo is not None:
            return min(1.0, self.lo)
        if self.flag == "<" and self.hi is not None:
            return max(0.0, self.hi)
        return None

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "flag": self.flag, "lo": self.lo, "hi": self.hi, "text": self.text,
                "source": self.source, "ref": list(self.ref) if self.ref is not None else None,
                "net_export_ratio": self.net_export_ratio, "usable": self.usable}


def nir_from_mcs(
    quantity: float | None,
    flag: str | None,
    bound_lo: float | None,
    bound_hi: float | None,
    value_raw: str,
    source: str,
    ref: tuple[int, int] | None = None,
) -> NIR:
    """A US NIR from an MCS cell (salient ``NIR_pct``, T5 or Fig2), percent -> fraction.

    ``E`` (net exporter) and ``>x``/``<x`` bounds stay explicit (USGS MCS 2025, Appendix:
    "E Net exporter", ">" greater than). Source: USGS MCS salient statistics and T5/Fig2.
    """
    text = "" if value_raw is None else str(value_raw).strip()

    def _pct(x: float | None) -> float | None:
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x) / 100.0

    q = _pct(quantity)
    f = None if flag is None or (isinstance(flag, float) and math.isnan(flag)) else str(flag)
    if text.upper() == "E" or f == "E" or (q is not None and q < 0):
        return NIR(None, "E", None, 0.0, text or "E", source, ref)
    if q is not None and q > 1.0:  # a stock draw-down can push the published figure above 100 %
        q = 1.0
    if q is not None and f in (None, "estimated", "footnote"):
        return NIR(q, None, None, None, text, source, ref)
    lo, hi = _pct(bound_lo), _pct(bound_hi)
    lo = None if lo is None else min(1.0, max(0.0, lo))
    hi = None if hi is None else min(1.0, max(0.0, hi))
    if f == ">" or (text.startswith(">") and lo is not None):
        return NIR(None, ">", lo, 1.0, text, source, ref)
    if f == "<" or (text.startswith("<") and hi is not None):
        return NIR(None, "<", 0.0, hi, text, source, ref)
    if q is not None:
        return NIR(q, f, lo, hi, text, source, ref)
    return NIR(None, f or "NA", lo, hi, text, source, ref)


def calc_net_import_reliance(
    imports: float, exports: float, production: float, stock_change: float = 0.0
) -> float:
    """Net import reliance as a fraction of apparent consumption.

    Formula: ``NIR = (M - X) / (P + M - X)`` (optionally ``+ stock change`` in the
    apparent consumption as USGS does; 0 here unless given).

    Source: USGS MCS, "net import reliance as a percentage of apparent consumption"; the same
    formula is the import reliance ``IR`` of JRC (2017) section 3.2.3.
    Negative values mean a net exporter. Raises ``ValueError`` for a non-positive apparent
    consumption (the ratio is then undefined).
    """
    for name, v in (("imports", imports), ("exports", exports), ("production", production)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
    consumption = production + imports - exports + stock_change
    if consumption <= 0:
        raise ValueError(
            f"apparent consumption P + M - X = {consumption:g} <= 0: NIR undefined"
        )
    return (imports - exports) / consumption


def calc_stage_nir(
    production: float,
    imports: float,
    exports: float,
    *,
    feed_demand: float = 0.0,
    uses_commodity: bool = True,
    source: str = "",
) -> NIR:
    """Net import reliance of a consumer at one value-chain stage, on contained metal.

    ``production`` ``P`` is the consumer's own output at the stage, ``imports``/``exports``
    ``M``/``X`` its trade in the stage's products (contained metal), and
    ``feed_demand`` ``F`` the feed its own next stage needs (that stage's output: recovery <= 1).

    * ``P = 0``: the stage is not performed at home, so all the consumer uses of the stage's
      products comes from abroad: ``NIR = 1`` (flag ``no_domestic_stage``) whenever it uses the
      commodity (``uses_commodity``: imports at this or another stage, or own downstream
      output); exports then are re-exports (said in ``text``). A consumer's output at one stage
      (US rare-earth concentrate) is secure supply only at that stage.
    * ``P > 0``: apparent consumption ``C = max(P + M - X, F)``: a consumer whose next stage
      needs more feed than production plus net imports provide imports it in forms the trade
      data do not attribute to the commodity (Japan's cobalt refineries run on imported
      nickel-cobalt matte), flag ``mass_balance``. ``NIR = (C - P) / C`` clipped to [0, 1];
      ``X > M`` without such a gap is a net exporter: code ``E`` with
      ``net_export_ratio = (X - M) / P``.

    Source: USGS MCS net import reliance ``(M - X) / (P + M - X)`` (the JRC 2017 ``IR``) at
    each stage; the stage-by-stage reading follows JRC (2017) section 3.2 (supply risk at
    extraction and at processing). Raises ``ValueError`` (the reason) when ``P = 0`` and the
    consumer neither imports nor uses the commodity.
    """
    for name, v in (("production", production), ("imports", imports), ("exports", exports),
                    ("feed_demand", feed_demand)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
    p, m, x, f = float(production), float(imports), float(exports), float(feed_demand)
    flows = f"P={p:g} t, M={m:g} t, X={x:g} t" + (f", own next stage F={f:g} t" if f > 0 else "")
    if p <= 0:
        if not (m > 0 or f > 0 or uses_commodity):
            raise ValueError(f"no production, imports or use of the commodity at this stage ({flows})")
        note = ("; exports above imports without production (re-exports, residues or secondary output)"
                if x >= m and x > 0 else "")
        return NIR(1.0, "no_domestic_stage", None, None,
                   f"stage not performed at home: all supply imported ({flows}){note}", source)
    c = p + m - x
    if f > max(c, 0.0):
        v = min(1.0, max(0.0, (f - p) / f))
        if v > 0:
            return NIR(v, "mass_balance", None, None,
                       f"(F-P)/F = ({f:g}-{p:g})/{f:g}: own next stage needs more feed than P+M-X ({flows})",
                       source)
    if x > m:
        return NIR(None, "E", None, 0.0, f"E ({flows})", source, net_export_ratio=(x - m) / p)
    v = (m - x) / c if c > 0 else (1.0 if m > x else 0.0)  # c <= 0 only by rounding (P tiny)
    return NIR(min(1.0, max(0.0, v)), "computed", None, None,
               f"(M-X)/(P+M-X) = ({m:g}-{x:g})/({p:g}+{m:g}-{x:g}) ({flows})", source)


def calc_stage_nir_bound(production: float, imports: float, *, source: str = "") -> NIR:
    """Upper bound of a consumer's NIR at a stage it performs at home when only its imports are
    recorded: ``NIR <= M / (P + M)`` (the value at ``X = 0``; exports only lower it), kept as
    the bound ``'<'`` (``hi``), the convention of the MCS's ``<x`` cells (:attr:`NIR.usable`).

    Source: the NIR formula of :func:`calc_net_import_reliance` with ``X >= 0``. Raises
    ``ValueError`` for non-positive production or negative imports."""
    if not (math.isfinite(production) and production > 0):
        raise ValueError(f"production must be finite and > 0, got {production!r}")
    if not (math.isfinite(imports) and imports >= 0):
        raise ValueError(f"imports must be finite and >= 0, got {imports!r}")
    hi = imports / (production + imports)
    return NIR(None, "<", 0.0, hi, f"<{100 * hi:.0f} (M/(P+M) = {imports:g}/({production:g}+{imports:g}); "
               "imports only)", source)


def calc_import_shares(imports_by_partner: Mapping[str, float]) -> dict[str, float]:
    """Import-source shares ``m_c = M_c / Σ M``; partners with 0 are dropped.

    Raises ``ValueError`` for negative flows or when total imports are 0.
    """
    for c, v in imports_by_partner.items():
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"import flow from {c!r} must be finite and >= 0, got {v!r}")
    total = float(sum(imports_by_partner.values()))
    if total <= 0:
        raise ValueError("no imports: import shares undefined")
    return {c: v / total for c, v in imports_by_partner.items() if v > 0}


def calc_import_hhi(import_shares: Mapping[str, float]) -> float:
    """HHI of a consumer's import sources, 0-10,000: ``Σ_c (100 · m_c)²``.

    Source: as :func:`critmin.risk.concentration.calc_hhi`; import-source concentration is
    used e.g. in JRC (2017) for the EU sourcing mix.
    """
    return calc_hhi(import_shares.values())


def calc_non_allied_share(import_shares: Mapping[str, float], allied: Iterable[str]) -> float:
    """Share of imports from outside the alliance: ``Σ_{c ∉ A} m_c``."""
    a = set(allied)
    return float(sum(s for c, s in import_shares.items() if c not in a))


def calc_supplier_governance_risk(
    import_shares: Mapping[str, float], wgi_unit: Mapping[str, float]
) -> float:
    """Import-weighted governance risk of the suppliers, 0-1 (1 = all imports from the worst
    governed countries).

    Formula: ``Σ_c m_c · g_c`` with ``m_c`` the import share of partner ``c`` and ``g_c`` its
    WGI rescaled to 0-1 (``(2.5 - est) / 5``, 1 worst).

    Source: the "weighted trade" term of the GeoPolRisk method, Gemechu et al. (2016) J. Ind.
    Ecol. 20(1):154-165, and Koyamparambath et al. (2022) Resources Policy 75:102465 /
    geopolrisk-py: ``GeoPolRisk = HHI · Σ_c g_c · F_c / (P + Σ F)``. We report the term
    normalised to imports (``Σ F``), not to domestic supply, because domestic production
    and traded tonnages are not in the same units for most commodities (see
    docs/methodology.md). A partner without a WGI raises ``KeyError`` naming it.
    """
    total = 0.0
    for c, m in import_shares.items():
        if m <= 0:
            continue
        if c not in wgi_unit:
            raise KeyError(f"no WGI for supplier {c!r} (import share {m:.3f})")
        total += m * float(wgi_unit[c])
    return total
