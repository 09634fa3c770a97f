"""``greenai measure -- CMD``: runs for real (subprocesses, CSV), with only
pynvml replaced by the simulated GPU where a GPU is needed."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pynvml as real_pynvml
import pytest

from greenai import cli, paths
from greenai.energy_cli import EXIT_UNAVAILABLE, append_row
from nvml_double import FakeGpu, FakeNvml, installed

PY = sys.executable


@pytest.fixture
def fake(monkeypatch):
    yield from installed(monkeypatch, [FakeGpu(power_w=250.0)])


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(init_error=real_pynvml.NVML_ERROR_LIBRARY_NOT_FOUND).module)


def test_measures_a_command_on_a_gpu(fake, tmp_path, capsys):
    out_csv = tmp_path / "runs.csv"
    code = cli.main(
        ["measure", "--method", "counter", "--method", "tdp", "--csv", str(out_csv), "--",
         PY, "-c", "import time; time.sleep(0.6)"]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "GPU energy:" in err and "method: counter" in err and "Wh" in err and "GPU 0:" in err
    assert "by tdp:" in err
    rows = pd.read_csv(out_csv)
    assert len(rows) == 1
    assert rows.loc[0, "energy_j"] == pytest.approx(250.0 * rows.loc[0, "duration_s"], abs=60)
    assert rows.loc[0, "exit_code"] == 0 and rows.loc[0, "command"].startswith(PY)
    # a second run appends
    assert cli.main(["measure", "-m", "counter", "-m", "tdp", "--csv", str(out_csv), "--", PY, "-c", "pass"]) == 0
    assert len(pd.read_csv(out_csv)) == 2


def test_exit_code_is_passed_through(fake, capsys):
    assert cli.main(["measure", "--", PY, "-c", "raise SystemExit(7)"]) == 7
    assert "exit code: 7" in capsys.readouterr().err


def test_idle_baseline_option(fake, capsys):
    assert cli.main(["measure", "--idle-s", "0.3", "--", PY, "-c", "pass"]) == 0
    err = capsys.readouterr().err
    assert "idle:" in err and "above idle" in err


def test_cpu_only_machine_reports_energy_unavailable(no_gpu, tmp_path, capsys):
    out_csv = tmp_path / "cpu.csv"
    assert cli.main(["measure", "--csv", str(out_csv), "--", PY, "-c", "pass"]) == 0
    err = capsys.readouterr().err
    assert "GPU energy: unavailable" in err
    assert "warning: GPU energy unavailable" in err and "NVML" in err
    assert "CPU package energy: unavailable" in err
    row = pd.read_csv(out_csv).iloc[0]
    assert pd.isna(row["energy_j"]) and row["method"] == "none"


def test_explicit_gpu_method_without_gpu_fails_before_running(no_gpu, tmp_path, capsys):
    marker = tmp_path / "ran"
    code = cli.main(["measure", "--method", "counter", "--", PY, "-c", f"open({str(marker)!r}, 'w')"])
    assert code == EXIT_UNAVAILABLE == 2  # a usage error, told apart from the command's own exit codes > 2
    assert not marker.exists()
    err = capsys.readouterr().err
    assert "NVML is not usable" in err and "--method auto" in err and "the command was not run" in err
    assert len(err.strip().splitlines()) == 1 and "methods=" not in err  # one line, command-line wording


def test_usage_errors(no_gpu, capsys):
    assert cli.main(["measure"]) == 2
    assert "no command given" in capsys.readouterr().err
    assert cli.main(["measure", "-m", "auto", "-m", "counter", "--", "true"]) == 2


def test_command_that_cannot_start(no_gpu, capsys):
    assert cli.main(["measure", "--", "/nonexistent/program"]) == 127
    assert "cannot run" in capsys.readouterr().err


def test_csv_with_other_columns_is_not_mixed(tmp_path):
    path = tmp_path / "x.csv"
    append_row(path, {"a": 1, "b": 2})
    append_row(path, {"a": 3, "b": 4})
    with pytest.raises(ValueError, match="new --csv file"):
        append_row(path, {"a": 1, "c": 2})
    assert pd.read_csv(path)["b"].tolist() == [2, 4]


def test_console_entry_point_end_to_end(tmp_path):
    """The real CLI in a fresh process on this machine (whatever NVML it has)."""
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    proc = subprocess.run(
        [PY, "-m", "greenai", "measure", "--csv", str(tmp_path / "e2e.csv"), "--", PY, "-c", "raise SystemExit(5)"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 5, proc.stderr
    assert "duration:" in proc.stderr and "GPU energy:" in proc.stderr
    assert len(pd.read_csv(tmp_path / "e2e.csv")) == 1


def _one_usage_line(err: str, says: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("greenai measure: ") and says in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize("options, says", [
    (["--sample-period-s", "0"], "--sample-period-s must be a positive number of seconds, got 0"),
    (["--sample-period-s", "nan"], "--sample-period-s must be"),
    (["--idle-s", "-1"], "--idle-s must be a number of seconds >= 0, got -1"),
    (["--tdp-w", "-5"], "--tdp-w must be a positive power"),
    (["--gpu", "7"], "--gpu 7 cannot be metered here (GPU energy unavailable, measuring time only: GPU index [7] "
                     "out of range: NVML sees 1 GPU(s))"),
    (["--gpu", "0", "--gpu", "0"], "must be distinct"),
])
def test_bad_options_are_refused_before_the_command_runs(fake, tmp_path, capsys, options, says):
    marker, out_csv = tmp_path / "ran", tmp_path / "runs.csv"
    code = cli.main(["measure", *options, "--csv", str(out_csv), "--", PY, "-c", f"open({str(marker)!r}, 'w')"])
    assert code == 2
    _one_usage_line(capsys.readouterr().err, says)
    assert not marker.exists() and not out_csv.exists()


def test_a_gpu_asked_for_on_a_machine_without_one_is_refused(no_gpu, tmp_path, capsys):
    marker = tmp_path / "ran"
    assert cli.main(["measure", "--gpu", "0", "--", PY, "-c", f"open({str(marker)!r}, 'w')"]) == 2
    _one_usage_line(capsys.readouterr().err, "--gpu 0 cannot be metered here (GPU energy unavailable")
    assert not marker.exists()


def _measure_header(path):
    append_row(path, {"window": "w", "begin_unix_s": 0.0, "duration_s": 1.0, "method": "none", "energy_j": 1.0,
                      "command": "true", "exit_code": 0})


@pytest.mark.parametrize("make, says", [
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_text("model,energy_j\nalexnet,1.0\n"), "holds other rows than greenai measure writes "
                                                               "(no column window, begin_unix_s"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe"), "is not a text CSV file"),
])
def test_a_csv_that_cannot_take_the_row_is_refused_before_the_command_runs(no_gpu, tmp_path, capsys, make, says):
    target, marker = tmp_path / "target.csv", tmp_path / "ran"
    make(target)
    before = target.read_bytes() if target.is_file() else None
    code = cli.main(["measure", "--csv", str(target), "--", PY, "-c", f"open({str(marker)!r}, 'w')"])
    assert code == 2
    _one_usage_line(capsys.readouterr().err, says)
    assert not marker.exists()
    assert (target.read_bytes() if target.is_file() else None) == before


def test_ctrl_c_stops_the_command_with_exit_130_and_keeps_the_rows(tmp_path):
    """A real SIGINT to the measuring process (the command sends it to its parent)."""
    import signal

    out_csv = tmp_path / "runs.csv"
    _measure_header(out_csv)
    before = out_csv.read_bytes()
    marker = tmp_path / "finished"
    child = (f"import os, signal, time; os.kill(os.getppid(), signal.SIGINT); time.sleep(20); "
             f"open({str(marker)!r}, 'w')")
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    proc = subprocess.run([PY, "-m", "greenai", "measure", "--csv", str(out_csv), "--", PY, "-c", child],
                          capture_output=True, text=True, env=env, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.returncode == 130, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("greenai measure: interrupted") and "are kept" in lines[0], \
        proc.stderr
    assert out_csv.read_bytes() == before and not marker.exists()
