"""The dispatch MILP: a hand-solved instance, hour-by-hour balances in every
solution, the tightened formulation equal to the plain one, and clear errors."""

import itertools

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from greenai.dispatch import inputs as dispatch_inputs
from greenai.dispatch import model as dispatch_model
from greenai.dispatch import sweep as dispatch_sweep

TOL_WH = 1e-5


def hand_inputs(battery: dispatch_inputs.Battery) -> dispatch_model.DispatchInputs:
    # Two levels: 100 W finishes the job in 3 h, 200 W in 2 h. Three 1-h slots.
    return dispatch_model.DispatchInputs(
        solar_w=[250.0, 0.0, 0.0],
        buy_eur_per_kwh=[0.40, 0.20, 0.20],
        sell_eur_per_kwh=[0.10, 0.10, 0.10],
        gpu=dispatch_inputs.GpuProfile((100, 200), (3, 2)),
        battery=battery,
    )


def check_balances(plan: pd.DataFrame, inputs: dispatch_model.DispatchInputs) -> None:
    """Every energy balance of the reading documented in model.py, hour by hour."""
    b = inputs.battery
    flows = ["solar_to_gpu_w", "solar_to_battery_w", "solar_sold_w", "grid_to_gpu_w", "grid_to_battery_w",
             "battery_to_gpu_w", "battery_to_grid_w", "battery_start_wh", "battery_end_wh"]
    assert (plan[flows] >= -TOL_WH).all().all()
    # Solar split (eqs. 5.9-5.10).
    split = plan["solar_to_gpu_w"] + plan["solar_to_battery_w"] + plan["solar_sold_w"]
    assert (split <= plan["solar_w"] + TOL_WH).all()
    # GPU supply meets the selected level (eqs. 5.20-5.21).
    power = np.where(plan["level"] > 0, np.asarray(inputs.gpu.power_w)[plan["level"].clip(lower=1) - 1], 0.0)
    assert_allclose(plan["gpu_w"], power)
    supply = plan["solar_to_gpu_w"] + plan["grid_to_gpu_w"] + b.discharge_efficiency * plan["battery_to_gpu_w"]
    assert_allclose(supply, plan["gpu_w"], atol=TOL_WH)
    # Battery update (eq. 5.15), start (5.16), bounds (5.17-5.19).
    assert plan["battery_start_wh"].iloc[0] == pytest.approx(b.initial_wh, abs=TOL_WH)
    assert_allclose(plan["battery_start_wh"].iloc[1:].to_numpy(), plan["battery_end_wh"].iloc[:-1].to_numpy(), atol=TOL_WH)
    charge = plan["solar_to_battery_w"] + plan["grid_to_battery_w"]
    discharge = plan["battery_to_gpu_w"] + plan["battery_to_grid_w"]
    expected_end = (1 - b.self_discharge_per_h) * (plan["battery_start_wh"] + b.charge_efficiency * charge - discharge)
    assert_allclose(plan["battery_end_wh"], expected_end, atol=TOL_WH)
    assert (discharge <= plan["battery_start_wh"] + TOL_WH).all()
    assert (plan["battery_start_wh"] + b.charge_efficiency * charge <= b.capacity_wh + TOL_WH).all()
    # No buying and selling in the same hour (a meter nets the hour's flows).
    imports = plan["grid_to_gpu_w"] + plan["grid_to_battery_w"]
    exports = plan["solar_sold_w"] + b.discharge_efficiency * plan["battery_to_grid_w"]
    assert (np.minimum(imports, exports) <= TOL_WH).all(), "a slot imports and exports at once"
    # One contiguous run that completes the job (section 5.4, eq. 5.22), exactly.
    running = np.flatnonzero(plan["level"].to_numpy() > 0)
    assert running.size and np.array_equal(running, np.arange(running[0], running[-1] + 1))
    progress, required = inputs.gpu.progress_units()
    assert sum(progress[k - 1] for k in plan["level"] if k > 0) >= required
    # Cost (eqs. 5.1-5.2) from the flows.
    cost = ((plan["grid_to_gpu_w"] + plan["grid_to_battery_w"]) * plan["buy_eur_per_kwh"]
            - (plan["solar_sold_w"] + b.discharge_efficiency * plan["battery_to_grid_w"]) * plan["sell_eur_per_kwh"]) / 1000
    assert_allclose(cost, plan["cost_eur"], atol=1e-9)


@pytest.mark.parametrize("tight", [True, False])
def test_hand_solved_without_battery(tight):
    # 3 h at 100 W: slot 0 uses 100 of 250 W solar and sells 150 (-0.015 EUR),
    # slots 1-2 buy 100 Wh each at 0.20 (+0.040): 0.025 EUR. 2 h at 200 W costs
    # -0.005 + 0.040 = 0.035 EUR. Mixed plans need 3 h with a 200 W hour: dearer.
    inputs = hand_inputs(dispatch_inputs.Battery(capacity_wh=0.0))
    model = dispatch_model.create_model(inputs, tight=tight)
    result = dispatch_model.solve(model)
    plan = dispatch_model.schedule(model)
    assert result["cost_eur"] == pytest.approx(0.025, abs=1e-9)
    assert plan["level"].tolist() == [1, 1, 1]
    check_balances(plan, inputs)


def test_hand_solved_with_lossless_battery():
    # A 100 Wh lossless battery stores 100 Wh of slot 0's surplus (forgoing 0.010
    # EUR of sales) and covers slot 1 or 2 (saving 0.020): 0.025 - 0.010 = 0.015 EUR.
    inputs = hand_inputs(dispatch_inputs.Battery(capacity_wh=100.0, charge_efficiency=1.0, discharge_efficiency=1.0,
                                   self_discharge_per_h=0.0))
    model = dispatch_model.create_model(inputs)
    result = dispatch_model.solve(model)
    plan = dispatch_model.schedule(model)
    assert result["cost_eur"] == pytest.approx(0.015, abs=1e-9)
    assert plan["battery_to_gpu_w"].iloc[1:].sum() == pytest.approx(100.0, abs=1e-6)  # slot 1 or 2: a tie
    check_balances(plan, inputs)


@pytest.mark.parametrize("deadline,start", [(23, 0), (23, 115), (24, 40)])
def test_thesis_windows_balance(year, deadline, start):
    inputs = dispatch_sweep.window_inputs(year, start, deadline)
    model = dispatch_model.create_model(inputs)
    dispatch_model.solve(model)
    check_balances(dispatch_model.schedule(model, start), inputs)


def test_start_hour_decision_balances_and_beats_fixed_start(year):
    start, cost, plan = dispatch_sweep.best_start(year, 0, 24)
    inputs = dispatch_sweep.window_inputs(year, 0, 24, latest_start=24 - 22)
    check_balances(plan.assign(slot=range(len(plan))), inputs)
    # Fixing the start at the window's first hour cannot be cheaper.
    fixed = dispatch_model.create_model(dispatch_sweep.window_inputs(year, 0, 24))
    assert dispatch_model.solve(fixed)["cost_eur"] >= cost - 1e-9
    assert plan.loc[plan["level"] > 0, "hour"].min() == start


def random_instance(rng, hours):
    levels = int(rng.integers(2, 5))
    power = np.sort(rng.choice(np.arange(50, 300, 25), size=levels, replace=False)).astype(float)
    duration = np.sort(rng.integers(3, 8, size=levels))[::-1].astype(float)
    duration = np.maximum.accumulate(duration[::-1])[::-1]  # faster at higher power, ties allowed
    return dispatch_model.DispatchInputs(
        solar_w=rng.uniform(0, 400, hours) * (rng.random(hours) < 0.6),
        buy_eur_per_kwh=rng.choice([0.25, 0.35, 0.45], hours),
        sell_eur_per_kwh=np.full(hours, rng.choice([0.0, 0.1, 0.3])),
        carbon_g_per_kwh=rng.uniform(100, 400, hours),
        gpu=dispatch_inputs.GpuProfile(tuple(power), tuple(duration)),
        battery=dispatch_inputs.Battery(capacity_wh=float(rng.choice([0, 100, 250]))),
        hours=hours,
        latest_start=int(rng.integers(0, 2)),
    )


def test_tight_formulation_equals_plain_milp_on_many_instances():
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(40):
        hours = int(rng.integers(7, 10))
        inputs = random_instance(rng, hours)
        try:
            plain = dispatch_model.solve(dispatch_model.create_model(inputs, tight=False))
        except dispatch_inputs.InfeasibleDispatchError:
            with pytest.raises(dispatch_inputs.InfeasibleDispatchError):
                dispatch_model.solve(dispatch_model.create_model(inputs, tight=True))
            continue
        tight_model = dispatch_model.create_model(inputs, tight=True)
        tight = dispatch_model.solve(tight_model)
        assert tight["cost_eur"] == pytest.approx(plain["cost_eur"], abs=1e-7)
        check_balances(dispatch_model.schedule(tight_model), inputs)
        checked += 1
    assert checked >= 25


@pytest.mark.parametrize("deadline,start", [(23, 0), (24, 100)])
def test_tight_equals_plain_on_thesis_windows(year, deadline, start):
    inputs = dispatch_sweep.window_inputs(year, start, deadline)
    plain = dispatch_model.solve(dispatch_model.create_model(inputs, tight=False))
    tight = dispatch_model.solve(dispatch_model.create_model(inputs, tight=True))
    assert tight["cost_eur"] == pytest.approx(plain["cost_eur"], abs=1e-7)


@pytest.mark.parametrize("gpu, hours", [
    (dispatch_inputs.GpuProfile((100, 150, 250), (7, 5, 4)), 8),
    (dispatch_inputs.GpuProfile((90, 120, 160, 230), (9.5, 7.25, 6, 5)), 11),  # fractional durations, four levels
    (dispatch_inputs.GpuProfile((100, 130, 200), (6, 6, 4.5)), 9),  # two levels of equal speed
    (dispatch_inputs.GpuProfile((100, 150, 250), (4, 3, 2)), 8),  # lowering an hour can leave exactly the required progress
    (dispatch_inputs.GpuProfile((150,), (3.5,)), 5),  # one level
])
def test_minimal_patterns_match_brute_force(gpu, hours):
    progress, required = gpu.progress_units()
    K = len(progress)
    brute = set()
    for counts in itertools.product(range(hours + 1), repeat=K):
        if sum(counts) > hours:
            continue
        prog = sum(c * p for c, p in zip(counts, progress))
        if prog < required:
            continue
        if any(counts[k] and prog - progress[k] + progress[k - 1] >= required for k in range(1, K)):
            continue
        brute.add(counts)
    patterns = dispatch_model.minimal_patterns(gpu, hours)
    assert len(patterns) == len(brute) and {tuple(r) for r in patterns} == brute


@pytest.mark.parametrize("hours", [23, 24, 32])
def test_shipped_hull_vertices_equal_qhull(hours):
    """The precomputed hulls of Table 5.1's profile (greenai/data_files) are Qhull's, row for row."""
    gpu = dispatch_inputs.thesis_gpu_profile()
    key = (tuple(gpu.power_w), tuple(gpu.duration_h), hours)
    assert key in dispatch_model._hull_table()
    computed = dispatch_model._compute_hull_vertices(gpu.power_w, gpu.duration_h, hours)
    shipped = dispatch_model.hull_vertices(gpu, hours)
    assert shipped.dtype == computed.dtype and np.array_equal(shipped, computed)
    # Every shipped vertex is a minimal pattern, and the table covers every size the notebook's windows use.
    assert {tuple(r) for r in shipped} <= {tuple(r) for r in dispatch_model.minimal_patterns(gpu, hours)}
    assert all((tuple(gpu.power_w), tuple(gpu.duration_h), h) in dispatch_model._hull_table() for h in range(23, 33))


def test_hull_vertices_of_other_profiles_are_computed(tmp_path, monkeypatch):
    gpu = dispatch_inputs.GpuProfile((100, 150, 250), (7, 5, 4))
    assert (tuple(gpu.power_w), tuple(gpu.duration_h), 8) not in dispatch_model._hull_table()
    monkeypatch.setattr(dispatch_model, "HULL_TABLE_PATH", tmp_path / "hulls.json")
    assert dispatch_model.write_hull_table(gpu, [8]) == tmp_path / "hulls.json"
    try:
        assert np.array_equal(dispatch_model.hull_vertices(gpu, 8), dispatch_model._compute_hull_vertices(gpu.power_w, gpu.duration_h, 8))
        assert (tuple(gpu.power_w), tuple(gpu.duration_h), 8) in dispatch_model._hull_table()
    finally:
        monkeypatch.undo()
        dispatch_model._hull_table.cache_clear()
        dispatch_model._hull_vertices.cache_clear()
    assert (tuple(gpu.power_w), tuple(gpu.duration_h), 8) not in dispatch_model._hull_table()


def test_progress_units_are_exact():
    per_level, required = dispatch_inputs.thesis_gpu_profile().progress_units()
    assert per_level[-1] * 22 == required and per_level[0] * 32 == required


# ------------------------------------------------------------------ errors


def test_deadline_shorter_than_fastest_level_is_infeasible(year):
    with pytest.raises(dispatch_inputs.InfeasibleDispatchError, match="at least 22 h"):
        dispatch_sweep.window_inputs(year, 0, 21)


def test_infeasible_grid_limit_raises_documented_error():
    inputs = hand_inputs(dispatch_inputs.Battery(capacity_wh=0.0))
    inputs.grid_max_w = 50.0
    with pytest.raises(dispatch_inputs.InfeasibleDispatchError):
        dispatch_model.solve(dispatch_model.create_model(inputs))


@pytest.mark.parametrize("field,values,match", [
    ("solar_w", [250.0, -1.0, 0.0], "negative value at hour \\[1\\]"),
    ("solar_w", [250.0, float("nan"), 0.0], "missing value"),
    ("buy_eur_per_kwh", [0.4, 0.2], "2 hours given but the window needs 3"),
])
def test_bad_series_raise(field, values, match):
    kwargs = dict(solar_w=[250.0, 0.0, 0.0], buy_eur_per_kwh=[0.4, 0.2, 0.2], sell_eur_per_kwh=[0.1] * 3,
                  gpu=dispatch_inputs.GpuProfile((100, 200), (3, 2)))
    kwargs[field] = values
    with pytest.raises(dispatch_inputs.DispatchInputError, match=match):
        dispatch_model.DispatchInputs(**kwargs)


def test_missing_hour_in_indexed_series_raises():
    series = pd.Series([1.0, 2.0, 3.0], index=[0, 1, 3])
    with pytest.raises(dispatch_inputs.DispatchInputError, match="missing or repeated around hour \\[2\\]"):
        dispatch_inputs.check_series("solar_w", series)


@pytest.mark.parametrize("kwargs", [dict(charge_efficiency=0.0), dict(discharge_efficiency=1.1),
                                    dict(self_discharge_per_h=1.0), dict(initial_wh=300.0)])
def test_battery_parameters_outside_range_raise(kwargs):
    with pytest.raises(dispatch_inputs.DispatchInputError):
        dispatch_inputs.Battery(**kwargs)


def test_cli_writes_no_file_on_bad_input(tmp_path, capsys):
    from greenai import cli

    out = tmp_path / "plan.csv"
    code = cli.main(["dispatch", "--start", "0", "--deadline", "21", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert "at least 22 h" in capsys.readouterr().err


def test_dispatcher_resolves_without_rebuilding_like_fresh_models(year):
    dispatcher = dispatch_sweep.Dispatcher(dispatch_sweep.window_inputs(year, 0, 23))
    for start in (0, 60, 115):
        inputs = dispatch_sweep.window_inputs(year, start, 23)
        reused = dispatcher.solve(inputs)
        check_balances(dispatch_model.schedule(dispatcher.model), inputs)
        fresh = dispatch_model.solve(dispatch_model.create_model(inputs))
        assert reused["cost_eur"] == pytest.approx(fresh["cost_eur"], abs=1e-7)


def test_cost_carbon_curve_respects_each_cap(year):
    inputs = dispatch_sweep.window_inputs(year, 0, 32)
    curve = dispatch_sweep.cost_carbon_curve(inputs, points=4)
    caps = curve["emissions_cap_g"].to_numpy()
    assert (curve["emissions_g"].to_numpy() <= caps + 1e-3).all()
    assert np.all(np.diff(curve["cost_eur"].to_numpy()) <= 1e-9)  # looser cap, never dearer
    cheapest = dispatch_model.solve(dispatch_model.create_model(inputs))
    assert curve["cost_eur"].iloc[-1] == pytest.approx(cheapest["cost_eur"], abs=1e-7)
    assert curve["cost_eur"].iloc[0] > cheapest["cost_eur"] + 0.01  # a real trade-off on this window


def test_cheapest_start_breaks_cost_ties_by_emissions_then_earlier_start():
    import pandas as pd

    from greenai.dispatch import sweep

    group = pd.DataFrame({"deadline_h": 23, "start_hour": [3, 4, 5, 6],
                          "cost_eur": [-0.5, -0.7627100001, -0.7627100004, -0.7627100004],
                          "emissions_g": [10.0, 933.6, 933.0, 933.0]})
    # 4 is cheaper than 5 and 6 by 3e-10 EUR only (within the solver's proof): 5 and 6 emit less, 5 is earlier
    assert int(sweep.cheapest_start(group)["start_hour"]) == 5
    head = sweep.headline(group)
    assert head["best_start_hour"].tolist() == [5] and head["worst_start_hour"].tolist() == [3]
    group.loc[group["start_hour"] == 4, "cost_eur"] = -0.77  # a real difference in cost decides
    assert int(sweep.cheapest_start(group)["start_hour"]) == 4
