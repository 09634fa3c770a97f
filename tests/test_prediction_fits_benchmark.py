"""benchmarks/prediction_fits.py: times each step it is asked for on the committed rows, into a CSV with its meta."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

from greenai import paths


def _script():
    spec = importlib.util.spec_from_file_location("prediction_fits",
                                                  paths.REPO_ROOT / "benchmarks" / "prediction_fits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_asked_steps_are_timed_into_a_csv_with_its_meta(tmp_path):
    script = _script()
    assert script.main(["--steps", "solve", "fit_gpu", "--repeats", "1", "--out-dir", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "prediction_fits.csv")
    assert table["step"].tolist() == ["solve", "solve", "fit_gpu", "fit_gpu"]
    assert (table["wall_s"] > 0).all() and (table["calls"] == 1).all() and (table["runs"] > 300).all()
    meta = json.loads((tmp_path / "prediction_fits.meta.json").read_text())
    assert meta["campaign"] == "prediction_fits" and meta["device"] == "cpu"


def test_no_repeats_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _script().main(["--repeats", "0", "--out-dir", str(tmp_path)])
    assert exc.value.code == 2 and "at least 1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
