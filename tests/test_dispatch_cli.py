"""``greenai dispatch``: job-based planning (energy per power level from a
prediction), local date-times for ``--start``, clean output, one-line errors."""

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from greenai import cli
from greenai.dispatch import inputs as dispatch_inputs
from greenai.dispatch import cli as dispatch_cli
from greenai.dispatch import sweep as dispatch_sweep


def test_job_profile_reproduces_table_5_1_for_the_thesis_job():
    table = dispatch_inputs.thesis_gpu_profile()
    gpu, levels = dispatch_inputs.job_profile(5500 * 3600.0, 22 * 3600.0)  # 5.5 kWh in 22 h at 250 W
    assert gpu.power_w == table.power_w and gpu.duration_h == table.duration_h
    assert levels["kept"].all()


def test_job_profile_scales_with_energy_and_rounds_to_whole_hours():
    gpu, levels = dispatch_inputs.job_profile(3e7, 5 * 3600.0)
    # Energy per level scales like Table 5.1's energy per job; durations like its hours.
    thesis = dispatch_inputs.thesis_gpu_profile()
    ratio = np.array(thesis.power_w) * np.array(thesis.duration_h) / (250 * 22)
    np.testing.assert_allclose(levels["energy_wh"], 3e7 / 3600 * ratio)
    np.testing.assert_allclose(levels["duration_h"], 5 * np.array(thesis.duration_h) / 22)
    assert (levels["slot_hours"] == np.ceil(levels["duration_h"])).all()
    # Kept levels: mean power over whole hours; none beaten on both time and energy.
    kept = levels[levels["kept"]]
    assert sorted(gpu.duration_h, reverse=True) == list(gpu.duration_h)
    np.testing.assert_allclose(sorted(gpu.power_w), kept["energy_wh"] / kept["slot_hours"])
    assert not levels.loc[~levels["kept"]].empty  # 175-225 W take 6 h like 150 W, with more energy
    with pytest.raises(dispatch_inputs.DispatchInputError):
        dispatch_inputs.job_profile(-1, 10)


def test_a_short_job_plans_its_energy(year):
    gpu, levels = dispatch_inputs.job_profile(2e6, 1800.0)  # 0.56 kWh in half an hour at the default limit
    table, solution = dispatch_sweep.plan_window(year, 3896, 6, gpu, dispatch_inputs.Battery())
    assert (table["level"] > 0).sum() == 1
    assert table["gpu_w"].sum() == pytest.approx(levels.loc[levels["kept"], "energy_wh"].min())


@pytest.mark.parametrize("text,hour", [("0", 0), ("2027-01-01T00:00", 0), ("2027-06-12T08:00", 162 * 24 + 8),
                                       ("2030-12-31T23:00", 8759)])
def test_start_as_hour_or_local_date_time(text, hour):
    assert dispatch_cli.start_hour(text) == hour


@pytest.mark.parametrize("text", ["8760", "-1", "2028-02-29T10:00", "2027-06-12T08:30", "soon", "2027-06-12T08:00+02:00"])
def test_bad_start_is_a_clear_error(text):
    with pytest.raises(dispatch_inputs.DispatchInputError):
        dispatch_cli.start_hour(text)


def run_cli(capfd, *argv):
    code = cli.main(["dispatch", *argv])
    out, err = capfd.readouterr()
    return code, out, err


def test_clean_stdout_and_no_negative_zero(year, capfd):
    code, out, err = run_cli(capfd, "--start", "2027-06-12T08:00", "--deadline", "32")
    assert code == 0
    assert "HiGHS" not in out and "Running" not in out  # no solver banner mixed into the plan
    assert "-0.000" not in out and "-0.0 " not in out
    assert out.splitlines()[1].split()[0] == str(162 * 24 + 8)


@pytest.mark.parametrize("argv,match", [
    (["--start", "10", "--deadline", "23", "--out", "."], "is a directory"),
    (["--start", "10", "--deadline", "23", "--solar-csv", "no/such/solar.csv"], "no such file"),
    (["--start", "9000", "--deadline", "23"], "outside the weather year"),
    (["--start", "8750", "--deadline", "23"], "past the weather year"),
    (["--start", "10", "--deadline", "12"], "cannot be met"),
    (["--start", "10", "--deadline", "23", "--model", "resnet18"], "needs all of"),
])
def test_user_errors_are_one_line_with_exit_code_2(capfd, argv, match):
    code, out, err = run_cli(capfd, *argv)
    assert code == 2
    assert match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@dataclass
class FakePrediction:
    energy_j: float
    energy_low_j: float
    energy_high_j: float
    duration_s: float
    gpu: str = "NVIDIA H200"
    precision: str = "fp32"


def fake_predictor(monkeypatch, prediction=None, error=None):
    def predict_run(model, dataset, epochs, batch_size, gpu=None, precision=None):
        if error:
            raise error
        return prediction

    monkeypatch.setattr(dispatch_cli, "predict_run", predict_run)


JOB = ["--model", "resnet18", "--dataset", "cifar10", "--epochs", "30", "--batch-size", "256"]


def test_job_plan_with_interval_ends(year, capfd, monkeypatch, tmp_path):
    # 11 kWh in 11 h at the default limit: a job long enough for the hourly plan to matter.
    fake_predictor(monkeypatch, FakePrediction(11e3 * 3600, 9e3 * 3600, 13e3 * 3600, 11 * 3600))
    out_csv = tmp_path / "plan.csv"
    code, out, err = run_cli(capfd, *JOB, "--start", "2027-06-12T08:00", "--deadline", "36", "--out", str(out_csv))
    assert code == 0, err
    assert "low end:" in out and "high end:" in out and "cost" in out
    plan = pd.read_csv(out_csv)
    gpu, levels = dispatch_inputs.job_profile(11e3 * 3600, 11 * 3600)
    table, solution = dispatch_sweep.plan_window(year, 162 * 24 + 8, 36, gpu, dispatch_inputs.Battery())
    assert plan["cost_eur"].sum() == pytest.approx(solution.cost_eur, abs=1e-9)
    # The interval's ends bracket the plan's cost (more energy never costs less).
    low, high = (dispatch_sweep.plan_window(year, 162 * 24 + 8, 36, dispatch_inputs.job_profile(e, 11 * 3600)[0], dispatch_inputs.Battery())[1].cost_eur
                 for e in (9e3 * 3600, 13e3 * 3600))
    assert low <= solution.cost_eur + 1e-9 <= high + 2e-9
    assert f"{low:.4f}" in out and f"{high:.4f}" in out


def test_job_errors_from_the_predictor_are_one_line(capfd, monkeypatch):
    fake_predictor(monkeypatch, error=ValueError("unknown model 'resnet19'; known: resnet18, ..."))
    code, out, err = run_cli(capfd, *JOB, "--start", "0", "--deadline", "36")
    assert code == 2 and "unknown model 'resnet19'" in err and len(err.strip().splitlines()) == 1


def test_job_that_cannot_meet_its_deadline(capfd, monkeypatch):
    fake_predictor(monkeypatch, FakePrediction(11e3 * 3600, 9e3 * 3600, 13e3 * 3600, 30 * 3600))
    code, out, err = run_cli(capfd, *JOB, "--start", "0", "--deadline", "20")
    assert code == 2 and "cannot be met" in err


# --------------------------------------------------------------------------- hourly CSVs, PV size, progress, Ctrl-C

N = dispatch_inputs.HOURS_PER_YEAR


def solar_csv(path, hours, values=None, column="solar_w"):
    hours = list(hours)
    values = [float(h % 24) * 10 for h in hours] if values is None else list(values)
    pd.DataFrame({"hour": hours, column: values}).to_csv(path, index=False)
    return path


def one_usage_line(code, err, says):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("greenai dispatch: ") and says in lines[0] and "Traceback" not in err


@pytest.mark.parametrize("make, says", [
    (lambda p: p.write_text("hour,solar_w\n0,abc\n" + "".join(f"{h},1\n" for h in range(1, N))),
     "column 'solar_w' holds 'abc', not a number at file line 2"),
    (lambda p: p.write_text("hour,solar_w\n,5\n" + "".join(f"{h},1\n" for h in range(1, N))),
     "column 'hour' is empty at file line 2"),
    (lambda p: solar_csv(p, range(1, N + 1)),
     "hour 8760 (file line 8761) is outside the weather year 0 … 8759 (0-based hour of the weather year: 0 is "
     "00:00-01:00 on 1 January"),
    (lambda p: solar_csv(p, [h + 0.5 for h in range(N)]), "hour 0.5 (file line 2) is not a whole hour"),
    (lambda p: solar_csv(p, [*range(N), 0]), "hour 0 appears 2 times"),
    (lambda p: solar_csv(p, range(N - 1)), "1 hour(s) missing, first [8759]"),
    (lambda p: pd.DataFrame({"solar_w": np.ones(N + 1)}).to_csv(p, index=False),
     "8761 rows, but without an 'hour' column row i is hour i of the weather year and there must be exactly 8760"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00"), "cannot read it as CSV"),
])
def test_an_hourly_csv_is_aligned_by_its_hours_or_refused(capfd, tmp_path, make, says):
    path, out = tmp_path / "solar.csv", tmp_path / "plan.csv"
    make(path)
    code, _, err = run_cli(capfd, "--start", "10", "--deadline", "23", "--solar-csv", str(path), "--out", str(out))
    one_usage_line(code, err, says)
    assert not out.exists()


def test_the_hour_column_places_each_value_at_its_hour(capfd, tmp_path):
    hours = list(range(N))[::-1]  # any order: the hour column says where each value goes
    path = solar_csv(tmp_path / "solar.csv", hours, [h % 50 for h in hours])  # below the GPU's draw: grid imports
    carbon = solar_csv(tmp_path / "carbon.csv", hours, [100 + h % 7 for h in hours], column="carbon_g_per_kwh")
    out = tmp_path / "plan.csv"
    code, _, err = run_cli(capfd, "--start", "4000", "--deadline", "23", "--solar-csv", str(path),
                           "--carbon-csv", str(carbon), "--out", str(out))
    assert code == 0, err
    plan = pd.read_csv(out)
    assert plan["hour"].tolist() == list(range(4000, 4023))
    np.testing.assert_array_equal(plan["solar_w"], plan["hour"] % 50)
    imports = plan["grid_to_gpu_w"] + plan["grid_to_battery_w"]
    assert (imports > 0).sum() >= 10
    np.testing.assert_allclose((plan["emissions_g"] * 1000 / imports)[imports > 0], (100 + plan["hour"] % 7)[imports > 0])


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_pv_array_of_negative_or_no_number_of_watts_is_refused(capfd, tmp_path, value):
    out = tmp_path / "plan.csv"
    code, _, err = run_cli(capfd, "--start", "10", "--deadline", "23", "--pdc0-w", value, "--out", str(out))
    one_usage_line(code, err, "pdc0_w must be a finite number of W >= 0")
    assert not out.exists()


def test_the_help_states_the_hour_convention(capsys):
    with pytest.raises(SystemExit):
        cli.main(["dispatch", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "'hour' column (0-based hour of the weather year: 0 is 00:00-01:00 on 1 January" in help_text


@pytest.mark.slow
def test_a_long_window_shows_progress_and_stops_on_ctrl_c(tmp_path):
    """A real SIGINT once the progress bar is on stderr: exit 130, one line, no plan written."""
    import os
    import signal
    import subprocess
    import time

    from greenai import paths

    out, err_path = tmp_path / "plan.csv", tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    with open(err_path, "w") as err_file:
        proc = subprocess.Popen([sys.executable, "-m", "greenai", "dispatch", "--start", "0", "--deadline", "300",
                                 "--choose-start", "--out", str(out)], stdout=subprocess.DEVNULL, stderr=err_file,
                                env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 90
        while "planning:" not in err_path.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert "/558 [" in err_path.read_text(), err_path.read_text()  # the bar: searches done of the total
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    err = err_path.read_bytes().decode()  # the bar redraws itself after "\r"
    lines = [line for line in err.split("\n") if line.strip()]
    assert code == 130, err
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].split("\r")[-1] == "greenai dispatch: interrupted before the plan was found; nothing was written"
    assert not out.exists()
