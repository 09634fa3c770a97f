"""Chapter-4 analysis on small hand-made frames; every expected value below was worked out by hand
(in the comments), not by running the code. Also: the analysis of recorded rows imports no torch."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from greenai import analysis
from greenai.analysis import phases as ph

ROOT = Path(__file__).resolve().parents[1]


def _train_rows(records):
    base = dict(gpu_name="G", model="m", dataset="d", data_source="real", precision="default", batch_size=64,
                macs=1e9, params=1e6, branch_count=1)
    return pd.DataFrame([{**base, **r} for r in records])


ROWS = _train_rows([
    # run A (repeat 0): two epochs
    dict(repeat=0, epoch_index=0, epoch_energy_j=100.0, epoch_duration_s=10.0, power_w=10.0, test_accuracy=0.5,
         epoch_energy_extrapolated=False),
    dict(repeat=0, epoch_index=1, epoch_energy_j=120.0, epoch_duration_s=14.0, power_w=9.0, test_accuracy=0.6,
         epoch_energy_extrapolated=True),
    # run B (repeat 1): one epoch
    dict(repeat=1, epoch_index=0, epoch_energy_j=130.0, epoch_duration_s=13.0, power_w=10.0, test_accuracy=0.7,
         epoch_energy_extrapolated=False),
])


def test_per_run_averages_the_epochs_of_each_run():
    runs = analysis.per_run(ROWS)
    assert list(runs.repeat) == [0, 1]
    a, b = runs.iloc[0], runs.iloc[1]
    # A: (100 + 120) / 2 = 110 J, (10 + 14) / 2 = 12 s, (10 + 9) / 2 = 9.5 W, last accuracy 0.6, 2 windows
    assert (a.epoch_energy_j, a.epoch_duration_s, a.power_w, a.test_accuracy, a.windows) == (110, 12, 9.5, 0.6, 2)
    assert bool(a.extrapolated) and not bool(b.extrapolated)
    assert (b.epoch_energy_j, b.windows) == (130, 1)


def test_summarize_gives_mean_and_sample_sd_over_repeats():
    s = analysis.summarize(ROWS, ["model"])
    r = s.iloc[0]
    # runs 110 and 130 J: mean 120, sd sqrt((10² + 10²) / 1) = sqrt(200) = 14.1421
    assert r.epoch_energy_j_mean == 120 and r.epoch_energy_j_std == pytest.approx(14.142135, rel=1e-6)
    # durations 12 and 13 s: mean 12.5, sd sqrt(0.25 + 0.25) = 0.70711; powers 9.5 and 10: mean 9.75
    assert r.epoch_duration_s_mean == 12.5 and r.epoch_duration_s_std == pytest.approx(0.707107, rel=1e-6)
    assert r.power_w_mean == 9.75 and r.repeats == 2 and r.macs == 1e9


def test_percent_change_between_pairs_present():
    table = pd.DataFrame({"batch_size": [64, 128, 256], "e": [200.0, 150.0, 165.0]})
    change = analysis.percent_change(table, "e", "batch_size", [(64, 128), (128, 256), (256, 512)])
    # 100·(150−200)/200 = −25 %; 100·(165−150)/150 = +10 %; 512 absent: left out
    assert change == {(64, 128): pytest.approx(-25.0), (128, 256): pytest.approx(10.0)}


def test_loglog_fit_recovers_an_exact_power_law_and_ignores_non_finite_points():
    # E = 10 · MACs^0.5: log10 E = 1 + 0.5 log10 MACs → (1e2, 100), (1e4, 1000), (1e6, 10000)
    fit = analysis.loglog_fit([1e2, 1e4, 1e6, math.nan], [100.0, 1000.0, 1e4, 5.0])
    assert fit.n == 3 and fit.slope == pytest.approx(0.5) and fit.intercept == pytest.approx(1.0)
    assert fit.r2 == pytest.approx(1.0) and fit.slope_ci[0] == pytest.approx(0.5) == pytest.approx(fit.slope_ci[1])
    assert fit.predict(1e8) == pytest.approx(1e5)  # 10 · (1e8)^0.5
    with pytest.raises(ValueError, match="at least 3"):
        analysis.loglog_fit([1e2, 1e4], [1.0, 2.0])


def test_total_energy_over_epochs_scales_the_mean_and_its_spread():
    rows = _train_rows([dict(repeat=0, epoch_index=0, epoch_energy_j=100.0, epoch_duration_s=1.0, power_w=1.0,
                             test_accuracy=math.nan, epoch_energy_extrapolated=False),
                        dict(repeat=1, epoch_index=0, epoch_energy_j=120.0, epoch_duration_s=1.0, power_w=1.0,
                             test_accuracy=math.nan, epoch_energy_extrapolated=False)])
    t = analysis.total_energy_over_epochs(rows, epochs=(10, 20))
    # mean 110 J/epoch → 1100 J and 2200 J; sd sqrt(200) = 14.142 → 141.42 and 282.84 J
    assert list(t.total_energy_j) == [1100, 2200]
    assert t.total_energy_j_sd.to_list() == pytest.approx([141.421356, 282.842712])
    one = analysis.total_energy_over_epochs(rows[rows.repeat == 0], epochs=(10,))
    assert one.total_energy_j_sd.iloc[0] == 0.0  # a single repeat has no spread (NaN sd shown as 0)


# Design windows of 10 steps, phase powers h2d 10 W, forward 20 W, backward 20 W, optimizer 10 W and
# phase times per step 0.1, 0.1, 0.2, 0.1 s: window energies 10, 30, 70, 80 J over 1, 2, 4, 5 s.
WINDOWS = [("h2d", 1.0, 10.0, {"h2d": 1.0}), ("forward", 2.0, 30.0, {"h2d": 1.0, "forward": 1.0}),
           ("backward", 4.0, 70.0, {"h2d": 1.0, "forward": 1.0, "backward": 2.0}),
           ("optimizer", 5.0, 80.0, {"h2d": 1.0, "forward": 1.0, "backward": 2.0, "optimizer": 1.0})]


def _phase_rows():
    rows = []
    for repeat in (0, 1):
        for window, duration, energy, phase_s in WINDOWS:
            row = dict(gpu_name="G", model="m", batch_size=8, window=window, window_repeat=repeat, steps=10,
                       duration_s=duration, energy_j=energy, uncertainty_j=10.0 if window == "optimizer" else 1.0)
            row.update({f"{p}_s": phase_s.get(p, 0.0) for p in ph.PHASES})
            rows.append(row)
    return pd.DataFrame(rows)


def test_split_phase_energy_by_difference_and_by_regression():
    windows = [ph.DesignWindow(upto=w, repeat=r, steps=10, duration_s=d, energy_j=e, phase_s=p)
               for r in (0, 1) for w, d, e, p in WINDOWS]
    split = ph.split_phase_energy(windows)
    # per step 1, 3, 7, 8 J → differences 1, 2, 4, 1 J
    assert split.by_difference_j == pytest.approx({"h2d": 1.0, "forward": 2.0, "backward": 4.0, "optimizer": 1.0})
    # the fit recovers the powers; × time per full step (0.1, 0.1, 0.2, 0.1 s) = 1, 2, 4, 1 J
    assert [split.power_w[p] for p in ph.PHASES] == pytest.approx([10, 20, 20, 10], rel=1e-6)
    assert split.by_regression_j == pytest.approx({"h2d": 1.0, "forward": 2.0, "backward": 4.0, "optimizer": 1.0},
                                                  rel=1e-6)
    assert split.full_step_energy_j == 8.0
    few = ph.split_phase_energy(windows[:4])  # 4 windows, 5 unknowns: no fit
    assert math.isnan(few.power_w["h2d"]) and few.by_difference_j["backward"] == pytest.approx(4.0)


def test_phase_energy_table_three_ways_with_the_counter_bound():
    t = analysis.phase_energy_table(_phase_rows()).set_index("phase")
    # thesis' way: full window 80 J / 5 s = 16 W × phase time per step → 1.6, 1.6, 3.2, 1.6 J
    assert t.thesis_j.to_list() == pytest.approx([1.6, 1.6, 3.2, 1.6])
    assert (t.window_power_w == 16.0).all()
    assert t.by_difference_j.to_list() == pytest.approx([1.0, 2.0, 4.0, 1.0])
    # thesis / difference − 1: 0.6, −0.2, −0.2, 0.6
    assert t.thesis_error.to_list() == pytest.approx([0.6, -0.2, -0.2, 0.6])
    # bound per step: 1 J / 10 steps = 0.1 (10 J / 10 = 1.0 for the full window); a difference adds the
    # previous window's: h2d 0.1, forward 0.2, backward 0.2, optimizer 1.0 + 0.1 = 1.1 > |1.0| → unresolved
    assert t.by_difference_bound_j.to_list() == pytest.approx([0.1, 0.2, 0.2, 1.1])
    assert t.resolved.to_list() == [True, True, True, False]
    assert t.time_s.to_list() == pytest.approx([0.1, 0.1, 0.2, 0.1])


def test_analysis_and_notebook_04_import_no_torch(tmp_path):
    """``import greenai.analysis`` (its operators too) and notebook 04 on the recorded rows leave torch unloaded."""
    code = (
        "import runpy, sys\n"
        "import greenai.analysis, greenai.analysis.operators, greenai.figures.ch4\n"
        "assert 'torch' not in sys.modules, 'import greenai.analysis loaded torch'\n"
        f"runpy.run_path({str(ROOT / 'notebooks' / '04_kpi_analysis.py')!r}, run_name='__main__')\n"
        "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "print('TORCH', len(loaded))\n"
    )
    env = {**os.environ, "GREENAI_OUTPUT_DIR": str(tmp_path), "MPLBACKEND": "agg"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "TORCH 0" in out.stdout, out.stdout[-500:]


def test_compare_with_recorded_places_a_check_run_in_the_recorded_spread():
    def runs(energies, model="m"):
        return _train_rows([dict(model=model, repeat=r, epoch_index=0, epoch_energy_j=e, epoch_duration_s=2.0,
                                 power_w=e / 2.0, test_accuracy=math.nan, epoch_energy_extrapolated=False)
                            for r, e in enumerate(energies)])

    recorded = pd.concat([runs([100.0, 120.0]), runs([50.0, 52.0], model="n")], ignore_index=True)
    check = pd.concat([runs([110.0]), runs([60.0], model="n")], ignore_index=True)
    t = analysis.compare_with_recorded(check, recorded).set_index("model")
    # m: 110 in [100, 120], 110 / 110 − 1 = 0; n: 60 outside [50, 52], 60 / 51 − 1 = 0.17647
    assert bool(t.loc["m", "within"]) and t.loc["m", "vs_recorded_mean"] == pytest.approx(0.0)
    assert not bool(t.loc["n", "within"]) and t.loc["n", "vs_recorded_mean"] == pytest.approx(9 / 51)
    assert (t.recorded_rows == 2).all() and t.loc["m", "check_power_w"] == 55.0
