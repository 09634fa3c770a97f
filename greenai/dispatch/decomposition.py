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
   counts fixed to ``n``, is a convex function of its right-hand sides (an
   LP's value as a function of them), and the row duals are a subgradient.
   The job never pauses, so a plan of pattern ``n`` runs exactly the ``|n|``
   hours from its start: the pattern's LP fixes each hour's running row
   (``One_Level_Per_Hour``) to 1 or 0 too, which stops the relaxation from
   spreading fractional hours over the window. Every evaluated pattern gives
   a cut ``F(m) ≥ F(n) + g·(m − n) + H(|m|) − H(|n|)`` (``g`` the count rows'
   duals, ``H(L)`` the running rows' duals summed over the first ``L`` hours)
   valid for *all* patterns; the cuts bound all 33k patterns at once with one
   matrix product (Kelley's cutting planes over a finite set). Two valid
   inequalities the Pyomo model does not need tighten each LP further:
   solar to the GPU is at most ``min(P_k, solar_t)`` at level ``k``
   (``Solar_To_Level``), solar plus battery at most ``min(P_k, solar_t + β·ESD_max)``
   (``Own_Supply_To_Level``); with whole levels they restate the model's rows.
3. **Best-first over patterns.** The pattern with the lowest bound is
   evaluated next: its LP (warm-started, ~2 ms); if the LP solution is
   integral it is that pattern's optimum; else a small depth-first
   branch-and-bound on the hour-level binaries with the counts fixed, pruned
   by the incumbent. The search stops when every pattern's bound is within the
   gap of the incumbent, which proves the incumbent optimal.
4. **No buying and selling in one hour.** Each slot has a grid-mode binary
   (``GridMode``, as in the Pyomo model). The LPs relax it; a plan with whole
   levels that still imports and exports in one slot is branched on that slot's
   mode (import only / export only).
5. **Symmetry removed.** Two kinds of adjacent hours are interchangeable, and
   the plan is required to run them in non-increasing power (``Power_Order``),
   only where both hours buy at least at the sell price (there netting an
   hour's import against its export never costs more, so the mode rule cannot
   break the swap):
   * *dark hours*: no solar, equal buy price (and equal carbon intensity when
     emissions are the objective or capped). Swapping a lower draw before a
     higher one can keep every grid and battery flow's total and discharge
     the battery earlier, which loses less to self-discharge; the surplus is
     sold. (A grid charge in the first hour feeding the GPU in the second
     costs at least as much as buying directly, so it can be removed first.)
   * *surplus hours*: solar ≥ the top level plus what the battery can take
     (``P_max + capacity/α``), equal sell price. The GPU can be served
     entirely by solar in both hours, so swapping draws swaps only what is sold,
     at the same price.
   Neither swap changes the pattern, so each pattern keeps an optimal plan
   that satisfies the order.
6. **Re-solving without rebuilding.** The HiGHS model is built once per window
   length; a window changes only objective coefficients, the solar row bounds,
   the export bounds and a few matrix entries, passed with the model. Every
   window's first LP starts from one fixed basis (the root optimum of a window
   with no sun and flat prices), so a plan depends on its window only, not on
   the windows solved before it.
7. **A whole-window MIP when the patterns stay open.** On sunny windows with
   cheap-band hours the relaxed mode rule leaves most patterns' LPs below the
   incumbent; after ``LP_BUDGET`` LPs (or ``FALLBACK_BUDGET`` in-pattern MIPs)
   the start slot is handed whole to HiGHS on the hull-tightened model
   (``Count_Hull`` of the Pyomo model), cut off at the incumbent.

Beyond the thesis' sweeps, :meth:`PatternDecomposition.solve` also takes

* ``objective="carbon"`` (grid emissions) and ``carbon_cap_g`` (the
  ε-constraint: cost under an emission cap). Lowering a level raises neither
  cost nor emissions, so minimal patterns still hold an optimum, and a cap is
  one more LP row, so each pattern's LP value stays convex in its counts.
  Under a cap many patterns' LPs are infeasible; for such a pattern the LP
  minimising the capped metric (its cap lifted) gives a Kelley cut on that
  minimum, and every pattern the cut puts above the cap is dropped at once.
* ``latest_start > 0``: the start slot as a decision, solved as the minimum
  over start slots (levels before the start fixed to off, the no-pause row
  relaxed at it), the incumbent of earlier slots cutting off later ones.

**Ties (deterministic).** Among plans whose objective is within ``TIE_TOL`` of
the optimum (1e-9 € for cost), the solver returns the one with the lowest
*other* metric (emissions for the cost objective, cost for the carbon one), by a
second search restricted to the patterns whose bound allows a tie and a row
capping the first objective (the cap cuts above drop the patterns that cannot
tie); with the start as a decision, the earliest start among remaining ties.
Then the earlier hours: within each group of interchangeable running hours (no
sun and the same buy and sell price and carbon intensity, e.g. two hours a day
apart; or sun covering every level the plan uses and the same sell price) the
higher levels come first, where that rearrangement keeps the plan within the
tie tolerances (its flows re-solved by one LP). Equal plans left after that
(rare: e.g. levels 5 + 5 against 7 + 3 in two such hours) are the same plan for
every purpose the tables use; which of them is returned is fixed by the search
(the same on every run and in any process split).

Tests check this solver against :func:`greenai.dispatch.model.create_model` on
random windows from every month, summer windows that tempt simultaneous import
and export, and the thesis' windows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import highspy
import numpy as np

from greenai.dispatch.inputs import Battery, DispatchInputError, GpuProfile, InfeasibleDispatchError, check_series
from greenai.dispatch.model import MIP_REL_GAP, DispatchSolveError, hull_vertices, minimal_patterns

_INF = highspy.kHighsInf
#: Flow variables of one slot, named as in the Pyomo model.
FLOWS = ("SolarToGpu", "SolarToBattery", "SolarSold", "GridToGpu", "GridToBattery", "BatteryToGpu", "BatteryToGrid")
#: Nodes of the in-pattern branch-and-bound before handing the pattern to HiGHS' MIP solver.
NODE_BUDGET = 40
#: LPs or MIP fallbacks of one start slot's pattern search after which that slot is handed
#: whole to HiGHS' MIP solver on the hull-tightened model (sunny windows with many cheap-band
#: hours, where the relaxation of "no import and export in one hour" leaves most patterns open).
LP_BUDGET, FALLBACK_BUDGET = 150, 4
#: Tolerance when reading an LP value as integral.
_INTEGRAL_TOL = 1e-7
#: Import and export both above this in one slot [W] count as simultaneous (forbidden).
_SIMULTANEOUS_TOL_W = 1e-6
#: Plans whose objective lies within this distance of the optimum count as tied [€ for the
#: cost objective, gCO2 for the carbon one]; among them the tie-break picks the lowest other
#: metric (emissions for cost, cost for carbon). Far below any price or intensity step.
TIE_TOL = {"cost": 1e-9, "carbon": 1e-6}


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
    emissions_g : float
        Grid emissions of the plan [gCO2].
    objective : str
        "cost" or "carbon": what ``bound_eur`` and ``rel_gap`` refer to (the
        bound is in gCO2 for "carbon").
    start_slot : int
        Slot the job starts in.
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
    emissions_g: float = 0.0
    objective: str = "cost"
    start_slot: int = 0

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


def quiet_highs() -> "highspy.Highs":
    """A silent ``highspy.Highs``: its constructor prints a banner on the C-level
    stdout (mixed into ``greenai dispatch``'s plan otherwise), so stdout is
    pointed at /dev/null while it is built."""
    import ctypes
    import os
    import sys

    sys.stdout.flush()
    libc = ctypes.CDLL(None)
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
        libc.fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    h.setOptionValue("output_flag", False)
    # One thread: HiGHS' MIP workers spin while they wait, and the sweep already runs one
    # process per core; with the default pool, two sweep workers on two cores slowed ~20x.
    h.setOptionValue("threads", 1)
    return h


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
        self._pattern_hours = self.patterns.sum(axis=1)  # hours each pattern runs (the search filters on it per start)
        self._pattern_length = np.round(self._pattern_hours).astype(int)
        self._surplus_w = self.power_w[-1] + battery.capacity_wh / battery.charge_efficiency
        self._import_bound_w = self.power_w[-1] + battery.capacity_wh / battery.charge_efficiency
        self._build(np.asarray(progress, float), float(required))
        self.start = 0
        self._window = None

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
        self._mode = np.array([column(0.0, 1.0, True) for _ in range(T)])  # GridMode[t]: 1 import, 0 export
        f, x, e, z = self._flow, self._x, self._energy, self._mode
        rows_lo, rows_hi, entries = [], [], []  # entries: (row, col, value)

        def row(lo, hi, coefs):
            r = len(rows_lo)
            rows_lo.append(lo)
            rows_hi.append(hi)
            entries.extend((r, c, v) for c, v in coefs)
            return r

        self._solar_row = np.empty(T, int)
        self._export_row = np.empty(T, int)
        self._charge_row = np.empty(T, int)
        self._pause_row = np.full(T, -1, int)
        self._order_row = np.empty(max(T - 1, 0), int)
        self._solar_level_row = np.empty(T, int)
        self._own_level_row = np.empty(T, int)
        self._level_row = np.empty(T, int)
        for t in range(T):
            self._level_row[t] = row(0.0, 1.0, [(x[t, k], 1.0) for k in range(K)])  # One_Level_Per_Hour
            if t > 0:  # No_Pause: Running[t] <= Running[t-1], relaxed to <= 1 at the start slot
                self._pause_row[t] = row(-_INF, 0.0, [(x[t, k], 1.0) for k in range(K)]
                                         + [(x[t - 1, k], -1.0) for k in range(K)])
            self._solar_row[t] = row(-_INF, 0.0, [(f["SolarToGpu"][t], 1.0), (f["SolarToBattery"][t], 1.0),
                                                  (f["SolarSold"][t], 1.0)])  # Solar_Split
            row(0.0, 0.0, [(f["SolarToGpu"][t], 1.0), (f["GridToGpu"][t], 1.0), (f["BatteryToGpu"][t], b)]
                + [(x[t, k], -P[k]) for k in range(K)])  # Gpu_Supply
            # Solar_To_Level (valid inequality, not in the Pyomo model): solar reaching the GPU is at
            # most min(P_k, solar_t) at the hour's level k: SolarToGpu_t <= Σ_k min(P_k, solar_t)·Level_tk.
            # With levels whole it only restates Gpu_Supply and Solar_Split; it stops the relaxation
            # from mixing levels in one hour to match the draw to the sun. Coefficients set per window.
            self._solar_level_row[t] = row(-_INF, 0.0, [(f["SolarToGpu"][t], 1.0)]
                                           + [(x[t, k], -P[k]) for k in range(K)])
            # Own_Supply_To_Level (likewise): solar plus battery reaching the GPU is at most
            # min(P_k, solar_t + β·ESD_max) at level k (the battery holds at most ESD_max).
            self._own_level_row[t] = row(-_INF, 0.0, [(f["SolarToGpu"][t], 1.0), (f["BatteryToGpu"][t], b)]
                                         + [(x[t, k], -P[k]) for k in range(K)])
            row(0.0, 0.0, [(e[t + 1], 1.0), (e[t], -(1 - th)), (f["SolarToBattery"][t], -(1 - th) * a),
                           (f["GridToBattery"][t], -(1 - th) * a), (f["BatteryToGpu"][t], 1 - th),
                           (f["BatteryToGrid"][t], 1 - th)])  # Battery_Balance
            row(-_INF, 0.0, [(f["BatteryToGpu"][t], 1.0), (f["BatteryToGrid"][t], 1.0), (e[t], -1.0)])  # Discharge_Limit
            self._charge_row[t] = row(-_INF, bat.capacity_wh, [(e[t], 1.0), (f["SolarToBattery"][t], a),
                                                                (f["GridToBattery"][t], a)])  # Charge_Limit
            row(-_INF, 0.0, [(f["GridToGpu"][t], 1.0), (f["GridToBattery"][t], 1.0),
                             (z[t], -self._import_bound_w)])  # Import_Mode
            # Export_Mode: export + M_t·z <= M_t with M_t = solar_t + β·ESD_max (set per window)
            self._export_row[t] = row(-_INF, b * bat.capacity_wh, [(f["SolarSold"][t], 1.0), (f["BatteryToGrid"][t], b),
                                                                   (z[t], b * bat.capacity_wh)])
        row(bat.initial_wh, bat.initial_wh, [(e[0], 1.0)])  # Battery_Initial
        row(required, _INF, [(x[t, k], progress[k]) for t in range(T) for k in range(K)])  # Job_Completion
        self._count_row = np.array([row(0.0, T, [(x[t, k], 1.0) for t in range(T)]) for k in range(K)])
        self._weight = None  # PatternWeight columns of the hull formulation, added by _whole_mip when first needed
        for t in range(T - 1):  # Power_Order, switched on per window where hours t, t+1 are interchangeable
            self._order_row[t] = row(-_INF, _INF, [(x[t, k], P[k]) for k in range(K)]
                                     + [(x[t + 1, k], -P[k]) for k in range(K)])
        # Caps on cost [€] and grid emissions [gCO2] (coefficients set per window, bounds per solve).
        self._money = np.concatenate([f["GridToGpu"], f["GridToBattery"], f["SolarSold"], f["BatteryToGrid"]])
        self._cap_row = {name: row(-_INF, _INF, [(c, 0.0) for c in self._money]) for name in ("cost", "carbon")}

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
        # Where the per-window entries sit in the column-wise value array (_load_window).
        position = {(int(a), int(b_)): i for i, (a, b_) in enumerate(zip(r[order], c[order]))}
        self._pos_export = np.array([position[(int(self._export_row[t]), int(z[t]))] for t in range(T)])
        self._pos_cap = {name: np.array([position[(int(rr), int(cc))] for cc in self._money])
                         for name, rr in self._cap_row.items()}
        self._pos_solar_level = np.array([[position[(int(self._solar_level_row[t]), int(x[t, k]))] for k in range(K)]
                                          for t in range(T)])
        self._pos_own_level = np.array([[position[(int(self._own_level_row[t]), int(x[t, k]))] for k in range(K)]
                                        for t in range(T)])
        self._value_pristine = np.array(lp.a_matrix_.value_, float)
        self._row_upper_pristine = np.array(lp.row_upper_, float)
        h = quiet_highs()
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP / 10)
        h.setOptionValue("mip_abs_gap", 0.0)
        # HiGHS' MIP also prunes on the objective within its feasibility tolerance (1e-6 by default,
        # absolute): on a window costing ~0.02 € that alone left a 3.6e-6 relative gap, above the
        # 1e-6 this solver proves.
        h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        h.setOptionValue("presolve", "off")  # small models re-solved from a warm basis
        h.passModel(lp)  # solved as LPs: integrality is handled by the search below
        self._h = h
        self._lp_pristine = lp
        self._x_cols = self._x.ravel().astype(np.int32)
        self._int_cols = np.concatenate([self._x_cols, self._mode.astype(np.int32)])
        self._col_lower, self._col_upper = np.array(lower, float), np.array(upper, float)
        self._col_upper_pristine = self._col_upper.copy()
        self._nx = len(self._x_cols)
        self._reference_basis = None  # see _start_basis

    # ------------------------------------------------------------ one window
    def solve(self, solar_w, buy_eur_per_kwh, sell_eur_per_kwh, carbon_g_per_kwh=None, objective: str = "cost",
              carbon_cap_g: float | None = None, latest_start: int = 0, tie_break: bool = True,
              progress=None) -> PatternSolution:
        """Best plan for one window, proven optimal (relative gap ≤ 1e-6).

        Parameters
        ----------
        solar_w : array-like
            Solar AC output available per slot [W]; at least ``hours`` values.
        buy_eur_per_kwh, sell_eur_per_kwh : array-like
            Grid buy and sell-back prices per slot [€/kWh], non-negative.
        carbon_g_per_kwh : array-like, optional
            Grid carbon intensity per slot [gCO2/kWh]; zeros if omitted.
        objective : {"cost", "carbon"}
            Minimise grid cost minus sell-back revenue [€], or grid emissions [gCO2].
        carbon_cap_g : float, optional
            Upper bound on grid emissions [gCO2] (the ε-constraint), cost objective only.
        latest_start : int
            Latest slot the job may start in; 0 fixes the start at slot 0 (the
            thesis' sweeps), a larger value makes the start a decision.
        tie_break : bool
            Among plans equal in the objective (within ``TIE_TOL``), return
            the one lowest in the other metric (emissions under the cost
            objective, cost under the carbon one), then the earliest start,
            then the higher levels first among interchangeable hours.
        progress : callable, optional
            Called as ``progress(done, total)`` after each start slot's search
            (``total``: the start slots, twice with ``tie_break``); a long window
            with the start as a decision runs one search per start slot.
        """
        T = self.hours
        if objective not in ("cost", "carbon"):
            raise DispatchInputError(f"objective must be 'cost' or 'carbon', got {objective!r}")
        if carbon_cap_g is not None and objective != "cost":
            raise DispatchInputError("carbon_cap_g bounds emissions under the cost objective only")
        if not (0 <= latest_start < T):
            raise DispatchInputError(f"latest_start must lie in [0, {T - 1}], got {latest_start}")
        solar = check_series("solar_w", solar_w, T)[:T]
        buy = check_series("buy_eur_per_kwh", buy_eur_per_kwh, T)[:T]
        sell = check_series("sell_eur_per_kwh", sell_eur_per_kwh, T)[:T]
        carbon = np.zeros(T) if carbon_g_per_kwh is None else check_series("carbon_g_per_kwh", carbon_g_per_kwh, T)[:T]
        start_basis = self._start_basis()
        self._load_window(solar, buy, sell, carbon)  # the plan depends on this window only, not on earlier ones
        other = "carbon" if objective == "cost" else "cost"
        latest = min(latest_start, T - int(math.ceil(min(self.gpu.duration_h))))
        if latest < 0:
            raise InfeasibleDispatchError("no schedule finishes the job inside the window")
        # Stage 1: the objective, over every start slot; the incumbent carries over as a cutoff.
        cap = {"carbon": float(carbon_cap_g)} if carbon_cap_g is not None else {}
        incumbent = _Incumbent()
        searches = []
        total = (latest + 1) * (2 if tie_break else 1)
        for s in range(latest + 1):
            self._configure(s, objective, cap)
            if s == 0:
                self._h.setBasis(start_basis)
            search = _Search(self, incumbent, start=s, objective=objective, caps=cap)
            search.run()
            searches.append(search)
            if progress is not None:
                progress(s + 1, total)
        if incumbent.cols is None:
            raise InfeasibleDispatchError(
                "no schedule finishes the job inside the window with these inputs (deadline too short, or carbon cap "
                "too tight): lengthen the window or relax the cap")
        bound1 = min([incumbent.value] + [s.lower_bound() for s in searches])
        stage1 = incumbent
        stats = [sum(getattr(s, a) for s in searches) for a in ("lps", "nodes", "evaluated", "fallbacks")]
        final = stage1
        if tie_break:
            # Stage 2: the other metric among plans within TIE_REL_TOL of the stage-1 optimum.
            limit = stage1.value + TIE_TOL[objective]
            caps = {**cap, objective: limit}
            tied = _Incumbent(self._value(other, stage1.cols), stage1.cols, stage1.start)
            for s, first in zip(range(latest + 1), searches):
                if progress is not None:
                    progress(latest + 1 + s, total)
                candidates = first.bound <= limit
                if not candidates.any():
                    continue
                self._configure(s, other, caps)
                search = _Search(self, tied, start=s, candidates=candidates, objective=other,
                                 caps={objective: limit, **cap})
                search.run()
                stats = [u + v for u, v in zip(stats, (search.lps, search.nodes, search.evaluated, search.fallbacks))]
            final = tied
            if progress is not None:
                progress(total, total)
            stats[0] += self._earlier_hours(final, objective, other, caps, tied.value + TIE_TOL[other])
        return self._solution(final, objective, bound1, stats, stage1.value)

    # ------------------------------------------------------------ internals
    def _metric(self, name: str) -> np.ndarray:
        """Coefficients of a metric on the columns ``self._money`` (GridToGpu, GridToBattery,
        SolarSold, BatteryToGrid): € for "cost", gCO2 for "carbon"."""
        buy, sell, carbon = self._window["buy"], self._window["sell"], self._window["carbon"]
        if name == "cost":
            beta = self.battery.discharge_efficiency
            return np.concatenate([buy, buy, -sell, -beta * sell]) / 1000.0
        return np.concatenate([carbon, carbon, np.zeros_like(carbon), np.zeros_like(carbon)]) / 1000.0

    def _value(self, name: str, cols: np.ndarray) -> float:
        return float(self._metric(name) @ cols[self._money])

    def interchangeable(self, solar, buy, sell, carbon=None) -> np.ndarray:
        """For each adjacent pair (t, t+1): may the two hours be run in
        non-increasing power without losing an optimum (module docstring, 4.)?
        With ``carbon`` given (emissions in the objective or a cap), dark hours
        must also share their carbon intensity."""
        netting_free = (buy[:-1] >= sell[:-1]) & (buy[1:] >= sell[1:])
        dark = (solar[:-1] == 0) & (solar[1:] == 0) & (buy[:-1] == buy[1:])
        if carbon is not None:
            dark &= carbon[:-1] == carbon[1:]
        surplus = ((np.minimum(solar[:-1], solar[1:]) >= self._surplus_w) & (sell[:-1] == sell[1:]))
        return netting_free & (dark | surplus)

    def _load_window(self, solar, buy, sell, carbon=None) -> None:
        """Pass HiGHS the model as built with one window's entries (solar row bounds, Export_Mode's
        M_t, the caps' coefficients, Solar_To_Level's and Own_Supply_To_Level's): no hull columns,
        no basis, nothing left from an earlier window."""
        T = self.hours
        carbon = np.zeros(T) if carbon is None else carbon
        self._window = {"solar": solar, "buy": buy, "sell": sell, "carbon": carbon}
        lp = self._lp_pristine
        value = self._value_pristine.copy()
        upper = self._row_upper_pristine.copy()
        upper[self._solar_row] = solar
        # Export_Mode: export + M_t·z <= M_t with M_t = solar_t + β·ESD_max.
        m_t = solar + self.battery.discharge_efficiency * self.battery.capacity_wh
        value[self._pos_export] = m_t
        upper[self._export_row] = m_t
        for name, pos in self._pos_cap.items():
            value[pos] = self._metric(name)
        value[self._pos_solar_level] = -np.minimum(self.power_w[None, :], solar[:, None])  # -min(P_k, solar_t)
        own = solar + self.battery.discharge_efficiency * self.battery.capacity_wh  # solar_t + β·ESD_max
        value[self._pos_own_level] = -np.minimum(self.power_w[None, :], own[:, None])
        lp.a_matrix_.value_ = value
        lp.row_upper_ = upper
        self._h.passModel(lp)
        lp.a_matrix_.value_ = self._value_pristine
        lp.row_upper_ = self._row_upper_pristine
        self._col_upper = self._col_upper_pristine.copy()
        self._weight = None

    def _configure(self, start: int, objective: str, caps) -> None:
        """Start slot, objective ("cost" or "carbon") and caps ({"cost": €, "carbon": gCO2} upper bounds)."""
        h, T, K = self._h, self.hours, self.gpu.levels
        w = self._window
        self.start = start
        h.changeColsCost(len(self._money), self._money.astype(np.int32), self._metric(objective))
        for name, r in self._cap_row.items():
            bound = caps.get(name, _INF)
            h.changeRowBounds(int(r), -_INF, float(bound) if math.isfinite(bound) else _INF)
        # Start: no level before it, the run may switch on at it.
        upper = np.where(np.arange(T) < start, 0.0, 1.0)
        cols = self._x.astype(np.int32)
        for t in range(T):
            self._col_upper[cols[t]] = upper[t]
        h.changeColsBounds(self._nx, self._x_cols, np.zeros(self._nx), self._col_upper[self._x_cols])
        pause = self._pause_row[1:].astype(np.int32)
        h.changeRowsBounds(T - 1, pause, np.full(T - 1, -_INF), np.where(np.arange(1, T) == start, 1.0, 0.0))
        if T > 1:
            emissions_matter = objective == "carbon" or "carbon" in caps
            on = (self.interchangeable(w["solar"], w["buy"], w["sell"], w["carbon"] if emissions_matter else None)
                  if self.symmetry else np.zeros(T - 1, bool))
            on &= np.arange(T - 1) >= start
            h.changeRowsBounds(T - 1, self._order_row.astype(np.int32), np.where(on, 0.0, -_INF), np.full(T - 1, _INF))

    def _whole_mip(self, cutoff: float):
        """The current start slot, objective and caps as one MIP over all patterns (hull-tightened),
        cut off at ``cutoff``: (status, value, columns, dual bound, nodes)."""
        if self._weight is None:
            self._add_hull()
        h, K, n = self._h, self.gpu.levels, len(self._weight)
        ints = self._int_cols
        h.changeColsBounds(n, self._weight.astype(np.int32), np.zeros(n), np.full(n, _INF))
        self._set_counts(np.zeros(K), np.zeros(K))
        h.changeRowBounds(int(self._convexity_row), 1.0, 1.0)
        h.changeColsIntegrality(len(ints), ints, np.ones(len(ints), np.uint8))
        h.setOptionValue("presolve", "on")
        if math.isfinite(cutoff):
            h.setOptionValue("objective_bound", cutoff)
        try:
            h.run()
            info = h.getInfo()
            status = h.getModelStatus()
            cols = np.asarray(h.getSolution().col_value).copy() if status == highspy.HighsModelStatus.kOptimal else None
            result = (status, info.objective_function_value, cols, info.mip_dual_bound, info.mip_node_count)
        finally:
            h.setOptionValue("objective_bound", _INF)
            h.setOptionValue("presolve", "off")
            h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), np.uint8))
            h.changeRowBounds(int(self._convexity_row), -_INF, _INF)
            h.changeColsBounds(n, self._weight.astype(np.int32), np.zeros(n), np.zeros(n))
            h.clearSolver()
        return result

    def _start_basis(self) -> "highspy.HighsBasis":
        """The basis every window's first LP starts from: the optimal basis of the root LP of one
        fixed window (no sun, flat prices), computed once per model. The same start for every
        window keeps each plan independent of the windows solved before it, and it saves about
        half the simplex iterations of a cold start."""
        if self._reference_basis is None:
            T, K = self.hours, self.gpu.levels
            self._load_window(np.zeros(T), np.full(T, 0.35), np.full(T, 0.3), np.full(T, 300.0))
            self._configure(0, "cost", {})
            self._set_counts(np.zeros(K), np.full(K, T))
            self._h.run()
            self._reference_basis = self._h.getBasis()
        return self._reference_basis

    def _add_hull(self) -> None:
        """Add PatternWeight[v] (model.py, Count_Hull): the counts as a convex combination of the
        hull vertices of the minimal patterns. Fixed at 0 (and the convexity row free) while the
        search fixes the counts; free in a whole-window MIP. Built on first need; the vertices of
        Table 5.1's profile are shipped (:data:`greenai.dispatch.model.HULL_TABLE_PATH`), other
        profiles' are computed by Qhull (seconds for 33k patterns in 7 dimensions)."""
        h, K = self._h, self.gpu.levels
        vertices = hull_vertices(self.gpu, min(self.hours, math.ceil(max(self.gpu.duration_h)))).astype(float)
        n, first = len(vertices), h.getNumCol()
        starts = np.arange(n, dtype=np.int32) * K
        index = np.tile(self._count_row.astype(np.int32), n)
        value = -vertices.ravel()
        h.addCols(n, np.zeros(n), np.zeros(n), np.zeros(n), n * K, starts, index, value)
        self._weight = np.arange(first, first + n)
        h.addRow(-_INF, _INF, n, self._weight.astype(np.int32), np.ones(n))
        self._convexity_row = h.getNumRow() - 1

    def _set_counts(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Bounds on the count rows; the hours' running rows (One_Level_Per_Hour) back to [0, 1]."""
        K, T = self.gpu.levels, self.hours
        self._h.changeRowsBounds(K, self._count_row.astype(np.int32), lo.astype(float), hi.astype(float))
        self._h.changeRowsBounds(T, self._level_row.astype(np.int32), np.zeros(T), np.ones(T))

    def _set_pattern(self, counts: np.ndarray, start: int) -> None:
        """Fix the counts to a pattern and, with them, which hours run: the job never pauses
        (No_Pause), so a plan with this pattern runs exactly hours ``start … start + Σcounts − 1``.
        Fixing each hour's running row (One_Level_Per_Hour) to 1 or 0 is valid for every plan of
        the pattern and removes the relaxation's spreading of fractional hours over the window."""
        K, T = self.gpu.levels, self.hours
        self._h.changeRowsBounds(K, self._count_row.astype(np.int32), counts.astype(float), counts.astype(float))
        t = np.arange(T)
        run = ((t >= start) & (t < start + int(round(counts.sum())))).astype(float)
        self._h.changeRowsBounds(T, self._level_row.astype(np.int32), run, run)

    def _lp(self):
        """Solve the current LP: (value, row duals of the count rows, Level values, all columns) or None."""
        h = self._h
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kUnknown:  # numerical trouble from a warm basis: once more from scratch
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
                return None
            raise DispatchSolveError(f"HiGHS stopped on an LP without an optimum: {status}")
        sol = h.getSolution()
        cols = np.asarray(sol.col_value)
        row_dual = np.asarray(sol.row_dual)
        duals = row_dual[self._count_row]
        self._level_duals = row_dual[self._level_row]  # for the cuts' running-hours term (_Search._cut)
        return h.getInfo().objective_function_value, duals, cols[self._x], cols

    def simultaneous(self, cols: np.ndarray) -> np.ndarray:
        """Per slot, how much a plan imports *and* exports at once [W]: min(import, export)."""
        f, beta = self._flow, self.battery.discharge_efficiency
        imports = cols[f["GridToGpu"]] + cols[f["GridToBattery"]]
        exports = cols[f["SolarSold"]] + beta * cols[f["BatteryToGrid"]]
        return np.minimum(imports, exports)

    def _earlier_hours(self, plan: "_Incumbent", objective: str, other: str, caps: dict, limit: float) -> int:
        """Last tie rule: within each group of interchangeable running hours, the higher levels
        first. A group: hours with no sun and the same buy and sell price and carbon intensity, or
        hours whose sun covers every level the plan uses and the same sell price. Such hours are
        interchangeable up to the battery's timing, so plans that differ only in their order often
        tie in cost and emissions, and which of them the search meets first is an accident of its
        path. Each group
        out of order is rearranged (high to low) and the plan's flows re-solved with its levels
        fixed; the rearranged plan replaces ``plan`` (in place) when it stays within the caps of
        the tie stage (``caps``: the first objective's) and ``limit`` on the other metric, and
        imports and exports in no hour at once. Returns the number of LPs solved."""
        h, K = self._h, self.gpu.levels
        w = self._window
        x = np.round(plan.cols[self._x]).astype(int)
        levels = np.where(x.any(axis=1), x.argmax(axis=1) + 1, 0)
        top = self.power_w[levels.max() - 1] if levels.max() > 0 else 0.0  # the plan's highest draw
        keys = {}
        for t in np.flatnonzero(levels > 0):
            if w["solar"][t] == 0:  # dark: the grid and the battery serve the GPU
                key = ("dark", w["buy"][t], w["sell"][t], w["carbon"][t])
            elif w["solar"][t] >= top:  # the sun covers any level the plan uses: the draw only changes what is left
                key = ("covered", w["sell"][t])
            else:
                continue
            keys.setdefault(key, []).append(int(t))
        groups = [np.array(g) for g in keys.values() if len(g) > 1]
        groups = [g for g in groups if (np.diff(levels[g]) > 0).any()]
        if not groups:
            return 0
        self._configure(plan.start, other, {**caps})
        counts = np.bincount(levels[levels > 0] - 1, minlength=K).astype(float)
        self._set_pattern(counts, plan.start)
        cols_x = self._x_cols
        lps = 0
        for group in sorted(groups, key=lambda g: g[0]):
            trial = levels.copy()
            trial[group] = np.sort(levels[group])[::-1]
            fixed = np.zeros((self.hours, K))
            fixed[np.flatnonzero(trial > 0), trial[trial > 0] - 1] = 1.0
            h.changeColsBounds(self._nx, cols_x, fixed.ravel(), fixed.ravel())
            res = self._lp()
            lps += 1
            if res is None or res[0] > limit or self.simultaneous(res[3]).max() > _SIMULTANEOUS_TOL_W:
                continue
            levels = trial
            plan.cols, plan.value = res[3].copy(), res[0]
        return lps

    def _solution(self, final: "_Incumbent", objective: str, bound: float, stats, best: float) -> PatternSolution:
        """The plan ``final``; ``best`` is the proven optimum's value (stage 1), ``bound`` its bound:
        the gap reported is theirs (the tie-break may add up to ``TIE_TOL`` to the objective)."""
        cols = final.cols
        x = np.round(cols[self._x]).astype(int)
        levels = np.where(x.any(axis=1), x.argmax(axis=1) + 1, 0)
        value = self._value(objective, cols)
        gap = max(0.0, best - bound) / max(abs(best), 1e-10)
        if (gap > MIP_REL_GAP and best - bound > 1e-9) or value > best + 2 * TIE_TOL[objective] + 1e-9:
            raise DispatchSolveError(f"pattern search ended with gap {gap:.2e}")
        flows = {name: cols[idx].copy() for name, idx in self._flow.items()}
        flows["BatteryEnergy"] = cols[self._energy].copy()
        w = self._window
        return PatternSolution(
            cost_eur=self._value("cost", cols), bound_eur=bound, rel_gap=gap, levels=levels,
            gpu_w=np.where(levels > 0, self.power_w[np.maximum(levels - 1, 0)], 0.0), flows_w=flows,
            lps=stats[0], branch_nodes=stats[1], patterns_evaluated=stats[2], mip_fallbacks=stats[3],
            solar_w=w["solar"], buy_eur_per_kwh=w["buy"], sell_eur_per_kwh=w["sell"],
            discharge_efficiency=self.battery.discharge_efficiency,
            emissions_g=self._value("carbon", cols), objective=objective, start_slot=int(final.start))


@dataclass
class _Incumbent:
    """Best plan so far: its objective value, all columns, and its start slot."""

    value: float = math.inf
    cols: np.ndarray | None = None
    start: int = 0


class _Search:
    """Best-first search over patterns with Kelley cuts, then branch-and-bound inside a pattern,
    for one start slot; ``incumbent`` is shared across start slots and improved in place."""

    def __init__(self, problem: PatternDecomposition, incumbent: _Incumbent, start: int = 0, candidates=None,
                 objective: str = "cost", caps=None):
        self.p = problem
        self.inc = incumbent
        self.start = start
        self.candidates = candidates
        self.objective = objective
        self.caps = {name: float(v) for name, v in (caps or {}).items() if math.isfinite(v)}  # as configured
        self.cap_bound = {}  # per capped metric: lower bound on each pattern's LP minimum of it (Kelley cuts)
        self.lps = self.nodes = self.evaluated = self.fallbacks = 0
        self.closed_bound = math.inf  # lowest bound of the subtrees pruned inside patterns
        self.bound = np.full(len(problem.patterns), math.inf)
        self.done = np.ones(len(problem.patterns), bool)

    @property
    def best(self) -> float:
        return self.inc.value

    def tol(self) -> float:
        """Pruning tolerance: a tenth of the allowed gap, plus LP round-off."""
        return MIP_REL_GAP / 10 * abs(self.best) + 1e-12 if math.isfinite(self.best) else 0.0

    def lower_bound(self) -> float:
        """Proven lower bound on every plan of this start slot."""
        open_ = np.where(self.done, np.inf, self.bound)
        return min(float(open_.min()) if len(open_) else math.inf, self.closed_bound,
                   self.best if self.evaluated or self.nodes else math.inf)

    def _offer(self, value: float, cols: np.ndarray) -> None:
        # Strictly better only: among equal plans the earlier found (earlier start) stays.
        if value < self.inc.value - (self.tol() if self.inc.cols is not None else 0.0):
            self.inc.value, self.inc.cols, self.inc.start = value, cols.copy(), self.start

    def feasible(self, levels: np.ndarray, cols: np.ndarray) -> bool:
        return _integral(levels) and bool(self.p.simultaneous(cols).max() <= _SIMULTANEOUS_TOL_W)

    def run(self) -> None:
        p = self.p
        patterns = p.patterns
        K, T = p.gpu.levels, p.hours
        # Root: counts free. Its value bounds every pattern; its counts pick the first pattern.
        p._set_counts(np.zeros(K), np.full(K, T))
        root = p._lp()
        self.lps += 1
        if root is None:
            self.closed_bound = math.inf
            return
        allowed = np.ones(len(patterns), bool) if self.candidates is None else self.candidates.copy()
        allowed &= p._pattern_hours <= T - self.start
        bound = np.where(allowed, root[0], math.inf)  # lower bound on each pattern's optimum
        done = ~allowed  # pattern's optimum known (or proven >= incumbent)
        self.bound, self.done = bound, done
        if not allowed.any() or root[0] >= self.best - self.tol():
            self.closed_bound = min(self.closed_bound, root[0])
            self.done[:] = True
            return
        if self.feasible(root[2], root[3]):  # the relaxation's optimum is a plan: nothing can beat it
            self._offer(root[0], root[3])
            self.closed_bound = min(self.closed_bound, root[0])
            self.done[:] = True
            return
        lp_value = np.full(len(patterns), np.nan)
        counts_root = root[2].sum(axis=0)
        distance = np.where(allowed, np.abs(patterns - counts_root).sum(axis=1), np.inf)
        order_hint = int(np.argmin(distance))
        while True:
            if self.lps > LP_BUDGET or self.fallbacks > FALLBACK_BUDGET:
                self._whole()
                return
            if order_hint is not None:
                j, order_hint = order_hint, None
            else:
                masked = np.where(done, np.inf, bound)
                j = int(np.argmin(masked))
                if masked[j] >= self.best - self.tol():
                    break
            if np.isnan(lp_value[j]):
                p._set_pattern(patterns[j], self.start)
                res = p._lp()
                self.lps += 1
                self.evaluated += 1
                if res is None:
                    lp_value[j] = math.inf
                    bound[j] = math.inf
                    done[j] = True
                    if self.caps:
                        self._cap_cut(j)
                    continue
                value, duals, levels, cols = res
                lp_value[j] = value
                # Kelley cut: F(m) >= F(n_j) + duals·(m - n_j) + (running-hours term) for every pattern m.
                bound[:] = np.maximum(bound, self._cut(value, duals, j))
                bound[j] = value
                if self.feasible(levels, cols):
                    done[j] = True
                    self._offer(value, cols)
                continue
            # LP of pattern j already solved and not a plan: branch inside it.
            p._set_pattern(patterns[j], self.start)
            self._budget = NODE_BUDGET
            self._pattern_low = math.inf
            if not self._branch(0):
                self._mip()
            done[j] = True
            bound[j] = max(bound[j], self._pattern_low)  # lowest leaf or pruned subtree: a bound on the pattern

    def _cut(self, value: float, duals: np.ndarray, j: int) -> np.ndarray:
        """Lower bound on every pattern's LP value from pattern ``j``'s LP (value, count-row duals,
        and the running rows' duals left by ``_lp``). The LP value is a convex function of its
        right-hand sides: the counts and which hours run (1 for the pattern's hours from the start
        slot, 0 elsewhere), so with H(L) the running duals summed over the first L hours from the
        start, F(m) >= F(n_j) + duals·(m − n_j) + H(|m|) − H(|n_j|)."""
        p = self.p
        H = np.zeros(p.hours - self.start + 1)
        np.cumsum(p._level_duals[self.start:], out=H[1:])
        length = p._pattern_length if self.start == 0 else np.minimum(p._pattern_length, p.hours - self.start)
        at = p.patterns @ duals
        at += H[length]
        at += value - at[j]
        return at

    def _cap_cut(self, j: int) -> None:
        """Pattern ``j``'s LP is infeasible under the caps (the ε-constraint's emission cap, the tie
        stage's cap on the first objective). For each capped metric in turn, the pattern's LP
        minimising that metric with its own cap lifted gives a Kelley cut on that minimum, a convex
        function of the right-hand sides; every pattern the cut puts above the cap (by more than a
        margin for the duals' round-off) has no plan under the caps and is dropped at once."""
        p = self.p
        h = p._h
        money = p._money.astype(np.int32)
        for name, limit in self.caps.items():
            row = int(p._cap_row[name])
            h.changeColsCost(len(money), money, p._metric(name))
            h.changeRowBounds(row, -_INF, _INF)
            res = p._lp()
            self.lps += 1
            h.changeColsCost(len(money), money, p._metric(self.objective))
            h.changeRowBounds(row, -_INF, limit)
            margin = 1e-8 + 1e-7 * abs(limit)
            if res is None or res[0] <= limit + margin:  # this cap alone does not exclude the pattern
                continue
            cut = self._cut(res[0], res[1], j)
            self.cap_bound[name] = cut if name not in self.cap_bound else np.maximum(self.cap_bound[name], cut)
            out = (self.cap_bound[name] > limit + margin) & ~self.done
            self.done |= out
            self.bound[out] = math.inf
            return

    def _whole(self) -> None:
        """Hand this start slot whole to HiGHS (hull-tightened MIP), cut off at the incumbent."""
        if self.candidates is not None:  # tie stage: the candidates' patterns only would need a MIP each; take all
            pass
        status, value, cols, dual_bound, nodes = self.p._whole_mip(self.best)
        self.nodes += nodes
        self.fallbacks += 1
        self.whole = True
        if status == highspy.HighsModelStatus.kOptimal:
            self._offer(value, cols)
        elif status not in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
            raise DispatchSolveError(f"HiGHS stopped on a window without an optimum: {status}")
        low = dual_bound if math.isfinite(dual_bound) else (self.best if status != highspy.HighsModelStatus.kInfeasible else math.inf)
        self.closed_bound = min(self.closed_bound, low)
        # Every pattern's bound is now at least the MIP's proven bound.
        self.bound = np.where(self.bound < math.inf, np.maximum(self.bound, low), self.bound)
        self.done[:] = True

    def _mip(self) -> None:
        """HiGHS branch-and-cut on the Level and GridMode binaries with the counts fixed, cut off at the incumbent."""
        p = self.p
        h = p._h
        n = len(p._int_cols)
        h.changeColsIntegrality(n, p._int_cols, np.ones(n, np.uint8))
        if math.isfinite(self.best):
            h.setOptionValue("objective_bound", self.best)
        h.run()
        self.nodes += h.getInfo().mip_node_count
        self.fallbacks += 1
        status = h.getModelStatus()
        dual_bound = h.getInfo().mip_dual_bound
        self.closed_bound = min(self.closed_bound, dual_bound if math.isfinite(dual_bound) else self.best)
        if status != highspy.HighsModelStatus.kInfeasible:
            self._pattern_low = min(self._pattern_low, dual_bound if math.isfinite(dual_bound) else self.best)
        h.setOptionValue("objective_bound", _INF)
        h.changeColsIntegrality(n, p._int_cols, np.zeros(n, np.uint8))
        if status == highspy.HighsModelStatus.kOptimal:
            self._offer(h.getInfo().objective_function_value, np.asarray(h.getSolution().col_value))
        elif status not in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound):
            raise DispatchSolveError(f"HiGHS stopped on a pattern without an optimum: {status}")

    def _branch(self, depth: int) -> bool:
        """Depth-first branch-and-bound with the counts fixed, branching on one
        hour's level (levels ≤ m vs > m, the split of its fractional mass), then
        on one hour's grid mode (import only vs export only) where a plan with
        whole levels still imports and exports in the same hour.
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
            self._pattern_low = min(self._pattern_low, value)
            return True
        spread = 1.0 - levels.max(axis=1)
        both = p.simultaneous(cols)
        if spread.max() <= _INTEGRAL_TOL and _integral(levels) and both.max() <= _SIMULTANEOUS_TOL_W:
            self._pattern_low = min(self._pattern_low, value)
            self._offer(value, cols)
            return True
        if self._budget <= 0:
            return False
        if spread.max() > _INTEGRAL_TOL:
            t = int(np.argmax(spread))
            if p.gpu.levels == 1:  # one level: the hour is off or on
                col = p._x[t].astype(np.int32)
                hi = p._col_upper[col].copy()
                for lo_, hi_ in ((0.0, 0.0), (1.0, 1.0)):
                    h.changeColsBounds(1, col, np.array([lo_]), np.array([hi_]))
                    p._col_upper[col] = hi_
                    ok = self._branch(depth + 1)
                    h.changeColsBounds(1, col, np.array([0.0]), hi)
                    p._col_upper[col] = hi
                    if not ok:
                        return False
                return True
            cumulative = np.cumsum(levels[t])
            m = int(np.argmin(np.abs(cumulative[:-1] - cumulative[-1] / 2)))  # levels 0..m vs m+1..K-1
            K = p.gpu.levels
            cols_t = p._x[t].astype(np.int32)
            lo, hi = p._col_lower[cols_t], p._col_upper[cols_t].copy()
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
        t = int(np.argmax(both))
        col = np.array([p._mode[t]], np.int32)
        for mode in (1.0, 0.0):  # import only, then export only
            h.changeColsBounds(1, col, np.array([mode]), np.array([mode]))
            ok = self._branch(depth + 1)
            h.changeColsBounds(1, col, np.array([0.0]), np.array([1.0]))
            if not ok:
                return False
        return True


def _integral(values: np.ndarray) -> bool:
    return bool(np.abs(values - np.round(values)).max() <= _INTEGRAL_TOL)
