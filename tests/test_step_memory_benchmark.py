"""benchmarks/step_memory.py on the CPU: a row per model, out of memory recorded as such, rows kept across runs."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest
import torch

from greenai import paths


def _script():
    spec = importlib.util.spec_from_file_location("step_memory", paths.REPO_ROOT / "benchmarks" / "step_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_step_that_does_not_fit_is_recorded_and_the_rows_of_earlier_runs_are_kept(tmp_path, monkeypatch):
    script = _script()
    assert script.main(["--device", "cpu", "--batch", "2", "--models", "resnet18", "--out-dir", str(tmp_path)]) == 0

    def step(name, batch, image_size, device):
        if name == "vgg11":
            raise torch.OutOfMemoryError("CUDA out of memory")
        return 1.5

    monkeypatch.setattr(script, "step_peak_gib", step)
    assert script.main(["--device", "cpu", "--batch", "2", "--models", "vgg11", "alexnet",
                        "--out-dir", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "step_memory.csv")
    assert table["model"].tolist() == ["resnet18", "vgg11", "alexnet"]
    assert table["outcome"].tolist() == ["fits", "out of memory", "fits"]
    assert table["peak_gib"].isna().tolist() == [False, True, False] and (table["batch_size"] == 2).all()
    meta = json.loads((tmp_path / "step_memory.meta.json").read_text())
    assert meta["campaign"] == "step_memory" and len(meta["runs"]) == 2


def test_a_run_killed_after_its_first_model_keeps_that_row_and_its_provenance(tmp_path, monkeypatch):
    script = _script()

    def step(name, batch, image_size, device):
        if name == "vgg11":
            raise KeyboardInterrupt  # the run is stopped while the second model is measured
        return 2.5

    monkeypatch.setattr(script, "step_peak_gib", step)
    with pytest.raises(KeyboardInterrupt):
        script.main(["--device", "cpu", "--batch", "2", "--models", "alexnet", "vgg11", "--out-dir", str(tmp_path)])
    table = pd.read_csv(tmp_path / "step_memory.csv")
    assert table["model"].tolist() == ["alexnet"] and table["peak_gib"].tolist() == [2.5]
    assert json.loads((tmp_path / "step_memory.meta.json").read_text())["campaign"] == "step_memory"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [
        "step_memory.csv", "step_memory.meta.json"]  # no temporary file left


def test_a_cpu_run_without_an_out_dir_and_bad_sizes_are_refused(tmp_path, capsys):
    script = _script()
    for argv, message in ((["--device", "cpu", "--models", "resnet18"], "does not write the record"),
                          (["--device", "cpu", "--models", "resnet18", "--batch", "0", "--out-dir", str(tmp_path)],
                           "must be positive")):
        with pytest.raises(SystemExit) as exc:
            script.main(argv)
        assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_an_appended_row_leaves_the_rows_before_it_byte_for_byte(tmp_path):
    script = _script()
    csv_path = tmp_path / "step_memory.csv"
    before = "model,peak_gib,outcome\nresnet18,1.50,fits\nvgg11,,out of memory\n"  # "1.50": as a reader wrote it
    csv_path.write_text(before)
    script.append_row(csv_path, {"outcome": "fits", "model": "alexnet", "peak_gib": 0.25})
    assert csv_path.read_text() == before + "alexnet,0.25,fits\n"  # in the file's column order
    with pytest.raises(ValueError, match="columns"):
        script.append_row(csv_path, {"model": "alexnet", "peak_gib": 0.25})
    assert csv_path.read_text() == before + "alexnet,0.25,fits\n"
