"""Exact fast solver for the thesis' sweeps: a decomposition over level-count patterns.

The sweep of section 5.4 solves the dispatch MILP of :mod:`greenai.dispatch.model`
for 144 start hours × 6 deadlines with the job starting at the window's first
slot. Handed to HiGHS as one MILP per window, the completion knapsack (eq. 5.22,
rates 1/22 … 1/32 h⁻¹) and interchangeable hours make branch-and-bound slow to
*prove* optimality (seconds to minutes per 23/25 h window). This module solves
the same model, to the same proven optimality (relative gap ≤ 1e-6), by
exploiting its structure:

1. **Patterns.** A plan's *pattern* is its count of hours at each level. Some
   optimal plan has a *minimal* pattern (:func:`greenai.dispatch.model.minimal_patterns`:
   lowering any hour by one level would leave the job unfinished), because
   lowering a level never raises the cost (prices ≥ 0). There are 383 minimal
   patterns of ≤ 23 h and 33,283 of ≤ 32 h for Table 5.1.
2. **A convex bound over patterns.** ``F(n)``, the LP relaxation with the
   counts fixed to ``n``, is a convex function of ``n`` (an LP's value as a
   function of its right-hand side), and the duals of the count rows are a
   subgradient. Every evaluated pattern gives a cut ``F(m) ≥ F(n) + g·(m − n)``
   valid for *all* patterns; the cuts bound all 33k patterns at once with one
   matrix product (Kelley's cutting planes over a finite set).
3. **Best-first over patterns.** The pattern with the lowest bound is
   evaluated next: its LP (warm-started, ~2 ms); if the LP solution is
   integral it is that pattern's optimum; else a small depth-first
   branch-and-bound on the hour-level binaries with the counts fixed, pruned
   by the incumbent. The search stops when every pattern's bound is within the
   gap of the incumbent, which proves the incumbent optimal.
4. **Symmetry removed.** Two kinds of adjacent hours are interchangeable, and
   the plan is required to run them in non-increasing power (``Power_Order``):
   * *dark hours*: no solar, equal buy price. Swapping a lower draw before a
     higher one can keep every grid and battery flow's total and discharge
     the battery earlier, which loses less to self-discharge; the surplus is
     sold. (A grid charge in the first hour feeding the GPU in the second
     costs at least as much as buying directly, so it can be removed first.)
   * *surplus hours*: solar ≥ the top level plus what the battery can take
     (``P_max + capacity/α``), equal sell price, buy ≥ sell. The GPU can be
     served entirely by solar in both hours, so swapping draws swaps only what
     is sold, at the same price.
   Neither swap changes the pattern, so each pattern keeps an optimal plan
   that satisfies the order.
5. **Re-solving without rebuilding.** The HiGHS model is built once per window
   length; a window changes only objective coefficients and the solar row
   bounds.

Scope: the cost objective, the job starting at slot 0 (``latest_start = 0``),
no grid-import bound and no carbon cap — what the sweeps need. Anything else
goes through the Pyomo model (:func:`greenai.dispatch.model.create_model`),
against which tests check this solver on many windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import highspy
import numpy as np

from greenai.dispatch.inputs import Battery, GpuProfile, InfeasibleDispatchError, check_series
from greenai.dispatch.model import MIP_REL_GAP, DispatchSolveError, minimal_patterns

_INF = highspy.kHighsInf
#: Flow variables of one slot, named as in the Pyomo model.
FLOWS = ("SolarToGpu", "SolarToBattery", "SolarSold", "GridToGpu", "GridToBattery", "BatteryToGpu", "BatteryToGrid")
#: Nodes of the in-pattern branch-and-bound before handing the pattern to HiGHS' MIP solver.
NODE_BUDGET = 40
#: Tolerance when reading an LP value as integral.
_INTEGRAL_TOL = 1e-7


@dataclass
class PatternSolution:
    """A proven-optimal plan from :class:`PatternDecomposition`.

    Attributes
    ----------
    cost_eur : float
        Grid cost minus sell-back revenue of the plan [€].
    bound_eur : float
        Proven lower bound on the cost of any plan [€].
    rel_gap : float
        ``(cost − bound) / |cost|`` (≤ 1e-6).
    levels : numpy.ndarray
        Level per slot, 1-based; 0 = GPU off.
    gpu_w : numpy.ndarray
        GPU draw per slot [W = Wh].
    flows_w : dict[str, numpy.ndarray]
        Every flow of :data:`FLOWS` per slot [W = Wh], and ``BatteryEnergy``
        at the start of each slot and at the window's end [Wh].
    lps, branch_nodes, patterns_evaluated, mip_fallbacks : int
        Work done: LPs solved, branch-and-bound nodes, patterns whose LP was
        solved, patterns handed to HiGHS' MIP solver after ``NODE_BUDGET`` nodes.
    """

    cost_eur: float
    bound_eur: float
    rel_gap: float
    levels: np.ndarray
    gpu_w: np.ndarray
    flows_w: dict
    lps: int
    branch_nodes: int
    patterns_evaluated: int
    mip_fallbacks: int
    solar_w: np.ndarray
    buy_eur_per_kwh: np.ndarray
    sell_eur_per_kwh: np.ndarray
    discharge_efficiency: float

    def schedule(self, first_hour: int = 0, carbon_g_per_kwh=None) -> "pd.DataFrame":
        """The plan, one row per slot, with the columns of :func:`greenai.dispatch.model.schedule`.

        ``carbon_g_per_kwh`` (per slot) gives the ``emissions_g`` column [gCO2]; zeros without it."""
        import pandas as pd

        f = self.flows_w
        table = pd.DataFrame({
            "slot": np.arange(len(self.levels)),
            "hour": first_hour + np.arange(len(self.levels)),
            "level": self.levels,
            "gpu_w": self.gpu_w,
            "solar_w": self.solar_w,
            "solar_to_gpu_w": f["SolarToGpu"],
            "solar_to_battery_w": f["SolarToBattery"],
            "solar_sold_w": f["SolarSold"],
            "grid_to_gpu_w": f["GridToGpu"],
            "grid_to_battery_w": f["GridToBattery"],
            "battery_to_gpu_w": f["BatteryToGpu"],
            "battery_to_grid_w": f["BatteryToGrid"],
            "battery_start_wh": f["BatteryEnergy"][:-1],
            "battery_end_wh": f["BatteryEnergy"][1:],
            "buy_eur_per_kwh": self.buy_eur_per_kwh,
            "sell_eur_per_kwh": self.sell_eur_per_kwh,
        })
        table["cost_eur"] = ((table["grid_to_gpu_w"] + table["grid_to_battery_w"]) * table["buy_eur_per_kwh"]
                             - (table["solar_sold_w"] + self.discharge_efficiency * table["battery_to_grid_w"])
                             * table["sell_eur_per_kwh"]) / 1000
        carbon = np.zeros(len(table)) if carbon_g_per_kwh is None else np.asarray(carbon_g_per_kwh, float)[: len(table)]
        table["emissions_g"] = carbon * (table["grid_to_gpu_w"] + table["grid_to_battery_w"]) / 1000
        return table


class PatternDecomposition:
    """The dispatch MILP for windows of ``hours`` slots, solved by pattern decomposition.

    Parameters
    ----------
    hours : int
        Window length (the deadline) [h].
    gpu : GpuProfile
        Power levels and whole-job durations (Table 5.1).
    battery : Battery
        Storage (Table 5.2).
    symmetry : bool
        Add the ``Power_Order`` rows on interchangeable adjacent hours (default).
    """

    def __init__(self, hours: int, gpu: GpuProfile, battery: Battery | None = None, symmetry: bool = True):
        battery = battery or Battery()
        if hours < min(gpu.duration_h):
            raise InfeasibleDispatchError(
                f"a window of {hours} h cannot finish a job whose fastest level needs {min(gpu.duration_h):g} h")
        self.hours, self.gpu, self.battery, self.symmetry = int(hours), gpu, battery, symmetry
        self.power_w = np.asarray(gpu.power_w, float)
        T = self.hours
        progress, required = gpu.progress_units()
        self.patterns = minimal_patterns(gpu, min(T, math.ceil(max(gpu.duration_h)))).astype(float)
        self._build(np.asarray(progress, float), float(required))
        self._surplus_w = self.power_w[-1] + battery.capacity_wh / battery.charge_efficiency

    # ------------------------------------------------------------------ model
    def _build(self, progress: np.ndarray, required: float) -> None:
        T, K, bat, P = self.hours, self.gpu.levels, self.battery, self.power_w
        a, b, th = bat.charge_efficiency, bat.discharge_efficiency, bat.self_discharge_per_h
        lower, upper, integrality = [], [], []

        def column(lo, hi, integer=False):
            lower.append(lo)
            upper.append(hi)
            integrality.append(1 if integer else 0)
            return len(lower) - 1

        self._x = np.array([[column(0.0, 1.0, True) for _ in range(K)] for _ in range(T)])  # Level[t, k]
        self._flow = {name: np.array([column(0.0, _INF) for _ in range(T)]) for name in FLOWS}
        self._energy = np.array([column(0.0, _INF) for _ in range(T + 1)])  # BatteryEnergy[t]
        f, x, e = self._flow, self._x, self._energy
        rows_lo, rows_hi, entries = [], [], []  # entries: (row, col, value)

        def row(lo, hi, coefs):
            r = len(rows_lo)
            rows_lo.append(lo)
            rows_hi.append(hi)
            entries.extend((r, c, v) for c, v in coefs)
            return r

        self._solar_row = np.empty(T, int)
        self._order_row = np.empty(max(T - 1, 0), int)
        for t in range(T):
            row(0.0, 1.0, [(x[t, k], 1.0) for k in range(K)])  # One_Level_Per_Hour
            if t > 0:  # No_Pause with the start fixed at slot 0: Running[t] <= Running[t-1]
                row(-_INF, 0.0, [(x[t, k], 1.0) for k in range(K)] + [(x[t - 1, k], -1.0) for k in range(K)])
            self._solar_row[t] = row(-_INF, 0.0, [(f["SolarToGpu"][t], 1.0), (f["SolarToBattery"][t], 1.0),
                                                  (f["SolarSold"][t], 1.0)])  # Solar_Split
            row(0.0, 0.0, [(f["SolarToGpu"][t], 1.0), (f["GridToGpu"][t], 1.0), (f["BatteryToGpu"][t], b)]
                + [(x[t, k], -P[k]) for k in range(K)])  # Gpu_Supply
            row(0.0, 0.0, [(e[t + 1], 1.0), (e[t], -(1 - th)), (f["SolarToBattery"][t], -(1 - th) * a),
                           (f["GridToBattery"][t], -(1 - th) * a), (f["BatteryToGpu"][t], 1 - th),
                           (f["BatteryToGrid"][t], 1 - th)])  # Battery_Balance
            row(-_INF, 0.0, [(f["BatteryToGpu"][t], 1.0), (f["BatteryToGrid"][t], 1.0), (e[t], -1.0)])  # Discharge_Limit
            row(-_INF, bat.capacity_wh, [(e[t], 1.0), (f["SolarToBattery"][t], a),
                                         (f["GridToBattery"][t], a)])  # Charge_Limit
        row(bat.initial_wh, bat.initial_wh, [(e[0], 1.0)])  # Battery_Initial
        row(required, _INF, [(x[t, k], progress[k]) for t in range(T) for k in range(K)])  # Job_Completion
        self._count_row = np.array([row(0.0, T, [(x[t, k], 1.0) for t in range(T)]) for k in range(K)])
        for t in range(T - 1):  # Power_Order, switched on per window where hours t, t+1 are interchangeable
            self._order_row[t] = row(-_INF, _INF, [(x[t, k], P[k]) for k in range(K)]
                                     + [(x[t + 1, k], -P[k]) for k in range(K)])

        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(lower), len(rows_lo)
        lp.col_cost_ = np.zeros(len(lower))
        lp.col_lower_, lp.col_upper_ = np.array(lower), np.array(upper)
        lp.row_lower_, lp.row_upper_ = np.array(rows_lo, float), np.array(rows_hi, float)
        r, c, v = (np.array(z) for z in zip(*entries))
        order = np.lexsort((r, c))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.searchsorted(c[order], np.arange(len(lower) + 1)).astype(np.int32)
        lp.a_matrix_.index_ = r[order].astype(np.int32)
        lp.a_matrix_.value_ = v[order].astype(float)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP / 10)
        h.setOptionValue("mip_abs_gap", 0.0)
        h.setOptionValue("presolve", "off")  # small models re-solved from a warm basis
        h.passModel(lp)  # solved as LPs: integrality is handled by the search below
        self._h = h
        self._x_cols = self._x.ravel().astype(np.int32)
        self._col_lower, self._col_upper = np.array(lower, float), np.array(upper, float)
        self._nx = len(self._x_cols)

    # ------------------------------------------------------------ one window
    def solve(self, solar_w, buy_eur_per_kwh, sell_eur_per_kwh) -> PatternSolution:
        """Cheapest plan for one window, proven optimal.

        Parameters
        ----------
        solar_w : array-like
            Solar AC output available per slot [W]; at least ``hours`` values.
        buy_eur_per_kwh, sell_eur_per_kwh : array-like
            Grid buy and sell-back prices per slot [€/kWh], non-negative.
        """
        T = self.hours
        solar = check_series("solar_w", solar_w, T)[:T]
        buy = check_series("buy_eur_per_kwh", buy_eur_per_kwh, T)[:T]
        sell = check_series("sell_eur_per_kwh", sell_eur_per_kwh, T)[:T]
        self._set_window(solar, buy, sell)
        solution = _Search(self).run()
        solution.solar_w, solution.buy_eur_per_kwh, solution.sell_eur_per_kwh = solar, buy, sell
        return solution

    def interchangeable(self, solar, buy, sell) -> np.ndarray:
        """For each adjacent pair (t, t+1): may the two hours be run in
        non-increasing power without losing an optimum (module docstring, 4.)?"""
        dark = (solar[:-1] == 0) & (solar[1:] == 0) & (buy[:-1] == buy[1:])
        surplus = ((np.minimum(solar[:-1], solar[1:]) >= self._surplus_w) & (sell[:-1] == sell[1:])
                   & (buy[:-1] >= sell[:-1]) & (buy[1:] >= sell[1:]))
        return dark | surplus

    def _set_window(self, solar, buy, sell) -> None:
        h, f, T = self._h, self._flow, self.hours
        beta = self.battery.discharge_efficiency
        cols = np.concatenate([f["GridToGpu"], f["GridToBattery"], f["SolarSold"], f["BatteryToGrid"]]).astype(np.int32)
        costs = np.concatenate([buy, buy, -sell, -beta * sell]) / 1000.0
        h.changeColsCost(len(cols), cols, costs)
        h.changeRowsBounds(T, self._solar_row.astype(np.int32), np.full(T, -_INF), solar.astype(float))
        if T > 1:
            on = self.interchangeable(solar, buy, sell) if self.symmetry else np.zeros(T - 1, bool)
            h.changeRowsBounds(T - 1, self._order_row.astype(np.int32), np.where(on, 0.0, -_INF), np.full(T - 1, _INF))

    def _set_counts(self, lo: np.ndarray, hi: np.ndarray) -> None:
        K = self.gpu.levels
        self._h.changeRowsBounds(K, self._count_row.astype(np.int32), lo.astype(float), hi.astype(float))

    def _lp(self):
        """Solve the current LP: (value, row duals of the count rows, Level values, all columns) or None."""
        h = self._h
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
                return None
            raise DispatchSolveError(f"HiGHS stopped on an LP without an optimum: {h.getModelStatus()}")
        sol = h.getSolution()
        cols = np.asarray(sol.col_value)
        duals = np.asarray(sol.row_dual)[self._count_row]
        return h.getInfo().objective_function_value, duals, cols[self._x], cols


class _Search:
    """Best-first search over patterns with Kelley cuts, then branch-and-bound inside a pattern."""

    def __init__(self, problem: PatternDecomposition):
        self.p = problem
        self.best = math.inf
        self.best_cols = None
        self.lps = self.nodes = self.evaluated = self.fallbacks = 0
        self.closed_bound = math.inf  # lowest bound of the subtrees pruned inside patterns

    def tol(self) -> float:
        """Pruning tolerance [€]: a tenth of the allowed gap, plus LP round-off."""
        return MIP_REL_GAP / 10 * abs(self.best) + 1e-12

    def run(self) -> PatternSolution:
        p = self.p
        patterns = p.patterns
        K, T = p.gpu.levels, p.hours
        # Root: counts free. Its value bounds every pattern; its counts pick the first pattern.
        p._set_counts(np.zeros(K), np.full(K, T))
        root = p._lp()
        self.lps += 1
        if root is None:
            raise InfeasibleDispatchError("no schedule finishes the job inside the window")
        counts_root = root[2].sum(axis=0)
        bound = np.full(len(patterns), root[0])  # lower bound on each pattern's optimum
        done = np.zeros(len(patterns), bool)  # pattern's optimum known (or proven >= incumbent)
        lp_value = np.full(len(patterns), np.nan)
        first = int(np.argmin(np.abs(patterns - counts_root).sum(axis=1)))
        order_hint = first
        while True:
            if order_hint is not None:
                j, order_hint = order_hint, None
            else:
                masked = np.where(done, np.inf, bound)
                j = int(np.argmin(masked))
                if masked[j] >= self.best - self.tol():
                    break
            if np.isnan(lp_value[j]):
                p._set_counts(patterns[j], patterns[j])
                res = p._lp()
                self.lps += 1
                self.evaluated += 1
                if res is None:
                    lp_value[j] = math.inf
                    bound[j] = math.inf
                    done[j] = True
                    continue
                value, duals, levels, cols = res
                lp_value[j] = value
                # Kelley cut: F(m) >= F(n_j) + duals·(m - n_j) for every pattern m.
                bound = np.maximum(bound, value + (patterns - patterns[j]) @ duals)
                bound[j] = value
                if _integral(levels):
                    done[j] = True
                    if value < self.best:
                        self.best, self.best_cols = value, cols.copy()
                continue
            # LP of pattern j already solved and fractional: branch inside it.
            p._set_counts(patterns[j], patterns[j])
            self._budget = NODE_BUDGET
            if not self._branch(0):
                self._mip()
            done[j] = True
        return self._solution(np.where(done, np.inf, bound).min())

    def _mip(self) -> None:
        """HiGHS branch-and-cut on the Level binaries with the counts fixed, cut off at the incumbent."""
        p = self.p
        h = p._h
        h.changeColsIntegrality(p._nx, p._x_cols, np.ones(p._nx, np.uint8))
        if math.isfinite(self.best):
            h.setOptionValue("objective_bound", self.best)
        h.run()
        self.nodes += h.getInfo().mip_node_count
        self.fallbacks += 1
        status = h.getModelStatus()
        dual_bound = h.getInfo().mip_dual_bound
        self.closed_bound = min(self.closed_bound, dual_bound if math.isfinite(dual_bound) else self.best)
        if status == highspy.HighsModelStatus.kOptimal:
            value = h.getInfo().objective_function_value
            if value < self.best:
                self.best, self.best_cols = value, np.asarray(h.getSolution().col_value).copy()
        elif status not in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
            raise DispatchSolveError(f"HiGHS stopped on a pattern without an optimum: {status}")
        h.setOptionValue("objective_bound", _INF)
        h.changeColsIntegrality(p._nx, p._x_cols, np.zeros(p._nx, np.uint8))

    def _branch(self, depth: int) -> bool:
        """Depth-first branch-and-bound with the counts fixed, branching on one
        hour's level (levels ≤ m vs > m, the split of its fractional mass).
        Returns False when the node budget ran out (the caller falls back to HiGHS)."""
        p = self.p
        h = p._h
        res = p._lp()
        self.lps += 1
        self.nodes += 1
        self._budget -= 1
        if res is None:
            return True
        value, _, levels, cols = res
        if value >= self.best - self.tol():
            self.closed_bound = min(self.closed_bound, value)  # pruned: this subtree costs at least value
            return True
        spread = 1.0 - levels.max(axis=1)
        if spread.max() <= _INTEGRAL_TOL and _integral(levels):
            self.best, self.best_cols = value, cols.copy()
            return True
        if self._budget <= 0:
            return False
        t = int(np.argmax(spread))
        cumulative = np.cumsum(levels[t])
        m = int(np.argmin(np.abs(cumulative[:-1] - cumulative[-1] / 2)))  # levels 0..m vs m+1..K-1
        K = p.gpu.levels
        cols_t = p._x[t].astype(np.int32)
        lo, hi = p._col_lower[cols_t], p._col_upper[cols_t]
        low_first = cumulative[m] >= cumulative[-1] - cumulative[m]  # the side with more of the hour first
        sides = ((np.arange(K) <= m), (np.arange(K) > m))
        for allowed in (sides if low_first else sides[::-1]):
            new_hi = np.where(allowed, hi, 0.0)
            h.changeColsBounds(K, cols_t, lo, new_hi)
            p._col_upper[cols_t] = new_hi
            ok = self._branch(depth + 1)
            h.changeColsBounds(K, cols_t, lo, hi)
            p._col_upper[cols_t] = hi
            if not ok:
                return False
        return True

    def _solution(self, open_bound: float) -> PatternSolution:
        p = self.p
        if self.best_cols is None:
            raise InfeasibleDispatchError("no schedule finishes the job inside the window")
        cols = self.best_cols
        x = np.round(cols[p._x]).astype(int)
        levels = np.where(x.any(axis=1), x.argmax(axis=1) + 1, 0)
        bound = min(self.best, open_bound, self.closed_bound)
        gap = (self.best - bound) / max(abs(self.best), 1e-10)
        if gap > MIP_REL_GAP:
            raise DispatchSolveError(f"pattern search ended with gap {gap:.2e}")
        flows = {name: cols[idx] for name, idx in p._flow.items()}
        flows["BatteryEnergy"] = cols[p._energy]
        return PatternSolution(
            cost_eur=self.best, bound_eur=bound, rel_gap=gap, levels=levels,
            gpu_w=np.where(levels > 0, p.power_w[np.maximum(levels - 1, 0)], 0.0), flows_w=flows,
            lps=self.lps, branch_nodes=self.nodes, patterns_evaluated=self.evaluated, mip_fallbacks=self.fallbacks,
            solar_w=None, buy_eur_per_kwh=None, sell_eur_per_kwh=None,
            discharge_efficiency=p.battery.discharge_efficiency)


def _integral(values: np.ndarray) -> bool:
    return bool(np.abs(values - np.round(values)).max() <= _INTEGRAL_TOL)
