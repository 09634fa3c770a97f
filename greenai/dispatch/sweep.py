"""Sweeps of the dispatch model (thesis section 5.4) and the decisions beyond it.

* :func:`run_sweep` — start hour × deadline → a tidy table (Figs 5.6, 5.7),
  every solve proven optimal. By default each deadline is solved by the
  pattern decomposition (:mod:`greenai.dispatch.decomposition`, one HiGHS model
  per deadline re-solved without rebuilding); ``method="milp"`` re-solves the
  Pyomo MILP instead. Deadlines are spread over processes.
* :func:`headline` — per deadline the minimum and maximum cost and the best
  start hour (the thesis' numbers of section 5.4).
* :func:`best_start` — the start hour as a decision: the cheapest start within
  a window.
* :func:`cost_carbon_curve` — the cost/CO2 trade-off by the ε-constraint method.
* :func:`solve_window` — one window by the decomposition, any objective/cap/start.

Every function solves to proven optimality by the pattern decomposition by
default and by the Pyomo MILP with ``method="milp"`` (tests check both agree).
"""

from __future__ import annotations

import functools
import math
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from greenai.dispatch import inputs as dispatch_inputs
from greenai.dispatch.decomposition import PatternDecomposition, PatternSolution
from greenai.dispatch.model import NO_CARBON_CAP_G, DispatchInputs, create_model, make_solver, schedule, solve

THESIS_DEADLINES_H = (23, 25, 27, 29, 31, 32)
THESIS_START_HOURS = tuple(range(144))


def window_inputs(
    year: pd.DataFrame,
    first_hour: int,
    hours: int,
    gpu: dispatch_inputs.GpuProfile | None = None,
    battery: dispatch_inputs.Battery | None = None,
    latest_start: int = 0,
) -> DispatchInputs:
    """The :class:`DispatchInputs` of ``hours`` slots from ``first_hour`` of
    ``year`` (a table like :func:`greenai.dispatch.inputs.year_inputs`)."""
    if first_hour < 0 or first_hour + hours > len(year):
        raise dispatch_inputs.DispatchInputError(
            f"window {first_hour}..{first_hour + hours - 1} is outside the {len(year)} hours given")
    w = year.iloc[first_hour:first_hour + hours]
    return DispatchInputs(
        solar_w=w["solar_w"].to_numpy(),
        buy_eur_per_kwh=w["buy_eur_per_kwh"].to_numpy(),
        sell_eur_per_kwh=w["sell_eur_per_kwh"].to_numpy(),
        carbon_g_per_kwh=w["carbon_g_per_kwh"].to_numpy() if "carbon_g_per_kwh" in w else None,
        gpu=gpu or dispatch_inputs.thesis_gpu_profile(),
        battery=battery or dispatch_inputs.Battery(),
        hours=hours,
        latest_start=latest_start,
        first_hour=first_hour,
    )


class Dispatcher:
    """One model for one window length, re-solved for many windows.

    The model is built once; :meth:`solve` writes a window's series into its
    mutable parameters and re-solves through the persistent HiGHS interface.
    """

    def __init__(self, template: DispatchInputs, tight: bool = True):
        self.hours = template.hours
        self.model = create_model(template, tight=tight)
        self.solver = make_solver()

    def solve(self, inputs: DispatchInputs) -> dict:
        if inputs.hours != self.hours:
            raise dispatch_inputs.DispatchInputError(f"this Dispatcher solves {self.hours}-h windows, got {inputs.hours}")
        m = self.model
        for t in range(self.hours):
            m.solar_w[t] = float(inputs.solar_w[t])
            m.buy_eur_per_kwh[t] = float(inputs.buy_eur_per_kwh[t])
            m.sell_eur_per_kwh[t] = float(inputs.sell_eur_per_kwh[t])
            m.carbon_g_per_kwh[t] = float(inputs.carbon_g_per_kwh[t])
        return solve(m, self.solver)


def _row(cost_eur, emissions_g, rel_gap, levels, gpu_w, grid_import_w, solar_to_gpu_w, solar_sold_w, solar_w) -> dict:
    """One sweep row from a plan's per-slot series [W = Wh]."""
    levels = np.asarray(levels)
    return {
        "cost_eur": float(cost_eur),
        "emissions_g": float(emissions_g),
        "rel_gap": float(rel_gap),
        "gpu_energy_wh": float(np.sum(gpu_w)),
        "grid_import_wh": float(np.sum(grid_import_w)),
        "solar_to_gpu_wh": float(np.sum(solar_to_gpu_w)),
        "solar_sold_wh": float(np.sum(solar_sold_w)),
        "solar_wh": float(np.sum(solar_w)),
        "run_hours": int((levels > 0).sum()),
        "levels": "".join(str(k) for k in levels),
    }


def summarize(model: pyo.ConcreteModel, result: dict, first_hour: int) -> dict:
    """One sweep row from a solved Pyomo model."""
    plan = schedule(model, first_hour)
    return _row(result["cost_eur"], result["emissions_g"], result["rel_gap"], plan["level"], plan["gpu_w"],
                plan["grid_to_gpu_w"] + plan["grid_to_battery_w"], plan["solar_to_gpu_w"], plan["solar_sold_w"],
                plan["solar_w"])


def summarize_solution(solution: PatternSolution, inputs: DispatchInputs) -> dict:
    """One sweep row from a :class:`PatternSolution` (same columns as :func:`summarize`)."""
    f = solution.flows_w
    grid_import = f["GridToGpu"] + f["GridToBattery"]
    return _row(solution.cost_eur, np.sum(inputs.carbon_g_per_kwh * grid_import) / 1000, solution.rel_gap,
                solution.levels, solution.gpu_w, grid_import, f["SolarToGpu"], f["SolarSold"], inputs.solar_w)


METHODS = ("decomposition", "milp")


@functools.lru_cache(maxsize=8)
def _process_solver(hours: int, gpu: dispatch_inputs.GpuProfile, battery: dispatch_inputs.Battery) -> PatternDecomposition:
    """One :class:`PatternDecomposition` per window length in this (worker) process, reused by
    the sweep jobs and capped points it solves (each solve starts from the pristine model, so reuse changes no plan)."""
    return PatternDecomposition(hours, gpu, battery)


def _sweep_one_deadline(args) -> list[dict]:
    year, deadline_h, starts, gpu, battery, method = args
    if method == "decomposition":
        solver = _process_solver(deadline_h, gpu, battery)
    else:
        dispatcher = Dispatcher(window_inputs(year, starts[0], deadline_h, gpu, battery), tight=True)
    rows = []
    for start in starts:
        inputs = window_inputs(year, start, deadline_h, gpu, battery)
        t0 = time.perf_counter()
        if method == "decomposition":
            solution = solver.solve(inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh,
                                    inputs.carbon_g_per_kwh)
            solve_s = time.perf_counter() - t0
            row = summarize_solution(solution, inputs)
        else:
            result = dispatcher.solve(inputs)
            solve_s = time.perf_counter() - t0
            row = summarize(dispatcher.model, result, start)
        rows.append({"deadline_h": deadline_h, "start_hour": start, **row, "solve_s": solve_s})
    return rows


def run_sweep(
    year: pd.DataFrame | None = None,
    starts=THESIS_START_HOURS,
    deadlines=THESIS_DEADLINES_H,
    gpu: dispatch_inputs.GpuProfile | None = None,
    battery: dispatch_inputs.Battery | None = None,
    processes: int = 2,
    method: str = "decomposition",
) -> pd.DataFrame:
    """Solve every (start hour, deadline) to proven optimality (gap ≤ 1e-6).

    Parameters
    ----------
    method : {"decomposition", "milp"}
        ``"decomposition"`` (default): :class:`~greenai.dispatch.decomposition.PatternDecomposition`,
        the fast one; ``"milp"``: the Pyomo model (hull-tightened) re-solved by
        HiGHS, much slower at deadlines 23–25 h (timings: ``results/benchmarks/``).
        Both prove the same optimum.

    Returns
    -------
    pandas.DataFrame
        One row per solve: ``deadline_h``, ``start_hour``, ``cost_eur``,
        ``emissions_g``, energies [Wh], ``run_hours``, ``levels`` (one digit
        per slot, 0 = off) and ``solve_s``.
    """
    if method not in METHODS:
        raise dispatch_inputs.DispatchInputError(f"method must be one of {METHODS}, got {method!r}")
    year = dispatch_inputs.year_inputs() if year is None else year
    gpu = gpu or dispatch_inputs.thesis_gpu_profile()
    battery = battery or dispatch_inputs.Battery()
    starts = list(starts)
    # Jobs of one deadline each (each builds its model once, ~0.1 s), shortest deadline (the
    # slowest windows) first; the starts are split so that there are about three jobs per
    # process, which keeps the workers busy to the end. Every window is solved from the
    # pristine model, so the split changes no result.
    chunks = max(1, -(-3 * max(1, processes) // max(1, len(deadlines)))) if processes > 1 else 1
    jobs = [
        (year, d, part, gpu, battery, method)
        for d in sorted(deadlines)
        for part in (starts[i::chunks] for i in range(chunks))
        if part
    ]
    if processes > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            parts = list(pool.map(_sweep_one_deadline, jobs))
    else:
        parts = [_sweep_one_deadline(job) for job in jobs]
    table = pd.DataFrame([row for part in parts for row in part])
    return table.sort_values(["deadline_h", "start_hour"]).reset_index(drop=True)


#: start hours whose costs differ by at most this much [€] are equally cheap (the solver proves optima to 1e-6)
BEST_START_TOL_EUR = 1e-6


def cheapest_start(group: pd.DataFrame) -> pd.Series:
    """The row of the cheapest start hour: cost within :data:`BEST_START_TOL_EUR` of the minimum, then
    lower emissions, then the earlier start (the same rule as ties between plans)."""
    tied = group[group["cost_eur"] <= group["cost_eur"].min() + BEST_START_TOL_EUR]
    return tied.sort_values(["emissions_g", "start_hour"], kind="stable").iloc[0]


def headline(table: pd.DataFrame) -> pd.DataFrame:
    """Per deadline: minimum and maximum cost [€] and the best start hour (:func:`cheapest_start`)."""
    rows = []
    for deadline, group in table.groupby("deadline_h"):
        best = cheapest_start(group)
        worst = group.loc[group["cost_eur"].idxmax()]
        rows.append({
            "deadline_h": deadline,
            "min_cost_eur": best["cost_eur"],
            "best_start_hour": int(best["start_hour"]),
            "max_cost_eur": worst["cost_eur"],
            "worst_start_hour": int(worst["start_hour"]),
            "mean_cost_eur": group["cost_eur"].mean(),
        })
    return pd.DataFrame(rows)


def best_start(
    year: pd.DataFrame,
    earliest_hour: int,
    latest_end_hour: int,
    gpu: dispatch_inputs.GpuProfile | None = None,
    battery: dispatch_inputs.Battery | None = None,
    tight: bool = True,
    method: str = "decomposition",
) -> tuple[int, float, pd.DataFrame]:
    """The cheapest start hour for a job that must finish by ``latest_end_hour``.

    The window ``[earliest_hour, latest_end_hour)`` with the start as a decision,
    proven optimal: by the pattern decomposition over start slots (default,
    :meth:`~greenai.dispatch.decomposition.PatternDecomposition.solve` with
    ``latest_start``) or one Pyomo MILP (``method="milp"``). Ties: lowest
    emissions, then the earliest start, then the higher levels first among
    interchangeable hours (decomposition). Returns
    ``(start_hour, cost_eur, plan)``.
    """
    if method not in METHODS:
        raise dispatch_inputs.DispatchInputError(f"method must be one of {METHODS}, got {method!r}")
    gpu = gpu or dispatch_inputs.thesis_gpu_profile()
    battery = battery or dispatch_inputs.Battery()
    hours = latest_end_hour - earliest_hour
    latest = hours - int(math.ceil(min(gpu.duration_h)))
    if latest < 0:
        raise dispatch_inputs.InfeasibleDispatchError(
            f"the window {earliest_hour}..{latest_end_hour} ({hours} h) is shorter than the fastest level's "
            f"{min(gpu.duration_h):g} h")
    inputs = window_inputs(year, earliest_hour, hours, gpu, battery, latest_start=latest)
    if method == "decomposition":
        solution = solve_window(inputs)
        plan = solution.schedule(earliest_hour, inputs.carbon_g_per_kwh)
        return earliest_hour + solution.start_slot, solution.cost_eur, plan
    model = create_model(inputs, tight=tight)
    result = solve(model)
    plan = schedule(model, earliest_hour)
    start = int(plan.loc[plan["level"] > 0, "hour"].min())
    return start, result["cost_eur"], plan


def solve_window(inputs: DispatchInputs, objective: str = "cost", carbon_cap_g: float | None = None,
                 solver: PatternDecomposition | None = None, tie_break: bool = True,
                 progress=None) -> PatternSolution:
    """One window (``inputs``, its ``latest_start`` included) by the pattern decomposition,
    proven optimal. ``grid_max_w`` is not supported there: use the Pyomo model.
    ``progress(done, total)`` is told of each start slot searched
    (:meth:`~greenai.dispatch.decomposition.PatternDecomposition.solve`)."""
    if math.isfinite(inputs.grid_max_w):
        raise dispatch_inputs.DispatchInputError("grid_max_w needs the Pyomo model (create_model/solve), not the decomposition")
    solver = solver or PatternDecomposition(inputs.hours, inputs.gpu, inputs.battery)
    return solver.solve(inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh, inputs.carbon_g_per_kwh,
                        objective=objective, carbon_cap_g=carbon_cap_g, latest_start=inputs.latest_start,
                        tie_break=tie_break, progress=progress)


def _capped_cost(args) -> tuple[float, float]:
    inputs, cap = args
    r = solve_window(inputs, carbon_cap_g=cap, tie_break=False,
                     solver=_process_solver(inputs.hours, inputs.gpu, inputs.battery))
    return r.cost_eur, r.emissions_g


def cost_carbon_curve(inputs: DispatchInputs, points: int = 8, tight: bool = True,
                      method: str = "decomposition", processes: int = 1) -> pd.DataFrame:
    """Cost/CO2 trade-off by the ε-constraint method.

    Solves the minimum-emission plan and the minimum-cost plan, then the
    minimum cost under ``points`` emission caps between them (each cap
    loosened by 1e-6 relative so the end points stay feasible), every solve
    proven optimal: by the pattern decomposition (default; the capped points
    spread over ``processes`` workers, each without the emissions tie-break: the
    cap binds where the curve slopes) or the Pyomo MILP (``method="milp"``).
    Each row: ``emissions_cap_g``, ``cost_eur``, ``emissions_g``.
    """
    if method not in METHODS:
        raise dispatch_inputs.DispatchInputError(f"method must be one of {METHODS}, got {method!r}")

    def loosen(cap):
        return float(cap) + 1e-6 * max(1.0, abs(cap))

    rows = []
    if method == "decomposition":
        solver = PatternDecomposition(inputs.hours, inputs.gpu, inputs.battery)
        cheapest = solve_window(inputs, solver=solver)
        cleanest = solve_window(inputs, objective="carbon", solver=solver)
        caps = np.linspace(cleanest.emissions_g, cheapest.emissions_g, points)
        # The cheapest plan needs no cap; every other point is solved under its cap.
        jobs = [(inputs, loosen(cap)) for cap in caps[:-1]]
        if processes > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(max_workers=processes) as pool:
                capped = list(pool.map(_capped_cost, jobs))
        else:
            capped = [(r.cost_eur, r.emissions_g) for r in
                      (solve_window(inputs, carbon_cap_g=cap, tie_break=False, solver=solver) for _, cap in jobs)]
        capped.append((cheapest.cost_eur, cheapest.emissions_g))
        for cap, (cost, emissions) in zip(caps, capped):
            rows.append({"emissions_cap_g": cap, "cost_eur": cost, "emissions_g": emissions})
        return pd.DataFrame(rows)
    model = create_model(inputs, tight=tight)
    solver = make_solver()
    cheapest = solve(model, solver)
    model.Cost.deactivate()
    model.Emissions.activate()
    cleanest = solve(model, solver)
    model.Emissions.deactivate()
    model.Cost.activate()
    low, high = cleanest["emissions_g"], cheapest["emissions_g"]
    for cap in np.linspace(low, high, points):
        model.carbon_cap_g = loosen(cap)
        r = solve(model, solver)
        rows.append({"emissions_cap_g": cap, "cost_eur": r["cost_eur"], "emissions_g": r["emissions_g"]})
    model.carbon_cap_g = NO_CARBON_CAP_G
    return pd.DataFrame(rows)


def plan_window(year: pd.DataFrame, start: int, deadline: int, gpu: dispatch_inputs.GpuProfile, battery: dispatch_inputs.Battery,
                choose_start: bool = False, objective: str = "cost", progress=None):
    """Plan a job (``gpu``, e.g. from :func:`greenai.dispatch.inputs.job_profile`) in the
    window of ``deadline`` hours from hour ``start`` of ``year``, by the exact
    decomposition: ``(plan table with a "band" column, PatternSolution)``.
    ``progress(done, total)`` is told of each start slot searched (see :func:`solve_window`).

    Raises
    ------
    DispatchInputError
        A window outside the year or a non-positive deadline.
    InfeasibleDispatchError
        A deadline shorter than the job at its fastest level.
    """
    if deadline <= 0:
        raise dispatch_inputs.DispatchInputError(f"--deadline must be a positive number of hours, got {deadline}")
    if start + deadline > len(year):
        raise dispatch_inputs.DispatchInputError(
            f"the window {start}..{start + deadline - 1} runs past the weather year's last hour ({len(year) - 1}): "
            "start earlier or shorten the deadline")
    fastest = int(np.ceil(min(gpu.duration_h) - 1e-9))
    if deadline < fastest:
        raise dispatch_inputs.InfeasibleDispatchError(
            f"the job needs at least {fastest} h at its fastest level; a deadline of {deadline} h cannot be met")
    latest = deadline - fastest if choose_start else 0
    inputs = window_inputs(year, start, deadline, gpu, battery, latest_start=latest)
    solution = solve_window(inputs, objective=objective, progress=progress)
    table = solution.schedule(start, inputs.carbon_g_per_kwh)
    table.insert(2, "band", dispatch_inputs.Tariff().band(table["hour"].to_numpy()))
    return table, solution
