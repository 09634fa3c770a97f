"""benchmarks/norm_width.py on the CPU: one row per width, the static pass's bytes, and no record written from a CPU."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

from greenai import paths


def _script():
    spec = importlib.util.spec_from_file_location("norm_width", paths.REPO_ROOT / "benchmarks" / "norm_width.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_cpu_run_writes_one_row_per_width_with_the_static_bytes(tmp_path):
    script = _script()
    assert script.main(["--device", "cpu", "--elements", "4096", "--min-s", "0.01", "--widths", "64", "2", "8",
                        "--out-dir", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "norm_width.csv")
    assert table["width"].tolist() == [2, 8, 64] and table["rows"].tolist() == [2048, 512, 64]
    assert (table["elements"] == 4096).all() and (table["steps"] >= 10).all()
    assert table["bytes"].tolist() == [script.step_bytes(w, r) for w, r in zip(table["width"], table["rows"])]
    # forward reads x and writes y, backward reads the gradient and x and writes x's gradient: 5 x 4096 floats at
    # least; the per-row mean and reciprocal deviation add more bytes the narrower the norm
    assert (table["bytes"] >= 5 * 4096 * 4).all() and table["bytes"].is_monotonic_decreasing
    assert (table["ps_per_byte"] > 0).all() and table["energy_per_step_j"].isna().all()
    per_row_ns = 1e9 * table["time_per_step_s"] / table["rows"]
    assert table["ns_per_row"].tolist() == pytest.approx(per_row_ns.tolist(), rel=1e-5)  # both at 6 digits
    meta = json.loads((tmp_path / "norm_width.meta.json").read_text())
    assert meta["campaign"] == "norm_width" and meta["device"] == "cpu" and meta["elements"] == 4096


def test_a_cpu_run_without_an_out_dir_and_bad_sizes_are_refused(tmp_path, capsys):
    script = _script()
    for argv, message in ((["--device", "cpu"], "does not write the record"),
                          (["--device", "cpu", "--min-s", "0", "--out-dir", str(tmp_path)], "must be positive")):
        with pytest.raises(SystemExit) as exc:
            script.main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
