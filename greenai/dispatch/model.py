"""The energy dispatch MILP of thesis section 5.3, in Pyomo, solved by HiGHS.

One GPU job, hourly slots ``t = 0 … T-1`` of a window. In each slot the GPU
either runs at one power level ``k`` (Table 5.1) or is off. Its power is
supplied by solar (directly; the rest of the solar output may charge the
battery or be sold), by the battery and by the grid (which may also charge the
battery). The objective is the grid cost minus the sell-back revenue (eqs.
5.1–5.2); a carbon objective and a carbon cap are available beyond the thesis.

How the thesis' loose ends are read (units, battery update, eq. 5.21, pausing,
completion, no buying and selling in one hour) and the formulation's strength
(``tight=True``, ``Count_Hull``): ``docs/dispatch_model.md``. The sweeps use the
exact pattern decomposition of :mod:`greenai.dispatch.decomposition`, checked
against this model; this model remains the reference and the only solver for
``grid_max_w``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyomo.environ as pyo

from greenai.dispatch.inputs import (
    Battery,
    DispatchInputError,
    GpuProfile,
    InfeasibleDispatchError,
    check_series,
)

#: MIP relative gap below which a solution counts as proven optimal.
MIP_REL_GAP = 1e-6
#: ``carbon_cap_g`` meaning "no cap" [gCO2] (1 Gt). Finite on purpose: Pyomo's persistent
#: HiGHS interface drops an infinite bound and then ignores later changes of the parameter.
NO_CARBON_CAP_G = 1e15


@dataclass
class DispatchInputs:
    """Everything one solve needs, for a window of ``hours`` slots.

    Parameters
    ----------
    solar_w : array-like
        Solar AC output available in each slot [W] (= Wh per slot).
    buy_eur_per_kwh, sell_eur_per_kwh : array-like
        Grid buy and sell-back price in each slot [€/kWh].
    gpu : GpuProfile
        Power levels and whole-job durations.
    battery : Battery
        Storage parameters.
    carbon_g_per_kwh : array-like, optional
        Grid carbon intensity in each slot [gCO2/kWh]; zeros if omitted.
    hours : int, optional
        Window length [h] (the deadline); default: the length of ``solar_w``.
        Series may be longer; only their first ``hours`` values are used.
    latest_start : int
        Latest slot at which the job may start. 0 (default) fixes the start at
        the window's first slot, as in the thesis' sweeps; a larger value makes
        the start hour a decision.
    grid_max_w : float
        Bound on grid import per slot [W] (eq. 5.11); ``inf`` by default.
    first_hour : int
        Hour of the year of slot 0, for labelling only.
    """

    solar_w: np.ndarray
    buy_eur_per_kwh: np.ndarray
    sell_eur_per_kwh: np.ndarray
    gpu: GpuProfile
    battery: Battery = field(default_factory=Battery)
    carbon_g_per_kwh: np.ndarray | None = None
    hours: int | None = None
    latest_start: int = 0
    grid_max_w: float = math.inf
    first_hour: int = 0

    def __post_init__(self):
        if self.hours is None:
            self.hours = len(np.asarray(self.solar_w))
        if not isinstance(self.hours, (int, np.integer)) or self.hours <= 0:
            raise DispatchInputError(f"hours (the window/deadline) must be a positive integer, got {self.hours!r}")
        self.hours = int(self.hours)
        n = self.hours
        self.solar_w = check_series("solar_w", self.solar_w, n)[:n]
        self.buy_eur_per_kwh = check_series("buy_eur_per_kwh", self.buy_eur_per_kwh, n)[:n]
        self.sell_eur_per_kwh = check_series("sell_eur_per_kwh", self.sell_eur_per_kwh, n)[:n]
        if self.carbon_g_per_kwh is None:
            self.carbon_g_per_kwh = np.zeros(n)
        self.carbon_g_per_kwh = check_series("carbon_g_per_kwh", self.carbon_g_per_kwh, n)[:n]
        if not (0 <= self.latest_start < n):
            raise DispatchInputError(f"latest_start must lie in [0, {n - 1}], got {self.latest_start}")
        if not (self.grid_max_w > 0):
            raise DispatchInputError(f"grid_max_w must be positive, got {self.grid_max_w}")
        fastest_h = min(self.gpu.duration_h)
        if n < fastest_h:
            raise InfeasibleDispatchError(
                f"a window of {n} h cannot finish a job whose fastest level needs {fastest_h:g} h: "
                f"lengthen the deadline to at least {math.ceil(fastest_h)} h or add a faster level"
            )


def create_model(inputs: DispatchInputs, tight: bool = True) -> pyo.ConcreteModel:
    """Build the dispatch MILP for one window.

    With ``tight=True`` (default) the level counts are restricted to the convex
    hull of the *minimal* level-count patterns (:func:`minimal_patterns`):
    ``Count_Hull``. This removes no optimum (lowering a level never raises the
    cost when prices and carbon intensities are non-negative, so some optimal
    plan has minimal counts) but gives HiGHS the integer hull of the completion
    knapsack (eq. 5.22) as its LP relaxation; tests check the optimum equals
    the plain formulation's (``tight=False``) on many windows.

    Time series, prices and the carbon cap are mutable ``Param`` s, so a sweep
    can change them and re-solve without rebuilding (see :class:`Dispatcher`).

    Returns
    -------
    pyomo.environ.ConcreteModel
        Objective ``Cost`` (€) active; ``Emissions`` (gCO2) deactivated;
        ``Carbon_Cap`` constraint with ``carbon_cap_g = NO_CARBON_CAP_G`` (no cap).
    """
    m = pyo.ConcreteModel(name="greenai_dispatch")
    gpu, bat = inputs.gpu, inputs.battery
    progress, required = gpu.progress_units()
    T = inputs.hours

    m.HOURS = pyo.RangeSet(0, T - 1, doc="hourly slots of the window")
    m.STATES = pyo.RangeSet(0, T, doc="battery state instants: start of each slot, and the window's end")
    m.LEVELS = pyo.RangeSet(1, gpu.levels, doc="GPU power levels (Table 5.1)")

    m.solar_w = pyo.Param(m.HOURS, initialize=dict(enumerate(inputs.solar_w)), mutable=True,
                          within=pyo.NonNegativeReals, doc="solar AC output available [W] (G_t^solar max)")
    m.buy_eur_per_kwh = pyo.Param(m.HOURS, initialize=dict(enumerate(inputs.buy_eur_per_kwh)), mutable=True,
                                  within=pyo.NonNegativeReals, doc="grid price Q_t^grid [€/kWh]")
    m.sell_eur_per_kwh = pyo.Param(m.HOURS, initialize=dict(enumerate(inputs.sell_eur_per_kwh)), mutable=True,
                                   within=pyo.NonNegativeReals, doc="sell-back price Q_t^grid' [€/kWh]")
    m.carbon_g_per_kwh = pyo.Param(m.HOURS, initialize=dict(enumerate(inputs.carbon_g_per_kwh)), mutable=True,
                                   within=pyo.NonNegativeReals, doc="grid carbon intensity [gCO2/kWh]")
    m.level_power_w = pyo.Param(m.LEVELS, initialize={k + 1: p for k, p in enumerate(gpu.power_w)},
                                doc="P_k [W] (eq. 5.6)")
    m.level_progress = pyo.Param(m.LEVELS, initialize={k + 1: p for k, p in enumerate(progress)},
                                 doc="progress of one hour at level k, L/J_k [units]")
    m.progress_required = pyo.Param(initialize=required, doc="progress of the whole job, L = lcm(J) [units]")
    m.battery_capacity_wh = pyo.Param(initialize=bat.capacity_wh, mutable=True, doc="ESD_max [Wh]")
    m.battery_initial_wh = pyo.Param(initialize=bat.initial_wh, mutable=True, doc="ESD at the window start [Wh]")
    m.charge_efficiency = pyo.Param(initialize=bat.charge_efficiency, doc="α")
    m.discharge_efficiency = pyo.Param(initialize=bat.discharge_efficiency, doc="β")
    m.self_discharge_per_h = pyo.Param(initialize=bat.self_discharge_per_h, doc="θ [1/h]")
    m.carbon_cap_g = pyo.Param(initialize=NO_CARBON_CAP_G, mutable=True, within=pyo.Reals,
                               doc="cap on grid emissions [gCO2]; NO_CARBON_CAP_G = no cap")
    m.latest_start = pyo.Param(initialize=inputs.latest_start, doc="latest slot the job may start in")

    # Decisions.
    m.Level = pyo.Var(m.HOURS, m.LEVELS, within=pyo.Binary, doc="1 if the GPU runs at level k in slot t (y_tk, eq. 5.4)")
    m.Start = pyo.Var(m.HOURS, within=pyo.Binary, doc="1 if the job starts in slot t")
    for t in m.HOURS:
        if t > inputs.latest_start:
            m.Start[t].fix(0)
    grid_bounds = (0, None if math.isinf(inputs.grid_max_w) else inputs.grid_max_w)
    nonneg = pyo.NonNegativeReals
    m.SolarToGpu = pyo.Var(m.HOURS, within=nonneg, doc="P_t^solar [W]")
    m.SolarToBattery = pyo.Var(m.HOURS, within=nonneg, doc="R_t^solar [W]")
    m.SolarSold = pyo.Var(m.HOURS, within=nonneg, doc="W_t^solar [W]")
    m.GridToGpu = pyo.Var(m.HOURS, within=nonneg, bounds=grid_bounds, doc="P_t^grid [W]")
    m.GridToBattery = pyo.Var(m.HOURS, within=nonneg, bounds=grid_bounds, doc="R_t^grid [W]")
    m.BatteryToGpu = pyo.Var(m.HOURS, within=nonneg, doc="D_t^dc, drawn from storage [W]")
    m.BatteryToGrid = pyo.Var(m.HOURS, within=nonneg, doc="D_t^grid, drawn from storage [W]")
    m.BatteryEnergy = pyo.Var(m.STATES, within=nonneg, doc="ESD_t, stored energy at the start of slot t [Wh]")
    m.GridMode = pyo.Var(m.HOURS, within=pyo.Binary, doc="1: slot t may import from the grid, 0: it may export")

    # Expressions.
    m.Running = pyo.Expression(m.HOURS, rule=lambda m, t: sum(m.Level[t, k] for k in m.LEVELS))
    m.GpuPower = pyo.Expression(m.HOURS, rule=lambda m, t: sum(m.level_power_w[k] * m.Level[t, k] for k in m.LEVELS),
                                doc="P_t, the GPU's draw [W] (eq. 5.8)")
    m.GridImport = pyo.Expression(m.HOURS, rule=lambda m, t: m.GridToGpu[t] + m.GridToBattery[t],
                                  doc="G_t^grid (eq. 5.12) [W]")
    m.GridExport = pyo.Expression(
        m.HOURS, rule=lambda m, t: m.SolarSold[t] + m.discharge_efficiency * m.BatteryToGrid[t],
        doc="W_t^grid (eq. 5.14) [W]")
    m.BatteryCharge = pyo.Expression(m.HOURS, rule=lambda m, t: m.SolarToBattery[t] + m.GridToBattery[t],
                                     doc="R_t (eq. 5.13) [W]")
    m.BatteryDischarge = pyo.Expression(m.HOURS, rule=lambda m, t: m.BatteryToGpu[t] + m.BatteryToGrid[t])
    m.HourCost = pyo.Expression(
        m.HOURS,
        rule=lambda m, t: (m.buy_eur_per_kwh[t] * m.GridImport[t] - m.sell_eur_per_kwh[t] * m.GridExport[t]) / 1000,
        doc="C_t (eq. 5.2) [€]")
    m.HourEmissions = pyo.Expression(m.HOURS, rule=lambda m, t: m.carbon_g_per_kwh[t] * m.GridImport[t] / 1000,
                                     doc="grid emissions [gCO2]")

    # Constraints.
    m.One_Level_Per_Hour = pyo.Constraint(
        m.HOURS, rule=lambda m, t: m.Running[t] <= 1,
        doc="eq. 5.7: at most one level per slot (none = GPU off before start / after completion)")
    m.Start_Once = pyo.Constraint(expr=sum(m.Start[t] for t in m.HOURS) == 1, doc="the job starts exactly once")
    m.No_Pause = pyo.Constraint(
        m.HOURS,
        rule=lambda m, t: m.Running[t] - (m.Running[t - 1] if t > 0 else 0) <= m.Start[t],
        doc="section 5.4: once started the job runs without interruption (it can switch on only at its start)")
    import_bound_w = max(gpu.power_w) + bat.capacity_wh / bat.charge_efficiency
    m.Import_Mode = pyo.Constraint(
        m.HOURS, rule=lambda m, t: m.GridImport[t] <= import_bound_w * m.GridMode[t],
        doc="no export and import in one slot: import only in import mode (bound P_max + ESD_max/α)")
    m.Export_Mode = pyo.Constraint(
        m.HOURS,
        rule=lambda m, t: m.GridExport[t] <= (m.solar_w[t] + m.discharge_efficiency * m.battery_capacity_wh)
        * (1 - m.GridMode[t]),
        doc="no export and import in one slot: export only in export mode (bound solar_t + β·ESD_max)")
    m.Solar_Split = pyo.Constraint(
        m.HOURS, rule=lambda m, t: m.SolarToGpu[t] + m.SolarToBattery[t] + m.SolarSold[t] <= m.solar_w[t],
        doc="eqs. 5.9-5.10: solar to GPU, battery and grid within what the array produces")
    m.Gpu_Supply = pyo.Constraint(
        m.HOURS,
        rule=lambda m, t: m.SolarToGpu[t] + m.GridToGpu[t] + m.discharge_efficiency * m.BatteryToGpu[t] == m.GpuPower[t],
        doc="eqs. 5.20-5.21: supply meets the GPU's draw at the selected level")
    m.Battery_Initial = pyo.Constraint(expr=m.BatteryEnergy[0] == m.battery_initial_wh, doc="eq. 5.16: ESD starts at its initial energy")
    m.Battery_Balance = pyo.Constraint(
        m.HOURS,
        rule=lambda m, t: m.BatteryEnergy[t + 1] == (1 - m.self_discharge_per_h)
        * (m.BatteryEnergy[t] + m.charge_efficiency * m.BatteryCharge[t] - m.BatteryDischarge[t]),
        doc="eq. 5.15: stored energy after the slot's charge, discharge and self-discharge")
    m.Battery_Discharge_Limit = pyo.Constraint(
        m.HOURS, rule=lambda m, t: m.BatteryDischarge[t] <= m.BatteryEnergy[t],
        doc="eq. 5.18: discharge at most what is stored at the slot's start")
    m.Battery_Charge_Limit = pyo.Constraint(
        m.HOURS, rule=lambda m, t: m.BatteryEnergy[t] + m.charge_efficiency * m.BatteryCharge[t] <= m.battery_capacity_wh,
        doc="eqs. 5.17, 5.19: stored energy never exceeds ESD_max")
    m.Job_Completion = pyo.Constraint(
        expr=sum(m.level_progress[k] * m.Level[t, k] for t in m.HOURS for k in m.LEVELS) >= m.progress_required,
        doc="eq. 5.22: the hours run complete the job (each hour at level k does 1/J_k)")
    m.Carbon_Cap = pyo.Constraint(
        expr=sum(m.HourEmissions[t] for t in m.HOURS) <= m.carbon_cap_g,
        doc="beyond the thesis: grid emissions at most carbon_cap_g")
    if tight:
        # A plan never needs more than ceil(max J) running hours: every hour adds at least
        # 1/max J, so switching off the last hour of a longer run keeps it complete.
        vertices = hull_vertices(inputs.gpu, min(T, math.ceil(max(gpu.duration_h))))
        m.PATTERNS = pyo.RangeSet(0, len(vertices) - 1, doc="vertices of the hull of minimal level-count patterns")
        m.pattern_count = pyo.Param(
            m.PATTERNS, m.LEVELS, initialize={(v, k + 1): int(vertices[v, k]) for v in range(len(vertices)) for k in range(gpu.levels)},
            doc="hours at level k in pattern v")
        m.PatternWeight = pyo.Var(m.PATTERNS, within=pyo.NonNegativeReals, doc="convex weight of pattern v")
        m.Pattern_Convexity = pyo.Constraint(expr=sum(m.PatternWeight[v] for v in m.PATTERNS) == 1,
                                             doc="weights of the patterns sum to one")
        m.Count_Hull = pyo.Constraint(
            m.LEVELS,
            rule=lambda m, k: sum(m.Level[t, k] for t in m.HOURS) == sum(m.pattern_count[v, k] * m.PatternWeight[v] for v in m.PATTERNS),
            doc="eq. 5.22 tightened: hours per level lie in the hull of the minimal completing patterns")
    m.Cost = pyo.Objective(expr=sum(m.HourCost[t] for t in m.HOURS), sense=pyo.minimize, doc="eq. 5.1 [€]")
    m.Emissions = pyo.Objective(expr=sum(m.HourEmissions[t] for t in m.HOURS), sense=pyo.minimize, doc="[gCO2]")
    m.Emissions.deactivate()
    return m


def minimal_patterns(gpu: GpuProfile, max_hours: int) -> np.ndarray:
    """All *minimal* level-count patterns of at most ``max_hours`` hours.

    A pattern ``c`` (hours at each level) completes the job (``Σ c_k L/J_k ≥ L``)
    and is minimal when lowering any one hour by one level (k ≥ 2) would not.
    Every completing plan can be turned into one with a minimal pattern by
    lowering levels one step at a time, which never raises cost or emissions.

    Returns
    -------
    numpy.ndarray
        Shape (patterns, levels), integer hours per level.
    """
    return _minimal_patterns(gpu.power_w, gpu.duration_h, int(max_hours)).copy()


@functools.lru_cache(maxsize=64)
def _minimal_patterns(power_w, duration_h, max_hours: int) -> np.ndarray:
    # Breadth-first over levels, top level first, every partial pattern a numpy row.
    progress, required = GpuProfile(power_w, duration_h).progress_units()
    K = len(progress)
    u = np.array(progress, dtype=np.int64)
    # Progress lost by lowering one hour from level k to k-1 (none for the lowest level).
    step = np.array([math.inf] + [progress[k] - progress[k - 1] for k in range(1, K)])
    counts = np.zeros((1, K), np.int64)
    left = np.array([max_hours], np.int64)  # hours still free
    prog = np.zeros(1, np.int64)  # progress of the hours chosen so far
    min_step = np.array([math.inf])  # smallest loss of lowering one chosen hour

    def expand(x_low, x_high):
        reps = np.maximum(0, x_high - x_low + 1)
        rows = np.repeat(np.arange(len(reps)), reps)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(reps) - reps, reps)
        return rows, x_low[rows] + within

    for k in range(K - 1, 0, -1):
        # Keep partial patterns that are still minimal and can still complete with lower levels:
        # x hours at level k keep the row when prog + x·u_k − min_step' < required (minimal) and
        # prog + x·u_k + (left − x)·u_{k−1} >= required (completable), both linear in x, so each
        # row's admissible x form the range [x_low, x_high] (x = 0 checked on its own: it leaves
        # min_step unchanged). Only the kept rows are generated.
        d = int(u[k] - u[k - 1])
        if d <= 0:  # a level no faster than the one below: enumerate every x and filter
            rows, x = expand(np.zeros_like(left), left)
            new_prog, new_left = prog[rows] + x * u[k], left[rows] - x
            new_step = np.where(x > 0, np.minimum(min_step[rows], step[k]), min_step[rows])
            keep = (new_prog - new_step < required) & (new_prog + new_left * u[k - 1] >= required)
            rows, x = rows[keep], x[keep]
        else:
            zero = (prog - min_step < required) & (prog + left * u[k - 1] >= required)
            reach = required + np.minimum(min_step, step[k]).astype(np.int64) - prog  # x·u_k < reach
            x_high = np.minimum(left, np.where(reach > 0, (reach - 1) // u[k], -1))
            x_low = np.maximum(1, -(-(required - prog - left * u[k - 1]) // d))
            rows, x = expand(x_low, x_high)
            zero_rows = np.flatnonzero(zero)
            rows = np.concatenate([zero_rows, rows])
            x = np.concatenate([np.zeros(len(zero_rows), np.int64), x])
        counts = counts[rows]
        counts[:, k] = x
        min_step = np.where(x > 0, np.minimum(min_step[rows], step[k]), min_step[rows])
        left, prog = left[rows] - x, prog[rows] + x * u[k]
    # Lowest level: the counts that complete the job while no chosen hour can be lowered.
    x_low = np.maximum(0, -(-(required - prog) // u[0]))
    slack = np.where(np.isinf(min_step), np.inf, required + min_step - prog)
    x_high = np.where(np.isinf(slack), left, np.minimum(left, np.ceil(np.nan_to_num(slack, posinf=0) / u[0]) - 1))
    rows, x = expand(x_low, x_high.astype(np.int64))
    counts = counts[rows]
    counts[:, 0] = x
    return counts[np.lexsort(counts.T[::-1])][::-1].astype(int)


#: Precomputed :func:`hull_vertices` (Qhull takes 1-9 s per size for Table 5.1's profile at
#: 25-32 h, paid again by every worker process): one entry per (power_w, duration_h,
#: max_hours), used only on an exact match, otherwise computed. Rewrite with
#: :func:`write_hull_table`; ``tests/test_dispatch_model.py`` recomputes entries and compares.
HULL_TABLE_PATH = Path(__file__).resolve().parent.parent / "data_files" / "dispatch_hull_vertices.json"


@functools.lru_cache(maxsize=1)
def _hull_table() -> dict:
    if not HULL_TABLE_PATH.exists():
        return {}
    data = json.loads(HULL_TABLE_PATH.read_text())
    return {(tuple(float(p) for p in e["power_w"]), tuple(float(d) for d in e["duration_h"]), int(e["max_hours"])):
            np.array(e["vertices"], dtype=int).reshape(-1, len(e["power_w"])) for e in data["hulls"]}


def _compute_hull_vertices(power_w, duration_h, max_hours: int) -> np.ndarray:
    patterns = _minimal_patterns(power_w, duration_h, max_hours)
    if len(patterns) <= patterns.shape[1] + 1:
        return patterns
    from scipy.spatial import ConvexHull, QhullError  # heavy: scipy

    try:
        hull = ConvexHull(patterns.astype(float))
    except QhullError:  # patterns lie in a lower-dimensional subspace: keep them all
        return patterns
    return patterns[np.sort(hull.vertices)]


@functools.lru_cache(maxsize=64)
def _hull_vertices(power_w, duration_h, max_hours: int) -> np.ndarray:
    key = (tuple(float(p) for p in power_w), tuple(float(d) for d in duration_h), int(max_hours))
    stored = _hull_table().get(key)
    return stored if stored is not None else _compute_hull_vertices(power_w, duration_h, max_hours)


def write_hull_table(gpu: GpuProfile, hours, path: Path | None = None) -> Path:
    """Compute :func:`hull_vertices` of ``gpu`` for each of ``hours`` and write them to ``path``
    (JSON; default :data:`HULL_TABLE_PATH`)."""
    path = HULL_TABLE_PATH if path is None else Path(path)
    hulls = [{"power_w": list(gpu.power_w), "duration_h": list(gpu.duration_h), "max_hours": int(h),
              "vertices": _compute_hull_vertices(gpu.power_w, gpu.duration_h, int(h)).tolist()} for h in hours]
    text = json.dumps({"note": "convex-hull vertices of the minimal level-count patterns (greenai.dispatch.model)",
                       "hulls": hulls}, separators=(",", ":"))
    path.write_text(text + "\n")
    _hull_table.cache_clear()
    _hull_vertices.cache_clear()
    return path


def hull_vertices(gpu: GpuProfile, max_hours: int) -> np.ndarray:
    """Vertices of the convex hull of :func:`minimal_patterns` (cached)."""
    return _hull_vertices(gpu.power_w, gpu.duration_h, int(max_hours)).copy()


class DispatchSolveError(RuntimeError):
    """HiGHS did not prove an optimum (time limit, numerical trouble)."""


def make_solver(time_limit_s: float | None = None):
    """A HiGHS solver through Pyomo's persistent interface, gap 1e-6, silent, one thread."""
    from pyomo.contrib.solver.solvers.highs import Highs  # heavy: pyomo

    solver = Highs()
    solver.config.tee = False
    solver.config.rel_gap = MIP_REL_GAP
    solver.config.abs_gap = 0.0
    solver.config.load_solutions = False
    solver.config.raise_exception_on_nonoptimal_result = False
    # One thread, as every HiGHS of greenai.dispatch (decomposition.quiet_highs): HiGHS keeps one
    # scheduler per process and refuses a run whose thread count differs from it.
    solver.config.solver_options["threads"] = 1
    if time_limit_s is not None:
        solver.config.time_limit = time_limit_s
    return solver


def solve(model: pyo.ConcreteModel, solver=None) -> dict:
    """Solve ``model`` to proven optimality and return a summary.

    Raises
    ------
    InfeasibleDispatchError
        When no schedule finishes the job in the window.
    DispatchSolveError
        When HiGHS stops without proving optimality.
    """
    from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition  # heavy: pyomo

    solver = solver or make_solver()
    results = solver.solve(model)
    tc = results.termination_condition
    if tc in (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded):
        raise InfeasibleDispatchError(
            "no schedule finishes the job inside the window with these inputs (deadline too short, "
            "or grid_max_w / carbon cap too tight): lengthen the window or relax the limits")
    if tc != TerminationCondition.convergenceCriteriaSatisfied or results.solution_status != SolutionStatus.optimal:
        raise DispatchSolveError(f"HiGHS stopped without a proven optimum: {tc}")
    results.solution_loader.load_vars()
    bound = results.objective_bound
    value = pyo.value(model.Cost) if model.Cost.active else pyo.value(model.Emissions)
    gap = abs(value - bound) / max(abs(value), 1e-10) if bound is not None else 0.0
    return {"objective": value, "bound": bound, "rel_gap": gap, "cost_eur": pyo.value(model.Cost),
            "emissions_g": pyo.value(model.Emissions)}


def schedule(model: pyo.ConcreteModel, first_hour: int = 0) -> "pd.DataFrame":
    """The solved plan, one row per slot: level, GPU power and every flow [W = Wh]."""
    import pandas as pd  # heavy: pandas

    rows = []
    for t in model.HOURS:
        levels = [k for k in model.LEVELS if pyo.value(model.Level[t, k]) > 0.5]
        k = levels[0] if levels else 0
        rows.append(
            {
                "slot": t,
                "hour": first_hour + t,
                "level": k,
                "gpu_w": float(pyo.value(model.level_power_w[k])) if k else 0.0,
                "solar_w": pyo.value(model.solar_w[t]),
                "solar_to_gpu_w": pyo.value(model.SolarToGpu[t]),
                "solar_to_battery_w": pyo.value(model.SolarToBattery[t]),
                "solar_sold_w": pyo.value(model.SolarSold[t]),
                "grid_to_gpu_w": pyo.value(model.GridToGpu[t]),
                "grid_to_battery_w": pyo.value(model.GridToBattery[t]),
                "battery_to_gpu_w": pyo.value(model.BatteryToGpu[t]),
                "battery_to_grid_w": pyo.value(model.BatteryToGrid[t]),
                "battery_start_wh": pyo.value(model.BatteryEnergy[t]),
                "battery_end_wh": pyo.value(model.BatteryEnergy[t + 1]),
                "buy_eur_per_kwh": pyo.value(model.buy_eur_per_kwh[t]),
                "sell_eur_per_kwh": pyo.value(model.sell_eur_per_kwh[t]),
                "cost_eur": pyo.value(model.HourCost[t]),
                "emissions_g": pyo.value(model.HourEmissions[t]),
            }
        )
    return pd.DataFrame(rows)
