"""Exact fast solver for the thesis' sweeps: a decomposition over level-count patterns.

:class:`PatternDecomposition` solves the dispatch MILP of :mod:`greenai.dispatch.model`
for one window to the same proven optimality (relative gap ≤ 1e-6) much faster
than handing it to HiGHS whole, by its structure: some optimal plan has a
*minimal* pattern (count of hours at each level); each pattern's LP, with its
running hours fixed, is convex in its counts, so every solved LP gives a Kelley
cut bounding all patterns at once; the search (:mod:`greenai.dispatch.pattern_search`)
evaluates the pattern of lowest bound next, branches inside a pattern when its
LP is fractional or buys and sells in one hour, and hands a start slot whole to
HiGHS when too many patterns stay open. Interchangeable adjacent hours are
ordered (symmetry rows); ties between equal plans are broken deterministically
(the other metric, then the earliest start, then higher levels first).
The model is built once per window length and re-solved per window.

The method, its validity arguments and the tie rules: ``docs/dispatch_decomposition.md``.
Tests check this solver against :func:`greenai.dispatch.model.create_model`.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from dataclasses import dataclass

import highspy
import numpy as np

from greenai.dispatch.inputs import Battery, DispatchInputError, GpuProfile, InfeasibleDispatchError, check_series
from greenai.dispatch.model import MIP_REL_GAP, DispatchSolveError, hull_vertices, minimal_patterns
from greenai.dispatch.pattern_search import SIMULTANEOUS_TOL_W, Incumbent, PatternSearch

_INF = highspy.kHighsInf
#: Flow variables of one slot, named as in the Pyomo model.
FLOWS = ("SolarToGpu", "SolarToBattery", "SolarSold", "GridToGpu", "GridToBattery", "BatteryToGpu", "BatteryToGrid")
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
        solved, patterns handed to HiGHS' MIP solver after
        :data:`~greenai.dispatch.pattern_search.NODE_BUDGET` nodes.
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
        import pandas as pd  # heavy: pandas

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
        self.pattern_hours = self.patterns.sum(axis=1)  # hours each pattern runs (the search filters on it per start)
        self.pattern_length = np.round(self.pattern_hours).astype(int)
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

        self.level_cols = np.array([[column(0.0, 1.0, True) for _ in range(K)] for _ in range(T)])  # Level[t, k]
        self._flow = {name: np.array([column(0.0, _INF) for _ in range(T)]) for name in FLOWS}
        self._energy = np.array([column(0.0, _INF) for _ in range(T + 1)])  # BatteryEnergy[t]
        self.mode_cols = np.array([column(0.0, 1.0, True) for _ in range(T)])  # GridMode[t]: 1 import, 0 export
        f, x, e, z = self._flow, self.level_cols, self._energy, self.mode_cols
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
        self.money_cols = np.concatenate([f["GridToGpu"], f["GridToBattery"], f["SolarSold"], f["BatteryToGrid"]])
        self.cap_rows = {name: row(-_INF, _INF, [(c, 0.0) for c in self.money_cols]) for name in ("cost", "carbon")}

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
        self._pos_cap = {name: np.array([position[(int(rr), int(cc))] for cc in self.money_cols])
                         for name, rr in self.cap_rows.items()}
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
        self.highs = h
        self._lp_pristine = lp
        self._x_cols = self.level_cols.ravel().astype(np.int32)
        self.int_cols = np.concatenate([self._x_cols, self.mode_cols.astype(np.int32)])
        self.col_lower, self.col_upper = np.array(lower, float), np.array(upper, float)
        self._col_upper_pristine = self.col_upper.copy()
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
        self.load_window(solar, buy, sell, carbon)  # the plan depends on this window only, not on earlier ones
        other = "carbon" if objective == "cost" else "cost"
        latest = min(latest_start, T - int(math.ceil(min(self.gpu.duration_h))))
        if latest < 0:
            raise InfeasibleDispatchError("no schedule finishes the job inside the window")
        # Stage 1: the objective, over every start slot; the incumbent carries over as a cutoff.
        cap = {"carbon": float(carbon_cap_g)} if carbon_cap_g is not None else {}
        incumbent = Incumbent()
        searches = []
        total = (latest + 1) * (2 if tie_break else 1)
        for s in range(latest + 1):
            self.configure(s, objective, cap)
            if s == 0:
                self.highs.setBasis(start_basis)
            search = PatternSearch(self, incumbent, start=s, objective=objective, caps=cap)
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
            tied = Incumbent(self._value(other, stage1.cols), stage1.cols, stage1.start)
            for s, first in zip(range(latest + 1), searches):
                if progress is not None:
                    progress(latest + 1 + s, total)
                candidates = first.bound <= limit
                if not candidates.any():
                    continue
                self.configure(s, other, caps)
                search = PatternSearch(self, tied, start=s, candidates=candidates, objective=other,
                                 caps={objective: limit, **cap})
                search.run()
                stats = [u + v for u, v in zip(stats, (search.lps, search.nodes, search.evaluated, search.fallbacks))]
            final = tied
            if progress is not None:
                progress(total, total)
            stats[0] += self._earlier_hours(final, objective, other, caps, tied.value + TIE_TOL[other])
        return self._solution(final, objective, bound1, stats, stage1.value)

    # ------------------------------------------------------------ internals
    def metric(self, name: str) -> np.ndarray:
        """Coefficients of a metric on the columns ``self.money_cols`` (GridToGpu, GridToBattery,
        SolarSold, BatteryToGrid): € for "cost", gCO2 for "carbon"."""
        buy, sell, carbon = self._window["buy"], self._window["sell"], self._window["carbon"]
        if name == "cost":
            beta = self.battery.discharge_efficiency
            return np.concatenate([buy, buy, -sell, -beta * sell]) / 1000.0
        return np.concatenate([carbon, carbon, np.zeros_like(carbon), np.zeros_like(carbon)]) / 1000.0

    def _value(self, name: str, cols: np.ndarray) -> float:
        return float(self.metric(name) @ cols[self.money_cols])

    def interchangeable(self, solar, buy, sell, carbon=None) -> np.ndarray:
        """For each adjacent pair (t, t+1): may the two hours be run in
        non-increasing power without losing an optimum (docs/dispatch_decomposition.md, 5.)?
        With ``carbon`` given (emissions in the objective or a cap), dark hours
        must also share their carbon intensity."""
        netting_free = (buy[:-1] >= sell[:-1]) & (buy[1:] >= sell[1:])
        dark = (solar[:-1] == 0) & (solar[1:] == 0) & (buy[:-1] == buy[1:])
        if carbon is not None:
            dark &= carbon[:-1] == carbon[1:]
        surplus = ((np.minimum(solar[:-1], solar[1:]) >= self._surplus_w) & (sell[:-1] == sell[1:]))
        return netting_free & (dark | surplus)

    def load_window(self, solar, buy, sell, carbon=None) -> None:
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
            value[pos] = self.metric(name)
        value[self._pos_solar_level] = -np.minimum(self.power_w[None, :], solar[:, None])  # -min(P_k, solar_t)
        own = solar + self.battery.discharge_efficiency * self.battery.capacity_wh  # solar_t + β·ESD_max
        value[self._pos_own_level] = -np.minimum(self.power_w[None, :], own[:, None])
        lp.a_matrix_.value_ = value
        lp.row_upper_ = upper
        self.highs.passModel(lp)
        lp.a_matrix_.value_ = self._value_pristine
        lp.row_upper_ = self._row_upper_pristine
        self.col_upper = self._col_upper_pristine.copy()
        self._weight = None

    def configure(self, start: int, objective: str, caps) -> None:
        """Start slot, objective ("cost" or "carbon") and caps ({"cost": €, "carbon": gCO2} upper bounds)."""
        h, T, K = self.highs, self.hours, self.gpu.levels
        w = self._window
        self.start = start
        h.changeColsCost(len(self.money_cols), self.money_cols.astype(np.int32), self.metric(objective))
        for name, r in self.cap_rows.items():
            bound = caps.get(name, _INF)
            h.changeRowBounds(int(r), -_INF, float(bound) if math.isfinite(bound) else _INF)
        # Start: no level before it, the run may switch on at it.
        upper = np.where(np.arange(T) < start, 0.0, 1.0)
        cols = self.level_cols.astype(np.int32)
        for t in range(T):
            self.col_upper[cols[t]] = upper[t]
        h.changeColsBounds(self._nx, self._x_cols, np.zeros(self._nx), self.col_upper[self._x_cols])
        pause = self._pause_row[1:].astype(np.int32)
        h.changeRowsBounds(T - 1, pause, np.full(T - 1, -_INF), np.where(np.arange(1, T) == start, 1.0, 0.0))
        if T > 1:
            emissions_matter = objective == "carbon" or "carbon" in caps
            on = (self.interchangeable(w["solar"], w["buy"], w["sell"], w["carbon"] if emissions_matter else None)
                  if self.symmetry else np.zeros(T - 1, bool))
            on &= np.arange(T - 1) >= start
            h.changeRowsBounds(T - 1, self._order_row.astype(np.int32), np.where(on, 0.0, -_INF), np.full(T - 1, _INF))

    def whole_mip(self, cutoff: float):
        """The current start slot, objective and caps as one MIP over all patterns (hull-tightened),
        cut off at ``cutoff``: (status, value, columns, dual bound, nodes)."""
        if self._weight is None:
            self._add_hull()
        h, K, n = self.highs, self.gpu.levels, len(self._weight)
        ints = self.int_cols
        h.changeColsBounds(n, self._weight.astype(np.int32), np.zeros(n), np.full(n, _INF))
        self.set_counts(np.zeros(K), np.zeros(K))
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
            self.load_window(np.zeros(T), np.full(T, 0.35), np.full(T, 0.3), np.full(T, 300.0))
            self.configure(0, "cost", {})
            self.set_counts(np.zeros(K), np.full(K, T))
            self.highs.run()
            self._reference_basis = self.highs.getBasis()
        return self._reference_basis

    def _add_hull(self) -> None:
        """Add PatternWeight[v] (model.py, Count_Hull): the counts as a convex combination of the
        hull vertices of the minimal patterns. Fixed at 0 (and the convexity row free) while the
        search fixes the counts; free in a whole-window MIP. Built on first need; the vertices of
        Table 5.1's profile are shipped (:data:`greenai.dispatch.model.HULL_TABLE_PATH`), other
        profiles' are computed by Qhull (seconds for 33k patterns in 7 dimensions)."""
        h, K = self.highs, self.gpu.levels
        vertices = hull_vertices(self.gpu, min(self.hours, math.ceil(max(self.gpu.duration_h)))).astype(float)
        n, first = len(vertices), h.getNumCol()
        starts = np.arange(n, dtype=np.int32) * K
        index = np.tile(self._count_row.astype(np.int32), n)
        value = -vertices.ravel()
        h.addCols(n, np.zeros(n), np.zeros(n), np.zeros(n), n * K, starts, index, value)
        self._weight = np.arange(first, first + n)
        h.addRow(-_INF, _INF, n, self._weight.astype(np.int32), np.ones(n))
        self._convexity_row = h.getNumRow() - 1

    def set_counts(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Bounds on the count rows; the hours' running rows (One_Level_Per_Hour) back to [0, 1]."""
        K, T = self.gpu.levels, self.hours
        self.highs.changeRowsBounds(K, self._count_row.astype(np.int32), lo.astype(float), hi.astype(float))
        self.highs.changeRowsBounds(T, self._level_row.astype(np.int32), np.zeros(T), np.ones(T))

    def set_pattern(self, counts: np.ndarray, start: int) -> None:
        """Fix the counts to a pattern and, with them, which hours run: the job never pauses
        (No_Pause), so a plan with this pattern runs exactly hours ``start … start + Σcounts − 1``.
        Fixing each hour's running row (One_Level_Per_Hour) to 1 or 0 is valid for every plan of
        the pattern and removes the relaxation's spreading of fractional hours over the window."""
        K, T = self.gpu.levels, self.hours
        self.highs.changeRowsBounds(K, self._count_row.astype(np.int32), counts.astype(float), counts.astype(float))
        t = np.arange(T)
        run = ((t >= start) & (t < start + int(round(counts.sum())))).astype(float)
        self.highs.changeRowsBounds(T, self._level_row.astype(np.int32), run, run)

    def solve_lp(self):
        """Solve the current LP: (value, row duals of the count rows, Level values, all columns) or None."""
        h = self.highs
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
        self.level_duals = row_dual[self._level_row]  # for the cuts' running-hours term (PatternSearch.cut)
        return h.getInfo().objective_function_value, duals, cols[self.level_cols], cols

    def simultaneous(self, cols: np.ndarray) -> np.ndarray:
        """Per slot, how much a plan imports *and* exports at once [W]: min(import, export)."""
        f, beta = self._flow, self.battery.discharge_efficiency
        imports = cols[f["GridToGpu"]] + cols[f["GridToBattery"]]
        exports = cols[f["SolarSold"]] + beta * cols[f["BatteryToGrid"]]
        return np.minimum(imports, exports)

    def _earlier_hours(self, plan: Incumbent, objective: str, other: str, caps: dict, limit: float) -> int:
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
        h, K = self.highs, self.gpu.levels
        w = self._window
        x = np.round(plan.cols[self.level_cols]).astype(int)
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
        self.configure(plan.start, other, {**caps})
        counts = np.bincount(levels[levels > 0] - 1, minlength=K).astype(float)
        self.set_pattern(counts, plan.start)
        cols_x = self._x_cols
        lps = 0
        for group in sorted(groups, key=lambda g: g[0]):
            trial = levels.copy()
            trial[group] = np.sort(levels[group])[::-1]
            fixed = np.zeros((self.hours, K))
            fixed[np.flatnonzero(trial > 0), trial[trial > 0] - 1] = 1.0
            h.changeColsBounds(self._nx, cols_x, fixed.ravel(), fixed.ravel())
            res = self.solve_lp()
            lps += 1
            if res is None or res[0] > limit or self.simultaneous(res[3]).max() > SIMULTANEOUS_TOL_W:
                continue
            levels = trial
            plan.cols, plan.value = res[3].copy(), res[0]
        return lps

    def _solution(self, final: Incumbent, objective: str, bound: float, stats, best: float) -> PatternSolution:
        """The plan ``final``; ``best`` is the proven optimum's value (stage 1), ``bound`` its bound:
        the gap reported is theirs (the tie-break may add up to ``TIE_TOL`` to the objective)."""
        cols = final.cols
        x = np.round(cols[self.level_cols]).astype(int)
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
