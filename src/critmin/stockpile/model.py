"""The two-stage stochastic LP, built as one sparse matrix and solved with HiGHS (highspy).

Steps, in order: :func:`define_variables` (column layout) -> :func:`build_lp` (costs, bounds,
rows as COO triplets, all vectorised over scenarios) -> :func:`solve_lp` (HiGHS, status
checked) -> :func:`read_back` (arrays with named dimensions).

Notation (see docs/stockpile.md for the full formulation): commodities c, partners k,
scenarios s with probability w_s, shortfall d_sck. First stage x_ck >= 0 (t held).
Second stage per scenario: release r_sck and transfers y_scl on links l = (i -> j); the unmet
shortfall u_sck = d_sck - r_sck - sum_{l -> k} y_scl >= 0 is substituted out (its loss
l_c * d_sck becomes a constant: the objective offset and the CVaR rows' right-hand side), which
removes a third of the second-stage columns and, in independent mode, every cover row.
CVaR (Rockafellar & Uryasev 2000) by eta_g and z_sg >= L_sg - eta_g, one loss group g for the
joint loss (coordinated) or one per partner (independent).

Only (scenario, commodity) blocks with a positive shortfall for some partner get second-stage
columns: elsewhere the second stage is empty (zero loss), so dropping them changes nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from critmin.stockpile.problem import StockpileProblem, StockpileSolveError

log = logging.getLogger(__name__)
INF = highspy.kHighsInf


@dataclass(frozen=True)
class VariableIndex:
    """Column layout: offsets of each variable family and the active (scenario, commodity)."""

    n_commodity: int
    n_partner: int
    n_scenario: int
    s_a: np.ndarray  # [active block] scenario of each active block
    c_a: np.ndarray  # [active block] commodity of each active block
    links: tuple[tuple[int, int], ...]  # (from, to) partner pairs, transfers only
    n_group: int
    o_r: int
    o_y: int
    o_eta: int
    o_z: int
    n_col: int
    has_cvar: bool

    @property
    def n_active(self) -> int:
        return int(self.s_a.size)

    def x(self, c: np.ndarray, k: np.ndarray | int) -> np.ndarray:
        return np.asarray(c) * self.n_partner + np.asarray(k)


@dataclass
class BuiltLP:
    """Arrays ready for ``Highs.passModel`` plus the row families' positions."""

    index: VariableIndex
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: sp.csc_matrix
    budget_rows: dict[int, int]  # partner -> row
    joint_row: int | None
    row_families: dict[str, tuple[int, int]]  # name -> (first row, n rows)
    offset: float = 0.0  # constant E[sum l d] of the objective (u substituted out)
    build_seconds: float = 0.0


@dataclass
class RawSolution:
    status: str
    objective: float
    col_value: np.ndarray
    row_dual: np.ndarray
    solve_seconds: float
    simplex_iterations: int


def define_variables(p: StockpileProblem) -> VariableIndex:
    """Lay out the columns: x, then r and u per active block and partner, y per link, CVaR."""
    S, C, K = p.shortfall_t.shape
    active = np.flatnonzero(p.shortfall_t.reshape(S * C, K).max(axis=1) > 0)
    s_a, c_a = active // C, active % C
    A = active.size
    links = (
        tuple((i, j) for i in range(K) for j in range(K) if i != j) if p.transfers_enabled else ()
    )
    G = 1 if p.mode == "coordinated" else K
    has_cvar = p.risk_aversion > 0
    o_r = C * K
    o_y = o_r + A * K
    o_eta = o_y + A * len(links)
    o_z = o_eta + (G if has_cvar else 0)
    n_col = o_z + (S * G if has_cvar else 0)
    return VariableIndex(C, K, S, s_a, c_a, links, G, o_r, o_y, o_eta, o_z, n_col, has_cvar)


class _Rows:
    """Accumulates rows as COO triplets, family by family."""

    def __init__(self) -> None:
        self.n = 0
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.families: dict[str, tuple[int, int]] = {}

    def family(self, name: str, lower: np.ndarray, upper: np.ndarray) -> int:
        first = self.n
        self.families[name] = (first, lower.size)
        self.lower.append(lower.astype(float))
        self.upper.append(upper.astype(float))
        self.n += lower.size
        return first

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows = np.asarray(rows, dtype=np.int64).ravel()
        self.rows.append(rows)
        self.cols.append(np.asarray(cols, dtype=np.int64).ravel())
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=float), rows.shape).ravel())


def build_lp(p: StockpileProblem) -> BuiltLP:
    """Costs, bounds and the constraint matrix of the programme (no Python loop over scenarios)."""
    t0 = time.perf_counter()
    ix = define_variables(p)
    C, K, S, A = ix.n_commodity, ix.n_partner, ix.n_scenario, ix.n_active
    s_a, c_a = ix.s_a, ix.c_a
    d_a = p.shortfall_t[s_a, c_a, :]  # [A, K]
    w_a = p.weights[s_a]
    ak = np.arange(A * K)
    a_of, k_of = ak // K, ak % K
    x_of_ak = ix.x(c_a[a_of], k_of)  # x column of each (a, k)

    # ---- columns: cost and bounds
    cost = np.zeros(ix.n_col)
    lo = np.zeros(ix.n_col)
    hi = np.full(ix.n_col, INF)
    cost[: C * K] = np.repeat(p.holding_usd_per_t_yr, K)
    if p.fixed_stock_t is not None:
        lo[: C * K] = hi[: C * K] = p.fixed_stock_t.ravel()
    loss_ak = p.loss_ck[c_a, :]  # [A, K]: the loss per unmet ton of each partner
    # u = d - r - y_in: each released ton saves the holder's l, each lent ton the recipient's l - tau
    cost[ix.o_r + ak] = -(w_a[:, None] * loss_ak).ravel()
    hi[ix.o_r + ak] = d_a.ravel()
    offset = float(np.sum(w_a[:, None] * loss_ak * d_a))
    L = len(ix.links)
    for li, (_i, j) in enumerate(ix.links):
        cols = ix.o_y + np.arange(A) * L + li
        cost[cols] = -w_a * (loss_ak[:, j] - p.transfer_cost_usd_per_t[c_a])
        hi[cols] = p.transfer_cover * d_a[:, j]
    if ix.has_cvar:
        cost[ix.o_eta : ix.o_eta + ix.n_group] = p.risk_aversion
        lo[ix.o_eta : ix.o_eta + ix.n_group] = -INF
        cost[ix.o_z :] = np.repeat(p.risk_aversion * p.weights / (1.0 - p.alpha), ix.n_group)

    # ---- rows
    R = _Rows()
    budget_rows: dict[int, int] = {}
    unit_cost = p.unit_cost_usd_per_t
    if p.fixed_stock_t is None:
        for k in np.flatnonzero(np.isfinite(p.budgets_usd)):
            r0 = R.family(f"budget[{p.partners[k]}]", np.array([-INF]), p.budgets_usd[[k]])
            R.add(np.full(C, r0), ix.x(np.arange(C), int(k)), unit_cost)
            budget_rows[int(k)] = r0
    joint_row = None
    if p.fixed_stock_t is None and np.isfinite(p.joint_budget_usd):
        joint_row = R.family("budget[joint]", np.array([-INF]), np.array([p.joint_budget_usd]))
        R.add(np.full(C * K, joint_row), np.arange(C * K), np.repeat(unit_cost, K))

    if L:
        # cover (u >= 0): r + sum_{l: to=k} y <= d; without transfers the bound r <= d says it
        r0 = R.family("cover", np.full(A * K, -INF), d_a.ravel())
        R.add(r0 + ak, ix.o_r + ak, 1.0)
        for li, (_i, j) in enumerate(ix.links):
            R.add(r0 + np.arange(A) * K + j, ix.o_y + np.arange(A) * L + li, 1.0)
    # stock: r + sum_{l: from=k} y - x <= 0
    r0 = R.family("stock", np.full(A * K, -INF), np.zeros(A * K))
    R.add(r0 + ak, ix.o_r + ak, 1.0)
    R.add(r0 + ak, x_of_ak, -1.0)
    for li, (i, _j) in enumerate(ix.links):
        R.add(r0 + np.arange(A) * K + i, ix.o_y + np.arange(A) * L + li, 1.0)
    if L and p.lendable_share < 1.0:
        # lendable share: sum_{l: from=k} y - theta x <= 0
        r0 = R.family("lend", np.full(A * K, -INF), np.zeros(A * K))
        R.add(r0 + ak, x_of_ak, -p.lendable_share)
        for li, (i, _j) in enumerate(ix.links):
            R.add(r0 + np.arange(A) * K + i, ix.o_y + np.arange(A) * L + li, 1.0)
    if L and K > 2:
        # lead time: sum_{l: to=k} y <= phi d (for K = 2 the column bound already says it)
        r0 = R.family("lead_time", np.full(A * K, -INF), p.transfer_cover * d_a.ravel())
        for li, (_i, j) in enumerate(ix.links):
            R.add(r0 + np.arange(A) * K + j, ix.o_y + np.arange(A) * L + li, 1.0)
    if ix.has_cvar:
        # z_sg + eta_g >= L_sg with L_sg = sum l (d - r - y_in) + sum tau y over the group:
        # z_sg + eta_g + sum l r + sum (l - tau) y >= sum l d  (y counted in the recipient's
        # group for l, in the sender's for tau; G = 1 whenever there are transfers)
        G = ix.n_group
        g_of_k = np.zeros(K, dtype=np.int64) if G == 1 else np.arange(K)
        rhs = np.zeros(S * G)
        np.add.at(rhs, s_a[a_of] * G + g_of_k[k_of], (loss_ak * d_a).ravel())
        r0 = R.family("cvar", rhs, np.full(S * G, INF))
        sg = np.arange(S * G)
        R.add(r0 + sg, ix.o_z + sg, 1.0)
        R.add(r0 + sg, ix.o_eta + sg % G, 1.0)
        R.add(r0 + s_a[a_of] * G + g_of_k[k_of], ix.o_r + ak, loss_ak.ravel())
        for li, (_i, j) in enumerate(ix.links):
            R.add(r0 + s_a * G, ix.o_y + np.arange(A) * L + li,
                  loss_ak[:, j] - p.transfer_cost_usd_per_t[c_a])

    rows = np.concatenate(R.rows) if R.rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(R.cols) if R.cols else np.zeros(0, dtype=np.int64)
    vals = np.concatenate(R.vals) if R.vals else np.zeros(0)
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(R.n, ix.n_col))
    matrix.eliminate_zeros()  # e.g. a zero transfer cost in the CVaR rows
    built = BuiltLP(
        index=ix, col_cost=cost, col_lower=lo, col_upper=hi,
        row_lower=np.concatenate(R.lower), row_upper=np.concatenate(R.upper), matrix=matrix,
        budget_rows=budget_rows, joint_row=joint_row, row_families=R.families, offset=offset,
    )
    built.build_seconds = time.perf_counter() - t0
    log.info("stockpile LP built: %d columns, %d rows, %d non-zeros in %.2fs",
             ix.n_col, R.n, matrix.nnz, built.build_seconds)
    return built


def make_highs(built: BuiltLP, time_limit_s: float | None = None, solver: str = "choose") -> highspy.Highs:
    """A quiet HiGHS instance with the model passed in (``Highs.passModel``, column-wise)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", solver)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    m = built.matrix
    status = h.passModel(
        int(m.shape[1]), int(m.shape[0]), int(m.nnz), int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize), float(built.offset),
        built.col_cost, built.col_lower, built.col_upper, built.row_lower, built.row_upper,
        m.indptr[:-1].astype(np.int32), m.indices.astype(np.int32), m.data.astype(float),
        np.zeros(m.shape[1], dtype=np.int32),  # integrality: all continuous
    )
    if status == highspy.HighsStatus.kWarning:
        log.warning("HiGHS accepted the stockpile model with a warning (e.g. tiny coefficients "
                    "below its small_matrix_value were dropped)")
    elif status != highspy.HighsStatus.kOk:
        raise StockpileSolveError(f"HiGHS rejected the model (passModel status {status})")
    return h


def solve_lp(h: highspy.Highs, p: StockpileProblem) -> RawSolution:
    """Run HiGHS and check the model status; non-optimal statuses raise with a diagnosis."""
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = h.getModelStatus()
    name = h.modelStatusToString(status)
    if status != highspy.HighsModelStatus.kOptimal:
        raise StockpileSolveError(f"HiGHS status '{name}': {diagnose(p, status)}")
    sol = h.getSolution()
    info = h.getInfo()
    return RawSolution(
        status=name,
        objective=float(info.objective_function_value),
        col_value=np.asarray(sol.col_value, dtype=float),
        row_dual=np.asarray(sol.row_dual, dtype=float),
        solve_seconds=seconds,
        simplex_iterations=int(info.simplex_iteration_count),
    )


def diagnose(p: StockpileProblem, status: highspy.HighsModelStatus) -> str:
    """Name the input that makes the programme infeasible or unbounded.

    With valid inputs the programme is always feasible (x = 0, u = d) and bounded below (all
    costs >= 0), so a bad status points at an input that :func:`validate_problem` rejects.
    """
    from critmin.stockpile.problem import StockpileInputError, validate_problem

    try:
        validate_problem(p)
    except StockpileInputError as e:
        return f"caused by input {e}"
    S = highspy.HighsModelStatus
    if status in (S.kTimeLimit, S.kIterationLimit):
        return "the solver stopped at its limit (setting stockpile.solver_time_limit_s)"
    return "no input was found invalid; please report this case with its inputs"


@dataclass
class SecondStage:
    """Read-back solution with named dimensions."""

    stock_t: np.ndarray  # [commodity, partner]
    release_t: np.ndarray  # [scenario, commodity, partner]
    unmet_t: np.ndarray  # [scenario, commodity, partner]
    sent_t: np.ndarray  # [scenario, commodity, partner] tons lent by each partner
    received_t: np.ndarray  # [scenario, commodity, partner]
    budget_dual: np.ndarray  # [partner] d objective / d budget ($ per $, <= 0)
    joint_dual: float
    objective: float


def read_back(p: StockpileProblem, built: BuiltLP, raw: RawSolution) -> SecondStage:
    """Scatter the column values back onto [scenario, commodity, partner] arrays."""
    ix = built.index
    C, K, S, A = ix.n_commodity, ix.n_partner, ix.n_scenario, ix.n_active
    v = raw.col_value
    x = v[: C * K].reshape(C, K)
    if p.fixed_stock_t is not None:
        x = p.fixed_stock_t.astype(float).copy()
    r = np.zeros((S, C, K))
    sent = np.zeros((S, C, K))
    recv = np.zeros((S, C, K))
    r[ix.s_a, ix.c_a, :] = v[ix.o_r : ix.o_r + A * K].reshape(A, K)
    L = len(ix.links)
    if L:
        y = v[ix.o_y : ix.o_y + A * L].reshape(A, L)
        for li, (i, j) in enumerate(ix.links):
            sent[ix.s_a, ix.c_a, i] += y[:, li]
            recv[ix.s_a, ix.c_a, j] += y[:, li]
    u = np.maximum(p.shortfall_t - r - recv, 0.0)  # the substituted-out unmet shortfall
    dual = np.zeros(K)
    for k, row in built.budget_rows.items():
        dual[k] = raw.row_dual[row]
    joint = float(raw.row_dual[built.joint_row]) if built.joint_row is not None else 0.0
    return SecondStage(x, r, u, sent, recv, dual, joint, raw.objective)
