"""The pattern decomposition proves the same optimum as the Pyomo MILP, with
and without its symmetry rows, on random windows built to have interchangeable
hours and on thesis windows; its plans satisfy every balance."""

import numpy as np
import pytest

from greenai.dispatch import inputs as dispatch_inputs
from greenai.dispatch import model as dispatch_model
from greenai.dispatch import sweep as dispatch_sweep
from greenai.dispatch.decomposition import PatternDecomposition
from test_dispatch_model import check_balances  # as nvml_double: not `tests.`, a name model-index installs too


def banded_instance(rng, hours):
    """Random window made of bands: dark hours at one price, solar-surplus hours, mixed hours."""
    levels = int(rng.integers(2, 5))
    power = np.sort(rng.choice(np.arange(50, 300, 25), size=levels, replace=False)).astype(float)
    duration = np.sort(rng.integers(3, 8, size=levels))[::-1].astype(float)
    battery = dispatch_inputs.Battery(capacity_wh=float(rng.choice([0, 100, 250])), self_discharge_per_h=float(rng.choice([0, 0.005, 0.05])))
    battery = dispatch_inputs.Battery(capacity_wh=battery.capacity_wh, self_discharge_per_h=battery.self_discharge_per_h,
                        initial_wh=float(rng.uniform(0, battery.capacity_wh)))
    solar, buy = [], []
    while len(solar) < hours:
        length = int(rng.integers(1, 4))
        kind = rng.integers(0, 3)
        price = float(rng.choice([0.25, 0.35, 0.45]))
        for _ in range(length):
            solar.append(0.0 if kind == 0 else 700.0 + rng.uniform(0, 300) if kind == 1 else rng.uniform(0, 400))
            buy.append(price)
    sell = float(rng.choice([0.0, 0.1, 0.3]))
    return dispatch_model.DispatchInputs(
        solar_w=np.array(solar[:hours]), buy_eur_per_kwh=np.array(buy[:hours]), sell_eur_per_kwh=np.full(hours, sell),
        gpu=dispatch_inputs.GpuProfile(tuple(power), tuple(duration)), battery=battery, hours=hours)


def decompose(inputs, symmetry=True):
    solver = PatternDecomposition(inputs.hours, inputs.gpu, inputs.battery, symmetry=symmetry)
    return solver.solve(inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh)


def test_equals_milp_on_many_banded_windows():
    rng = np.random.default_rng(11)
    checked = symmetric_pairs = 0
    for _ in range(60):
        inputs = banded_instance(rng, int(rng.integers(6, 11)))
        try:
            milp = dispatch_model.solve(dispatch_model.create_model(inputs, tight=False))
        except dispatch_inputs.InfeasibleDispatchError:
            with pytest.raises(dispatch_inputs.InfeasibleDispatchError):
                decompose(inputs)
            continue
        for symmetry in (True, False):
            solution = decompose(inputs, symmetry)
            assert solution.cost_eur == pytest.approx(milp["cost_eur"], abs=1e-7)
            assert solution.rel_gap <= dispatch_model.MIP_REL_GAP
            check_balances(solution.schedule(), inputs)
        solver = PatternDecomposition(inputs.hours, inputs.gpu, inputs.battery)
        symmetric_pairs += int(solver.interchangeable(inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh).sum())
        checked += 1
    assert checked >= 40
    assert symmetric_pairs >= 100  # the symmetry rows were really exercised


@pytest.mark.parametrize("deadline,start", [(23, 0), (23, 10), (24, 100), (27, 40)])
def test_equals_milp_on_thesis_windows(year, deadline, start):
    inputs = dispatch_sweep.window_inputs(year, start, deadline)
    milp = dispatch_model.solve(dispatch_model.create_model(inputs, tight=True))
    solution = decompose(inputs)
    assert solution.cost_eur == pytest.approx(milp["cost_eur"], abs=1e-7)
    check_balances(solution.schedule(start).assign(slot=range(deadline)), inputs)


def test_sweep_methods_agree(year):
    starts = [0, 57, 115]
    fast = dispatch_sweep.run_sweep(year, starts=starts, deadlines=[23, 27], processes=1)
    slow = dispatch_sweep.run_sweep(year, starts=starts, deadlines=[23, 27], processes=1, method="milp")
    np.testing.assert_allclose(fast["cost_eur"], slow["cost_eur"], atol=1e-7)
    assert (fast["rel_gap"] <= dispatch_model.MIP_REL_GAP).all()
    assert list(fast.columns) == list(slow.columns)


def test_clear_errors():
    gpu = dispatch_inputs.thesis_gpu_profile()
    with pytest.raises(dispatch_inputs.InfeasibleDispatchError, match="22"):
        PatternDecomposition(21, gpu)
    solver = PatternDecomposition(23, gpu)
    with pytest.raises(dispatch_inputs.DispatchInputError):
        solver.solve(np.zeros(22), np.full(23, 0.3), np.full(23, 0.3))  # series shorter than the window
    with pytest.raises(dispatch_inputs.DispatchInputError):
        solver.solve(np.r_[-1.0, np.zeros(22)], np.full(23, 0.3), np.full(23, 0.3))
    with pytest.raises(dispatch_inputs.DispatchInputError, match="method"):
        dispatch_sweep.run_sweep(starts=[0], deadlines=[23], method="fast")


def test_cli_fixed_start_plan_is_the_milp_optimum(year, tmp_path, capsys):
    import pandas as pd

    from greenai import cli

    out = tmp_path / "plan.csv"
    assert cli.main(["dispatch", "--start", "10", "--deadline", "23", "--out", str(out)]) == 0
    plan = pd.read_csv(out)
    inputs = dispatch_sweep.window_inputs(year, 10, 23)
    milp = dispatch_model.solve(dispatch_model.create_model(inputs))
    assert plan["cost_eur"].sum() == pytest.approx(milp["cost_eur"], abs=1e-7)
    check_balances(plan.assign(slot=range(23)), inputs)
    assert f"cost {milp['cost_eur']:.4f} EUR" in capsys.readouterr().out


@pytest.mark.parametrize("objective,start", [("cost", 0), ("carbon", 0), ("cost", 3)])
def test_pattern_cuts_underestimate_every_other_pattern(year, objective, start):
    """The search prunes patterns by F(m) >= F(n) + g·(m - n) + H(|m|) - H(|n|) (LP duality: F is
    convex in the counts and in which hours run, fixed per pattern); check that inequality directly
    on real patterns of different lengths, for each objective and a later start slot."""
    from greenai.dispatch.pattern_search import Incumbent, PatternSearch

    hours = 28
    solver = PatternDecomposition(hours, dispatch_inputs.thesis_gpu_profile())
    inputs = dispatch_sweep.window_inputs(year, 30, hours)
    solver.load_window(inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh, inputs.carbon_g_per_kwh)
    solver.configure(start, objective, {})
    search = PatternSearch(solver, Incumbent(), start=start, objective=objective)
    rng = np.random.default_rng(3)
    length = solver.pattern_length
    picks = np.concatenate([rng.choice(np.flatnonzero(length == n), min(3, (length == n).sum()), replace=False)
                            for n in range(length.min(), hours - start + 1)])
    assert len(set(length[picks])) >= 4  # patterns of several lengths: the running-hours term is exercised
    values, cuts = [], []
    for j in picks:
        solver.set_pattern(solver.patterns[j], start)
        value, duals, _, _ = solver.solve_lp()
        values.append(value)
        cuts.append(search.cut(value, duals, j)[picks])
    values = np.array(values)
    assert np.ptp(values) > 1e-3  # patterns of really different cost
    for n in range(len(picks)):
        assert cuts[n][n] == pytest.approx(values[n], abs=1e-12)
        assert (values >= cuts[n] - 1e-9).all()
    assert any(np.ptp(c) > 1e-6 for c in cuts)  # the cuts are not flat
    # Fixing the running hours only tightens: each pattern's LP is at least the one with them free.
    for j, value in zip(picks, values):
        counts = solver.patterns[j]
        solver.set_counts(counts, counts)
        assert value >= solver.solve_lp()[0] - 1e-9


def simultaneous_hours(plan, beta=0.9):
    imports = plan["grid_to_gpu_w"] + plan["grid_to_battery_w"]
    exports = plan["solar_sold_w"] + beta * plan["battery_to_grid_w"]
    return np.flatnonzero(np.minimum(imports, exports).to_numpy() > 1e-6)


@pytest.mark.parametrize("start,deadline", [(4104, 23), (4128, 23), (4104, 32), (4128, 32)])
def test_no_buying_and_selling_in_one_hour_on_june_windows(year, start, deadline):
    """June windows with sun in the cheap F3 band (0.25 < 0.30 €/kWh): a model without the
    rule would buy and sell in the same hour; both solvers forbid it and agree."""
    inputs = dispatch_sweep.window_inputs(year, start, deadline)
    relaxed = dispatch_model.create_model(inputs)
    relaxed.Import_Mode.deactivate()
    relaxed.Export_Mode.deactivate()
    arbitrage = dispatch_model.solve(relaxed)
    assert len(simultaneous_hours(dispatch_model.schedule(relaxed))) > 0  # the window really tempts the model
    model = dispatch_model.create_model(inputs)
    milp = dispatch_model.solve(model)
    assert milp["cost_eur"] > arbitrage["cost_eur"] + 0.01  # the rule costs cents here
    check_balances(dispatch_model.schedule(model), inputs)
    solution = PatternDecomposition(deadline, inputs.gpu).solve(
        inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh, inputs.carbon_g_per_kwh)
    assert solution.cost_eur == pytest.approx(milp["cost_eur"], abs=1e-6)
    assert solution.rel_gap <= dispatch_model.MIP_REL_GAP
    check_balances(solution.schedule().assign(slot=range(deadline)), inputs)


def test_solvers_agree_on_random_windows_from_every_month(year):
    rng = np.random.default_rng(2026)
    month_starts = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30]) * 24
    for first in month_starts:
        start = int(first + rng.integers(0, 27 * 24))
        deadline = int(rng.choice([23, 24]))
        inputs = dispatch_sweep.window_inputs(year, start, deadline)
        milp = dispatch_model.solve(dispatch_model.create_model(inputs))
        solution = PatternDecomposition(deadline, inputs.gpu).solve(
            inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh, inputs.carbon_g_per_kwh)
        assert solution.cost_eur == pytest.approx(milp["cost_eur"], abs=1e-6), (start, deadline)
        assert solution.rel_gap <= dispatch_model.MIP_REL_GAP
        check_balances(solution.schedule().assign(slot=range(deadline)), inputs)


@pytest.mark.parametrize("first,end", [(0, 30), (4100, 4130), (7000, 7028)])
def test_start_as_decision_equals_milp(year, first, end):
    start, cost, plan = dispatch_sweep.best_start(year, first, end)
    start_milp, cost_milp, _ = dispatch_sweep.best_start(year, first, end, method="milp")
    assert cost == pytest.approx(cost_milp, abs=1e-6)
    assert int(plan.loc[plan["level"] > 0, "hour"].min()) == start
    inputs = dispatch_sweep.window_inputs(year, first, end - first, latest_start=end - first - 22)
    check_balances(plan.assign(slot=range(end - first)), inputs)


def test_carbon_objective_caps_and_start_decision_equal_milp_on_banded_windows():
    """Random small windows (prices below and above the sell price, random carbon): the
    carbon objective, the cost under emission caps (the ε-curve) and the start as a decision
    give the Pyomo MILP's optimum within 1e-6 € (gCO2 for carbon)."""
    import dataclasses

    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(25):
        base = banded_instance(rng, int(rng.integers(7, 11)))
        inputs = dataclasses.replace(base, carbon_g_per_kwh=rng.choice([200.0, 250.0, 300.0], size=base.hours),
                                     latest_start=int(rng.integers(0, 3)))
        try:
            inputs.__post_init__()
            curve_milp = dispatch_sweep.cost_carbon_curve(inputs, points=3, method="milp")
        except dispatch_inputs.InfeasibleDispatchError:
            continue
        curve = dispatch_sweep.cost_carbon_curve(inputs, points=3)
        # Least emissions: one value. Cheapest plan: the decomposition takes the lowest-emission
        # one among equal-cost plans, the MILP any of them.
        assert curve["emissions_cap_g"].iloc[0] == pytest.approx(curve_milp["emissions_cap_g"].iloc[0], abs=2e-6)
        assert curve["emissions_cap_g"].iloc[-1] <= curve_milp["emissions_cap_g"].iloc[-1] + 1e-6
        np.testing.assert_allclose(curve["cost_eur"], curve_milp["cost_eur"], atol=1e-6)
        for cap, cost in zip(curve["emissions_cap_g"], curve["cost_eur"]):  # the MILP at the same caps
            model = dispatch_model.create_model(inputs)
            model.carbon_cap_g = cap + 1e-6 * max(1.0, cap)
            assert dispatch_model.solve(model)["cost_eur"] == pytest.approx(cost, abs=1e-6)
        assert (curve["emissions_g"] <= curve["emissions_cap_g"] * (1 + 1e-6) + 1e-6).all()
        solution = dispatch_sweep.solve_window(inputs, objective="carbon")
        check_balances(solution.schedule(), inputs)
        checked += 1
    assert checked >= 15


def _assert_milp_lexicographic_optimum(inputs, plan):
    """``plan`` costs the MILP's minimum and emits the least among plans of that cost (MILP, cost capped)."""
    import pyomo.environ as pyo

    model = dispatch_model.create_model(inputs)
    assert plan.cost_eur == pytest.approx(dispatch_model.solve(model)["cost_eur"], abs=2e-9)
    model.Cost.deactivate()
    model.Emissions.activate()
    model.Cost_Cap = pyo.Constraint(expr=model.Cost.expr <= plan.cost_eur + 1e-9)
    assert plan.emissions_g == pytest.approx(dispatch_model.solve(model)["emissions_g"], abs=1e-3)


def test_ties_go_to_the_lower_emission_plan(year):
    """Start 88, 23 h: several plans cost the same to the cent's millionth; the solver returns
    the one lowest in emissions, whatever plan it met first."""
    inputs = dispatch_sweep.window_inputs(year, 88, 23)
    _assert_milp_lexicographic_optimum(inputs, dispatch_sweep.solve_window(inputs))


def test_tie_stage_on_a_window_whose_relaxation_is_a_plan(year):
    """Start 69, 29 h: the cheapest plan is the root relaxation's, so every one of the ~33k
    patterns might hold an equal-cost plan. The emissions tie-break drops the patterns a cut of
    the cost LP puts above the cost cap instead of solving each (without: 150 LPs, then a
    whole-window MIP), and returns the MILP's lexicographic optimum."""
    inputs = dispatch_sweep.window_inputs(year, 69, 29)
    solver = PatternDecomposition(29, inputs.gpu)
    args = (inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh, inputs.carbon_g_per_kwh)
    first = solver.solve(*args, tie_break=False)
    tied = solver.solve(*args)
    assert first.lps == 1  # stage 1 closes at the root: no pattern's bound rises above the optimum
    assert tied.mip_fallbacks == 0 and tied.lps <= 40
    assert tied.emissions_g < first.emissions_g - 0.1  # the tie-break matters here
    _assert_milp_lexicographic_optimum(inputs, tied)


@pytest.mark.parametrize("first,hours,job", [(4104, 24, False), (0, 20, True)])
def test_cost_carbon_curve_equals_milp_on_real_windows(year, first, hours, job):
    """The ε-curve (cost under emission caps) by the decomposition equals the Pyomo MILP's on a
    June day (Table 5.1's profile) and a January window of a 6 kWh / 10 h job (five levels)."""
    gpu = dispatch_inputs.job_profile(6.0 * 3.6e6, 10 * 3600.0)[0] if job else None
    inputs = dispatch_sweep.window_inputs(year, first, hours, gpu=gpu)
    curve = dispatch_sweep.cost_carbon_curve(inputs, points=5)
    milp = dispatch_sweep.cost_carbon_curve(inputs, points=5, method="milp")
    assert np.ptp(curve["cost_eur"]) > 1e-3  # the caps really bind
    np.testing.assert_allclose(curve["cost_eur"], milp["cost_eur"], atol=1e-6)
    np.testing.assert_allclose(curve["emissions_g"], milp["emissions_g"], atol=1e-3)


@pytest.mark.parametrize("start,hours", [(8, 27), (11, 27), (48, 25), (6, 25)])
def test_equal_plans_run_the_higher_levels_first(year, start, hours):
    """Dark hours a day apart with the same prices and carbon intensity (or hours whose sun covers
    every level used) are interchangeable, so several plans tie in cost and emissions. The solver
    returns the one with the higher levels first in each such group, whichever tied plan its LP
    path met first: here the same plan from two different starting bases (without the rule, these
    windows' plans differ)."""
    inputs = dispatch_sweep.window_inputs(year, start, hours)
    args = (inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh, inputs.carbon_g_per_kwh)
    plain = PatternDecomposition(hours, inputs.gpu).solve(*args)

    other = PatternDecomposition(hours, inputs.gpu)  # every window's first LP from a sunny window's basis
    T, K = hours, inputs.gpu.levels
    other.load_window(np.where(np.arange(T) % 24 < 8, 800.0, 0.0), np.full(T, 0.25), np.full(T, 0.3),
                       200 + np.arange(T) % 7 * 10.0)
    other.configure(0, "cost", {})
    other.set_counts(np.zeros(K), np.full(K, T))
    other.highs.run()
    other._reference_basis = other.highs.getBasis()
    moved = other.solve(*args)

    assert moved.cost_eur == pytest.approx(plain.cost_eur, abs=2e-9)
    assert moved.emissions_g == pytest.approx(plain.emissions_g, abs=1e-4)
    assert "".join(map(str, moved.levels)) == "".join(map(str, plain.levels))
    dark = (inputs.solar_w == 0) & (plain.levels > 0)
    for key in {(b, s, c) for b, s, c in zip(inputs.buy_eur_per_kwh[dark], inputs.sell_eur_per_kwh[dark],
                                               inputs.carbon_g_per_kwh[dark])}:
        group = dark & (inputs.buy_eur_per_kwh == key[0]) & (inputs.sell_eur_per_kwh == key[1]) \
            & (inputs.carbon_g_per_kwh == key[2])
        assert (np.diff(plain.levels[group]) <= 0).all(), key


def test_capped_window_costing_cents_is_proven_optimal(year):
    """A 6 kWh job's 18 h window from hour 2538 under an emission cap costs about 0.02 €. HiGHS'
    MIP, pruning on the objective within its default feasibility tolerance (1e-6 absolute), left
    a 3.6e-6 relative gap there and the solve failed; the solver now proves it to 1e-6."""
    gpu, _ = dispatch_inputs.job_profile(6.0 * 3.6e6, 10 * 3600.0)
    inputs = dispatch_sweep.window_inputs(year, 2538, 18, gpu=gpu)
    cap = 826.8280986773337
    solution = dispatch_sweep.solve_window(inputs, carbon_cap_g=cap, tie_break=False)
    model = dispatch_model.create_model(inputs)
    model.carbon_cap_g = cap
    milp = dispatch_model.solve(model)
    assert abs(solution.cost_eur) < 0.05  # a window of cents: relative gaps are strict here
    assert solution.rel_gap <= dispatch_model.MIP_REL_GAP
    assert solution.cost_eur == pytest.approx(milp["cost_eur"], abs=1e-9)
