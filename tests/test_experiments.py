"""Experiment grids: validation, well-formed rows, YAML, and resume after a kill
(CPU, synthetic data, a small registry model at 32x32, time-only meter)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from greenai import campaign, paths
from greenai.experiments import curve_sets, registry
from greenai.models import sets
from greenai import experiments as ex

TINY = dict(source="synthetic", image_size=32, limit=12, warmup_steps=1)


def tiny_spec(**kw) -> ex.RunSpec:
    base = dict(experiment="t", model="mobilenet_v1", dataset="fashion_mnist", batch_size=4, **TINY)
    base.update(kw)
    return ex.RunSpec(**base)


@pytest.fixture(scope="module")
def env():
    return ex.make_environment("cpu", idle_s=0)


def test_validate_names_every_problem_at_once(tmp_path):
    specs = [
        ex.RunSpec("bad", "alexnett", "fashion_mnist", 128, source="synthetic"),
        ex.RunSpec("bad", "alexnet", "fashion_mnist", 0, source="synthetic"),
        ex.RunSpec("bad", "alexnet", "mnist", 64),
        ex.RunSpec("bad", "alexnet", "cifar100", 64, source="real"),
        ex.RunSpec("bad", "alexnet", "fashion_mnist", 64, precision="fp16", source="synthetic"),
        ex.RunSpec("bad", "alexnet", "cifar10", 64, source="synthetic", evaluate=True),
        ex.RunSpec("bad", "resnet18", "fashion_mnist", 64, epochs=0, source="synthetic"),
        ex.RunSpec("bad", "resnet18", "fashion_mnist", 64, epochs=0, source="synthetic"),
        ex.RunSpec("bad", "vgg11", "fashion_mnist", 64, kind="phases", source="synthetic"),
    ]
    with pytest.raises(ex.GridError) as info:
        ex.validate(specs, data_root=tmp_path)
    message = str(info.value)
    for needle in ("unknown model 'alexnett'", "batch size must be an integer >= 1, got 0",
                   "unknown dataset 'mnist'", "real dataset missing: CIFAR-100 not found",
                   "unknown precision 'fp16'", "accuracy is never reported from synthetic data",
                   "epochs must be an integer >= 1, got 0", "appears twice", "needs max_steps or window_s"):
        assert needle in message, needle
    assert len(info.value.problems) == 10  # the duplicate spec's epochs problem counts twice


def test_grid_expansion_and_yaml(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(textwrap.dedent("""
        grids:
          - experiment: batch
            models: [alexnet, resnet18]
            datasets: fashion_mnist
            batch_sizes: [64, 128, 256]
            repeats: 2
            epochs: 3
          - experiment: phases
            kind: phases
            models: [alexnet]
            datasets: [cifar100]
            batch_sizes: [256]
            source: synthetic
            window_s: 3.0
        """))
    grids = ex.load_grids(path)
    specs = ex.expand(grids)
    assert len(specs) == 2 * 3 * 2 + 1
    assert {s.repeat for s in specs if s.experiment == "batch"} == {0, 1}
    assert all(s.epochs == 3 for s in specs if s.experiment == "batch")
    assert specs[-1].kind == "phases" and specs[-1].source == "synthetic"
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment: x\nmodels: [alexnet]\ndatasets: [cifar10]\nbatch_sizes: [8]\nbatchsize: 3\n")
    with pytest.raises(ex.GridError, match="unknown option"):
        ex.expand(ex.load_grids(bad))


def test_training_rows_are_well_formed_and_rerun_skips_them(tmp_path, env):
    csv_path = tmp_path / "rows.csv"
    specs = [tiny_spec(epochs=2), tiny_spec(experiment="w", epochs=2, max_steps=2)]
    summary = ex.run_training(specs, csv_path, env=env, progress=False)
    assert (summary.written, summary.skipped) == (4, 0)
    rows = pd.read_csv(csv_path)
    assert tuple(rows.columns) == ex.TRAIN_COLUMNS
    full, window = rows[rows.experiment == "t"], rows[rows.experiment == "w"]
    assert list(full.epoch_index) == [0, 1] and list(window.epoch_index) == [0, 1]
    assert (full.steps == 3).all() and (full.samples == 12).all() and (full.epoch_fraction == 1).all()
    assert not full.epoch_energy_extrapolated.any() and (full["mode"] == "epoch").all()
    assert (window.steps == 2).all() and window.epoch_fraction.to_numpy() == pytest.approx(8 / 12)
    assert window.epoch_energy_extrapolated.all() and (window["mode"] == "window").all()
    assert window.epoch_duration_s.to_numpy() == pytest.approx(window.duration_s.to_numpy() * 12 / 8)
    for col in ("h2d_s", "forward_s", "backward_s", "optimizer_s", "duration_s"):
        assert (rows[col] > 0).all(), col
    assert (rows.forward_s + rows.backward_s + rows.optimizer_s + rows.h2d_s <= rows.duration_s).all()
    assert (rows.data_source == "synthetic").all() and (rows.gpu_name == "cpu").all()
    assert (rows.macs > 1e6).all() and (rows.params > 1e6).all() and (rows.in_channels == 1).all()
    assert rows.energy_j.isna().all() and rows.warnings.str.contains("time only").all()
    assert rows.test_accuracy.isna().all()
    # a rerun measures nothing and writes nothing
    again = ex.run_training(specs, csv_path, env=env, progress=False)
    assert (again.written, again.skipped) == (0, 4)
    assert len(pd.read_csv(csv_path)) == 4


def test_partial_last_line_is_dropped_and_other_columns_refused(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n3,")
    with pytest.warns(ex.DroppedRowsWarning, match="incomplete last row"):
        writer = ex.RowStore(path, ("a", "b"))
    writer.append([{"a": 5, "b": math.nan}])
    assert path.read_text() == "a,b\n1,2\n5,\n"
    import numpy as np

    writer.append([{"a": np.float64(0.25), "b": np.int64(3)}])
    assert path.read_text().endswith("5,\n0.25,3\n")
    with pytest.raises(ex.ResultsFileError, match="new file"):
        ex.RowStore(path, ("a", "c"))


DRIVER = textwrap.dedent("""
    import os, signal, sys, threading
    import torch
    torch.set_num_threads(1)
    from greenai import experiments as ex
    csv_path, kill_after = sys.argv[1], int(sys.argv[2])
    specs = [ex.RunSpec("resume", "mobilenet_v1", "fashion_mnist", b, epochs=3, source="synthetic",
                        image_size=32, limit=24, warmup_steps=1) for b in (4, 8)]
    rows = []
    def log(line):
        rows.append(line)
        if len(rows) == kill_after:  # SIGKILL a moment later: in the middle of the next epoch
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGKILL)).start()
    env = ex.make_environment("cpu", idle_s=0)
    ex.run_training(specs, csv_path, env=env, checkpoint_dir=os.path.join(os.path.dirname(csv_path), "ckpt"),
                    progress=False, log=log)
""")


def _drive(tmp_path: Path, csv_name: str, kill_after: int) -> subprocess.CompletedProcess:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    return subprocess.run([sys.executable, str(script), str(tmp_path / csv_name), str(kill_after)],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_killed_sweep_resumes_to_exactly_the_uninterrupted_rows(tmp_path):
    reference = _drive(tmp_path, "reference.csv", kill_after=0)
    assert reference.returncode == 0, reference.stderr
    killed = _drive(tmp_path, "resumed.csv", kill_after=2)
    assert killed.returncode == -signal.SIGKILL
    partial = pd.read_csv(tmp_path / "resumed.csv")
    assert 2 <= len(partial) < 6
    resumed = _drive(tmp_path, "resumed.csv", kill_after=0)
    assert resumed.returncode == 0, resumed.stderr
    ref = pd.read_csv(tmp_path / "reference.csv")
    out = pd.read_csv(tmp_path / "resumed.csv")
    key = list(ex.KEY_COLUMNS["train"])
    assert not out.duplicated(key).any()
    assert len(out) == len(ref) == 6
    merged = ref.merge(out, on=key, suffixes=("_ref", "_out"))
    assert len(merged) == 6
    # checkpoints make the resumed run continue exactly: same losses epoch by epoch
    assert merged.train_loss_out.to_numpy() == pytest.approx(merged.train_loss_ref.to_numpy(), rel=1e-5)
    assert not any((tmp_path / "ckpt").glob("*.pt"))  # finished runs leave no checkpoint


@pytest.mark.slow
def test_campaign_quick_writes_rows_and_meta(tmp_path):
    assert campaign.main(["--quick", "--out", str(tmp_path), "--device", "cpu", "--idle-s", "0",
                          "--no-progress", "-e", "layers", "-e", "phases", "-e", "macs"]) == 0
    layers = pd.read_csv(tmp_path / "layer_profile.csv")
    types = layers[layers.level == "type"]
    assert types.share_of_forward.sum() == pytest.approx(1.0)
    assert "convolution" in set(types.layer)
    assert (layers[layers.level == "layer"].layer_type.isin(
        ["convolution", "activation", "pooling", "linear", "dropout", "flatten", "normalisation", "other"])).all()
    phases = pd.read_csv(tmp_path / "phase_design.csv")
    assert sorted(set(phases.window)) == sorted(["h2d", "forward", "backward", "optimizer"])
    macs = pd.read_csv(tmp_path / "kpi_macs.csv")
    assert set(macs.dataset) == {"fashion_mnist", "cifar100"} and macs.epoch_energy_extrapolated.all()
    for name in ("layer_profile", "phase_design", "kpi_macs"):
        assert (tmp_path / f"{name}.meta.json").exists()
    # A rerun finds every row present: nothing is measured again, nothing duplicated.
    before = {name: len(pd.read_csv(tmp_path / f"{name}.csv")) for name in ("layer_profile", "phase_design", "kpi_macs")}
    env = ex.make_environment("cpu")
    summaries = {name: registry.run_experiment(name, tmp_path, quick=True, env=env, progress=False, log=None)
                 for name in ("layers", "phases", "macs")}
    assert all(s.written == 0 and s.skipped > 0 for s in summaries.values())
    assert before == {name: len(pd.read_csv(tmp_path / f"{name}.csv")) for name in before}
    assert campaign.main(["--list"]) == 0


def test_campaign_grids_are_valid_and_sized_as_documented():
    from greenai.models.timm_models import timm_available

    specs = {name: e.specs() for name, e in registry.EXPERIMENTS.items()}
    for name, v in specs.items():
        if name not in ("heldout4", "heldout5", "heldout6") or timm_available():  # their models need timm
            ex.validate(v, check_data=False)
    assert len(specs["batch_size"]) == 6 * 3
    assert len(specs["macs"]) == 20 * 2 + len(sets.REPEATED_MODELS) * 2
    assert {s.source for s in specs["macs"] if s.dataset == "cifar100"} == {"synthetic"}
    assert {s.source for s in specs["cifar10_pair"]} == {"real", "synthetic"}
    assert set(specs["macs_fmnist"]) | set(specs["macs_cifar100"]) == set(specs["macs"])


def test_heldout_grid_is_the_macs_windows_on_models_outside_the_zoo(tmp_path):
    from greenai.models import MODEL_NAMES, ZOO_FAMILIES, model_info

    specs = registry.EXPERIMENTS["heldout"].specs()
    macs = [s for s in registry.EXPERIMENTS["macs"].specs() if s.dataset == "fashion_mnist" and s.repeat == 0]
    assert len(specs) >= 8 and len({s.model for s in specs}) == len(specs)
    assert not {s.model for s in specs} & set(MODEL_NAMES)
    families = {model_info(s.model)["family"] for s in specs}
    assert len(families) == len(specs) and not families & ZOO_FAMILIES
    # the campaign's conditions: everything but the model equals the zoo's FMNIST windows
    assert {(s.dataset, s.source, s.batch_size, s.precision, s.window_s, s.warmup_steps, s.epochs, s.image_size)
            for s in specs} == {(s.dataset, s.source, s.batch_size, s.precision, s.window_s, s.warmup_steps,
                                 s.epochs, s.image_size) for s in macs}
    # the smoke run builds a torchvision model, not a zoo model
    env = ex.make_environment("cpu")
    summary = registry.run_experiment("heldout", tmp_path, quick=True, env=env, progress=False, log=None)
    rows = pd.read_csv(tmp_path / "kpi_heldout.csv")
    assert summary.written == 2 and set(rows.model) == {"squeezenet1_1"} and rows.epoch_energy_extrapolated.all()


def test_second_heldout_set_is_disjoint_from_the_first_the_zoo_and_the_fit(tmp_path):
    from greenai.models import MODEL_NAMES, ZOO_FAMILIES, model_info

    first = {s.model for s in registry.EXPERIMENTS["heldout"].specs()}
    second = registry.EXPERIMENTS["heldout2"].specs()
    models = {s.model for s in second}
    assert len(models) == len(second) >= 8 and not models & first and not models & set(MODEL_NAMES)
    assert not {model_info(m)["family"] for m in models} & ZOO_FAMILIES
    heldout = registry.EXPERIMENTS["heldout"].specs()[0]
    assert {(s.dataset, s.batch_size, s.precision, s.window_s, s.epochs) for s in second} == {
        (heldout.dataset, heldout.batch_size, heldout.precision, heldout.window_s, heldout.epochs)}
    assert registry.EXPERIMENTS["heldout2"].csv not in registry.EXPERIMENTS["heldout"].csv  # its own CSV


def _assert_timm_heldout_set(name, models_tuple, like):
    """A timm held-out set: the zoo anchors first (in the conditions of their fitted ``macs_h200`` rows), then its
    16 timm models in the stated MAC range, in the conditions of the set ``like``, in its own CSV, run by default."""
    from greenai.macs import count_model
    from greenai.models import MODEL_NAMES

    exp = registry.EXPERIMENTS[name]
    specs = exp.specs()
    models = [s.model for s in specs if s.model not in sets.HELDOUT_ANCHORS]
    assert models == list(models_tuple) and len(set(models)) == len(models) == 16
    assert [s.model for s in specs[:4]] == list(sets.HELDOUT_ANCHORS)
    assert set(sets.HELDOUT_ANCHORS) <= set(MODEL_NAMES)
    zoo = {s.model: s for s in registry.EXPERIMENTS["macs_h200"].specs()}
    for s in specs[:4]:
        assert dataclasses.replace(s, experiment="macs_h200") == zoo[s.model]
    assert all(m.startswith("timm:") for m in models) and not set(models) & set(MODEL_NAMES)
    for m in models:  # the stated MAC range, 1x224x224 and 10 classes
        assert 0.3e9 <= count_model(m, 1, 10, 224)["macs"] <= 10e9, m
    conditions = lambda ss: {(s.dataset, s.source, s.batch_size, s.precision, s.window_s, s.warmup_steps,  # noqa: E731
                              s.epochs, s.image_size) for s in ss}
    assert conditions(specs) == conditions(registry.EXPERIMENTS[like].specs())
    assert exp.csv == f"kpi_{name}" and exp.csv not in {registry.EXPERIMENTS[n].csv for n in registry.EXPERIMENTS
                                                          if n != name}
    assert name in registry.DEFAULT_EXPERIMENTS
    ex.validate(specs, check_data=False)
    return models


def test_fourth_heldout_set_is_timm_families_outside_the_zoo_torchvision_and_the_other_sets(tmp_path):
    pytest.importorskip("timm")
    from greenai.models import ZOO_FAMILIES, model_info
    from greenai.models.timm_models import has_torchvision_counterpart
    from greenai.models.torchvision_models import torchvision_family, torchvision_names

    models = _assert_timm_heldout_set("heldout4", sets.HELDOUT4_MODELS, like="heldout3")
    earlier = {s.model for n in ("heldout", "heldout2", "heldout3") for s in registry.EXPERIMENTS[n].specs()}
    tv_families = {torchvision_family(n) for n in torchvision_names()}
    families = [model_info(m)["family"] for m in models]
    assert len(set(families)) == len(families)  # one model per timm family
    assert not any(has_torchvision_counterpart(f, tv_families, ZOO_FAMILIES) for f in families)
    assert not {model_info(m)["family"] for m in earlier} & set(families)


@pytest.mark.parametrize("experiment, model", [("heldout4", "timm:ese_vovnet19b_dw"), ("heldout5", "timm:skresnet18")])
def test_timm_heldout_quick_run_writes_timm_rows_and_resumes(tmp_path, experiment, model):
    pytest.importorskip("timm")
    argv = ["--quick", "--out", str(tmp_path), "--device", "cpu", "--idle-s", "0", "--no-progress",
            "-e", experiment]
    assert campaign.main(argv) == 0
    csv = tmp_path / f"{registry.EXPERIMENTS[experiment].csv}.csv"
    rows = pd.read_csv(csv)
    assert len(rows) == 2 and set(rows.model) == {model} and rows.epoch_energy_extrapolated.all()
    assert rows.train_loss.notna().all() and (rows.macs > 0).all()
    assert csv.with_suffix(".meta.json").exists()
    # the model name with its colon is a resume key like any other: a rerun measures nothing again
    env = ex.make_environment("cpu")
    summary = registry.run_experiment(experiment, tmp_path, quick=True, env=env, progress=False, log=None)
    assert summary.written == 0 and summary.skipped == 2 and len(pd.read_csv(csv)) == 2


def test_synthetic_halves_partition_the_synthetic_grid_into_one_csv(tmp_path):
    from greenai.models.synthetic import SYNTHETIC_NAMES

    whole = registry.EXPERIMENTS["synthetic"].specs()
    even, odd = (registry.EXPERIMENTS[n].specs() for n in ("synthetic_even", "synthetic_odd"))
    assert [s.model for s in whole] == list(SYNTHETIC_NAMES)
    assert sorted(even + odd, key=lambda s: s.model) == whole and not {s.model for s in even} & {s.model for s in odd}
    assert {registry.EXPERIMENTS[n].csv for n in ("synthetic", "synthetic_even", "synthetic_odd")} == {"kpi_synthetic"}
    env = ex.make_environment("cpu")
    summary = registry.run_experiment("synthetic", tmp_path, quick=True, env=env, progress=False, log=None)
    rows = pd.read_csv(tmp_path / "kpi_synthetic.csv")
    assert summary.written == 2 and set(rows.model) == {"synthetic_39"} and rows.train_loss.notna().all()


def test_synthetic_kinds_measures_the_later_draw_like_synthetic_into_its_own_csv(tmp_path):
    from greenai.models.synthetic import KINDS_NAMES

    exp = registry.EXPERIMENTS["synthetic_kinds"]
    specs = exp.specs()
    assert [s.model for s in specs] == list(KINDS_NAMES) and len(specs) == 16
    conditions = lambda ss: {(s.dataset, s.source, s.batch_size, s.precision, s.window_s, s.warmup_steps,  # noqa: E731
                              s.epochs, s.image_size) for s in ss}
    assert conditions(specs) == conditions(registry.EXPERIMENTS["synthetic"].specs())
    assert exp.csv == "kpi_synthetic_kinds" and "synthetic_kinds" in registry.DEFAULT_EXPERIMENTS
    env = ex.make_environment("cpu")
    summary = registry.run_experiment("synthetic_kinds", tmp_path, quick=True, env=env, progress=False, log=None)
    rows = pd.read_csv(tmp_path / "kpi_synthetic_kinds.csv")
    assert summary.written == 2 and set(rows.model) == {exp.quick_model} and rows.train_loss.notna().all()


@pytest.mark.parametrize("name, names, like, after", [("synthetic_grouped", "GROUPED_NAMES", "synthetic_kinds", "heldout8"),
                                                      ("synthetic_norms", "NORMS_NAMES", "synthetic_grouped",
                                                       "nearfamily3"),
                                                      ("synthetic_kernels", "KERNEL_NAMES", "synthetic_norms",
                                                       "heldout10"),
                                                      ("synthetic_batch_norms", "BATCH_NORM_NAMES",
                                                       "synthetic_kernels", "synthetic_kernels")])
def test_a_later_synthetic_draw_is_measured_like_the_one_before_into_its_own_csv(tmp_path, name, names, like, after):
    from greenai.models import synthetic

    exp = registry.EXPERIMENTS[name]
    specs = exp.specs()
    drawn = getattr(synthetic, names)
    assert [s.model for s in specs] == list(drawn) and len(specs) == 16 and exp.quick_model in drawn
    conditions = lambda ss: {(s.dataset, s.source, s.batch_size, s.precision, s.window_s, s.warmup_steps,  # noqa: E731
                              s.epochs, s.image_size) for s in ss}
    assert conditions(specs) == conditions(registry.EXPERIMENTS[like].specs())
    order = registry.DEFAULT_EXPERIMENTS
    assert exp.csv == f"kpi_{name}" and order[order.index(after) + 1] == name
    env = ex.make_environment("cpu")
    summary = registry.run_experiment(name, tmp_path, quick=True, env=env, progress=False, log=None)
    rows = pd.read_csv(tmp_path / f"kpi_{name}.csv")
    assert summary.written == 2 and set(rows.model) == {exp.quick_model} and rows.train_loss.notna().all()


def test_macs_h200_is_the_fmnist_half_of_macs_in_its_own_csv():
    h200 = registry.EXPERIMENTS["macs_h200"]
    fmnist = [s for s in registry.EXPERIMENTS["macs"].specs() if s.dataset == "fashion_mnist" and s.repeat == 0]
    assert h200.csv != registry.EXPERIMENTS["macs"].csv and "macs_h200" not in registry.DEFAULT_EXPERIMENTS
    assert [s.__class__(**{**s.__dict__, "experiment": "macs"}) for s in h200.specs()] == fmnist


@pytest.mark.parametrize("name, base", [("synthetic_kernels_h200", "synthetic_kernels"),
                                        ("synthetic_batch_norms_h200", "synthetic_batch_norms"),
                                        ("heldout10_h200", "heldout10"), ("heldout11_h200", "heldout11"),
                                        ("nearfamily4_h200", "nearfamily4"), ("heldout12_h200", "heldout12"),
                                        ("synthetic_norms_h200", "synthetic_norms"), ("heldout13_h200", "heldout13")])
def test_an_h200_repeat_runs_its_experiments_cells_into_its_own_csv(name, base):
    repeat, original = registry.EXPERIMENTS[name], registry.EXPERIMENTS[base]
    assert repeat.csv == f"kpi_{name}" != original.csv and name not in registry.DEFAULT_EXPERIMENTS
    specs = repeat.specs()
    assert {s.experiment for s in specs} == {name} and len(specs) == len(original.specs()) > 0
    assert [dataclasses.replace(s, experiment=base) for s in specs] == original.specs()


def test_rows_carry_the_measurement_and_extend_an_older_csv(tmp_path, env):
    """A CSV written before the measurement columns existed gets them appended; its rows read NaN."""
    from greenai.experiments import store

    csv_path = tmp_path / "old.csv"
    old_columns = [c for c in ex.TRAIN_COLUMNS if c not in store.MEASUREMENT_COLUMNS]
    pd.DataFrame([dict.fromkeys(old_columns, "")]).assign(experiment="old", epoch_index=0).to_csv(csv_path, index=False)
    with pytest.warns(store.SchemaWarning, match="new column"):
        summary = ex.run_training([tiny_spec(epochs=1, max_steps=2)], csv_path, env=env, progress=False)
    assert summary.written == 1
    rows = pd.read_csv(csv_path)
    assert list(rows.columns) == old_columns + list(store.MEASUREMENT_COLUMNS)
    old, new = rows.iloc[0], rows.iloc[1]
    assert pd.isna(old.cpu_energy_note) and pd.isna(old.window_begin_unix_s)
    # the time-only CPU meter: no GPU edges, CPU energy NaN with its reason, a begin time
    assert new.window_begin_unix_s > 1.6e9 and pd.isna(new.begin_temperature_c)
    assert math.isnan(new.cpu_energy_j) == bool(isinstance(new.cpu_energy_note, str) and new.cpu_energy_note)


@pytest.fixture
def fake_gpu_meter(monkeypatch):
    from nvml_double import FakeGpu, installed

    yield from installed(monkeypatch, [FakeGpu(power_w=200.0, step_s=0.001, temperature_c=47, sm_clock_mhz=1755)])


def test_a_metered_row_carries_the_window_edges_and_every_method(tmp_path, fake_gpu_meter):
    """Training on the CPU, metered through the NVML double: the row holds what the Measurement knows."""
    from greenai.energy import EnergyMeter

    with EnergyMeter(methods=("counter", "smi")) as meter:
        env = ex.Environment(device=torch_device("cpu"), meter=meter, gpu_name="Fake H100", driver="x",
                             torch_version="t", cuda_version=None)
        ex.run_training([tiny_spec(epochs=1, max_steps=2)], tmp_path / "m.csv", env=env, progress=False)
    row = pd.read_csv(tmp_path / "m.csv").iloc[0]
    assert (row.begin_temperature_c, row.end_temperature_c, row.end_sm_clock_mhz) == (47, 47, 1755)
    assert row.begin_power_limit_w == 700.0 and str(row.metered_gpus) == "0"
    assert row.energy_j > 0 and row.energy_counter_j == row.energy_j and row.energy_smi_j >= 0
    assert row.counter_updates > 0 and row.uncertainty_j > 0 and math.isnan(row.energy_tdp_j)
    assert math.isnan(row.cpu_energy_j) == isinstance(row.cpu_energy_note, str)


def torch_device(name):
    import torch

    return torch.device(name)


def test_fifth_heldout_set_is_timm_with_the_anchors_first_in_the_conditions_of_the_fourth():
    pytest.importorskip("timm")
    _assert_timm_heldout_set("heldout5", sets.HELDOUT5_MODELS, like="heldout4")
    order = registry.DEFAULT_EXPERIMENTS
    assert order.index("heldout5") == order.index("heldout4") + 1

def _raw_models(pattern: str = "kpi_*.csv", skip: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """The models of every recorded CSV of ``results/raw`` matching ``pattern`` that has a ``model`` column, by file
    name, leaving out the files whose stem is in ``skip`` (a set's own rows and their repeats)."""
    out = {}
    for csv in sorted((paths.REPO_ROOT / "results" / "raw").glob(pattern)):
        if csv.stem not in skip and "model" in pd.read_csv(csv, nrows=0).columns:
            out[csv.name] = set(pd.read_csv(csv, usecols=["model"]).model.astype(str))
    return out


def _never_measured(models, pattern: str = "kpi_*.csv", skip: tuple[str, ...] = ()) -> None:
    """Assert that no recorded CSV (:func:`_raw_models`) holds any of ``models``."""
    for name, measured in _raw_models(pattern, skip).items():
        assert not measured & set(models), name


def _heldout_screen(name: str = "timm_heldout_screen"):
    """benchmarks/``name``.py imported as a module: by default the screen of sets 4 to 12 (its candidate lists and ViT
    families), ``heldout13_screen`` for set 13's (its candidates and exclusions)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    screen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screen)
    return screen


#: timm families equivalent to torchvision's ViT (torchvision has ViT), excluded from sets 5 and 6
_VIT_FAMILIES = {"vision_transformer", "deit", "beit", "eva", "vision_transformer_hybrid"}


def _assert_new_timm_families(models, earlier_sets, blocks):
    """One model per timm family, none of them a family of ``earlier_sets``, of torchvision, of the zoo, of a
    ViT equivalent or named like a synthetic block (``blocks``)."""
    from greenai.models import ZOO_FAMILIES, model_info
    from greenai.models.synthetic import SYNTHETIC_NAMES
    from greenai.models.timm_models import has_torchvision_counterpart
    from greenai.models.torchvision_models import torchvision_family, torchvision_names

    families = [model_info(m)["family"] for m in models]
    assert len(set(families)) == len(families)  # one model per timm family
    earlier = {model_info(s.model)["family"] for n in earlier_sets for s in registry.EXPERIMENTS[n].specs()}
    tv_families = {torchvision_family(n) for n in torchvision_names()}
    synthetic = {model_info(SYNTHETIC_NAMES[0])["family"], *blocks}
    for family in families:
        assert not has_torchvision_counterpart(family, tv_families | earlier | synthetic | _VIT_FAMILIES,
                                               ZOO_FAMILIES), family


def test_fifth_heldout_families_are_new_to_sets_1_to_4_the_zoo_torchvision_and_the_synthetic_blocks():
    pytest.importorskip("timm")
    from greenai.models.synthetic import BLOCKS

    _assert_new_timm_families(sets.HELDOUT5_MODELS, ("heldout", "heldout2", "heldout3", "heldout4"), BLOCKS)
    # the screen's rule: the first 16 of its set-5 candidates that pass, in its order
    screen = _heldout_screen()
    names = [m.removeprefix("timm:") for m in sets.HELDOUT5_MODELS]
    assert [c for c in screen.CANDIDATES[5] if c in names] == names
    assert set(screen.VIT_FAMILIES) == _VIT_FAMILIES and not set(names) & set(screen.CANDIDATES[4][:19])


@pytest.mark.parametrize("models", [sets.HELDOUT5_MODELS, sets.HELDOUT6_MODELS], ids=["set5", "set6"])
def test_timm_heldout_models_build_with_only_the_timm_wheel(models):
    pytest.importorskip("timm")
    # as on the GPU machine: huggingface_hub, safetensors and yaml not importable
    code = textwrap.dedent(f"""
        import sys
        for mod in ("huggingface_hub", "safetensors", "yaml"):
            sys.modules[mod] = None
        import torch
        from greenai.models import build_model
        for name in {list(models)!r}:
            with torch.device("meta"):
                net = build_model(name, 1, 10)
            assert net(torch.empty(2, 1, 224, 224, device="meta")).shape == (2, 10), name
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_sixth_heldout_set_is_new_timm_families_chosen_by_the_screens_rule():
    pytest.importorskip("timm")
    from greenai.models.synthetic import BLOCKS, KINDS_BLOCKS

    _assert_timm_heldout_set("heldout6", sets.HELDOUT6_MODELS, like="heldout5")
    assert sets.HELDOUT_SETS["heldout6"] == sets.HELDOUT6_MODELS
    _assert_new_timm_families(sets.HELDOUT6_MODELS, ("heldout", "heldout2", "heldout3", "heldout4", "heldout5"),
                              (*BLOCKS, *KINDS_BLOCKS))
    screen = _heldout_screen()
    names = [m.removeprefix("timm:") for m in sets.HELDOUT6_MODELS]
    assert [c for c in screen.CANDIDATES[6] if c in names] == names
    assert not {f"timm:{n}" for n in names} & {m for ms in sets.HELDOUT_SETS.values() if ms is not sets.HELDOUT6_MODELS
                                               for m in ms}


def test_nearfamily_set_is_every_unmeasured_variant_of_a_fitted_family_in_the_mac_range():
    from greenai.macs import count_model
    from greenai.models import MODEL_NAMES, ZOO_FAMILIES
    from greenai.models.torchvision_models import torchvision_family, torchvision_names

    exp = registry.EXPERIMENTS["nearfamily"]
    specs = exp.specs()
    assert [s.model for s in specs] == list(sets.HELDOUT_ANCHORS + sets.NEARFAMILY_MODELS)
    zoo = {s.model: s for s in registry.EXPERIMENTS["macs_h200"].specs()}
    for s in specs[:4]:  # the anchors in the conditions of their fitted rows
        assert dataclasses.replace(s, experiment="macs_h200") == zoo[s.model]
    assert exp.csv == "kpi_nearfamily" and "nearfamily" in registry.DEFAULT_EXPERIMENTS
    assert sets.HELDOUT_SETS["nearfamily"] == sets.NEARFAMILY_MODELS
    # the rule, recomputed: torchvision's order, a fitted family, not the zoo nor sets 1-3, 0.3-10 GMAC, at most 16
    earlier = set(MODEL_NAMES) | set(sets.HELDOUT_MODELS + sets.HELDOUT2_MODELS + sets.HELDOUT3_MODELS)
    fitted = set(ZOO_FAMILIES) | {torchvision_family(m) for m in earlier}
    rule = [n for n in torchvision_names() if torchvision_family(n) in fitted and n not in earlier
            and 0.3e9 <= count_model(n, 1, 10, 224)["macs"] <= 10e9][:16]
    assert list(sets.NEARFAMILY_MODELS) == rule and len(rule) == 12
    # and none of them was measured before (kpi_nearfamily.csv itself aside)
    _never_measured(rule, skip=("kpi_nearfamily",))



def test_heldout7_is_its_anchors_then_sixteen_timm_families_no_earlier_set_has_and_now_a_fitted_set():
    from greenai.models import model_info
    from greenai.predict.build import FIT_CSVS, FORMER_HELDOUT_CSVS, HELDOUT_CSVS

    exp = registry.EXPERIMENTS["heldout7"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.HELDOUT7_MODELS)
    # set 8 was chosen after set 7 was measured: set 7 joined the fit, after the sets measured before it
    assert exp.csv == "kpi_heldout7" and _from(FORMER_HELDOUT_CSVS, exp.csv, 3) == ("kpi_heldout7", "kpi_heldout8",
                                                                                   "kpi_nearfamily2")
    assert exp.csv in FIT_CSVS
    assert exp.csv not in HELDOUT_CSVS
    assert len(sets.HELDOUT7_MODELS) == 16 and all(m.startswith("timm:") for m in sets.HELDOUT7_MODELS)
    families = [model_info(m)["family"] for m in sets.HELDOUT7_MODELS]
    before = list(sets.HELDOUT_SETS)[:list(sets.HELDOUT_SETS).index("heldout7")]
    earlier = {model_info(m)["family"] for name in before for m in sets.HELDOUT_SETS[name] if m.startswith("timm:")}
    assert len(set(families)) == 16 and not set(families) & earlier


def _sets_before(name: str) -> dict:
    """The held-out sets measured before ``name`` (:data:`greenai.models.sets.HELDOUT_SETS` is in that order)."""
    names = list(sets.HELDOUT_SETS)
    return {n: sets.HELDOUT_SETS[n] for n in names[:names.index(name)]}


def _from(seq, first, n):
    """The ``n`` entries of ``seq`` from ``first`` on (the order sets were measured in, wherever later ones go)."""
    i = list(seq).index(first)
    return seq[i:i + n]


def test_heldout8_is_its_anchors_then_sixteen_timm_or_pytorchcv_families_no_earlier_set_or_fitted_row_has():
    from greenai.models import model_info
    from greenai.predict.build import FORMER_HELDOUT_CSVS, HELDOUT_CSVS

    exp = registry.EXPERIMENTS["heldout8"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.HELDOUT8_MODELS)
    # fresh once, fitted since set 9 was chosen
    assert exp.csv == "kpi_heldout8" and exp.csv in FORMER_HELDOUT_CSVS and exp.csv not in HELDOUT_CSVS
    assert "heldout8" in registry.DEFAULT_EXPERIMENTS
    assert _from(list(sets.HELDOUT_SETS), "heldout8", 6) == ["heldout8", "nearfamily2", "heldout9", "nearfamily3",
                                                            "heldout10", "heldout11"]
    assert len(sets.HELDOUT8_MODELS) == 16
    assert all(m.startswith(("timm:", "pytorchcv:")) for m in sets.HELDOUT8_MODELS)
    squash = lambda f: f.replace("_", "")  # noqa: E731 - pytorchcv's inceptionv4 is timm's inception_v4
    families = [squash(model_info(m)["family"]) for m in sets.HELDOUT8_MODELS]
    before = list(sets.HELDOUT_SETS)[:list(sets.HELDOUT_SETS).index("heldout8")]
    earlier = {squash(model_info(m)["family"]) for name in before for m in sets.HELDOUT_SETS[name]}
    assert len(set(families)) == 16 and not set(families) & earlier
    # none of them was measured before (kpi_heldout8.csv itself aside)
    _never_measured(sets.HELDOUT8_MODELS, skip=("kpi_heldout8",))


def test_heldout9_is_its_anchors_then_sixteen_vitpytorch_families_no_earlier_set_or_fitted_row_has():
    from greenai.models import model_info
    from greenai.models.vitpytorch_models import CONFIGS
    from greenai.predict.build import FIT_CSVS, FORMER_HELDOUT_CSVS, HELDOUT_CSVS

    pytest.importorskip("vit_pytorch")
    exp = registry.EXPERIMENTS["heldout9"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.HELDOUT9_MODELS)
    assert exp.csv == "kpi_heldout9" and exp.quick_model in sets.HELDOUT9_MODELS
    # fresh once, fitted since set 10 was chosen, after the sets measured before it
    assert _from(FORMER_HELDOUT_CSVS, "kpi_heldout8", 4) == ("kpi_heldout8", "kpi_nearfamily2", "kpi_heldout9",
                                                            "kpi_nearfamily3")
    assert exp.csv in FIT_CSVS and exp.csv not in HELDOUT_CSVS
    # measured after nearfamily2, the last set measured
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("nearfamily2") + 1] == "heldout9"
    assert _from(list(sets.HELDOUT_SETS), "nearfamily2", 2) == ["nearfamily2", "heldout9"]
    assert len(sets.HELDOUT9_MODELS) == 16 and all(m.startswith("vitpytorch:") for m in sets.HELDOUT9_MODELS)
    # the screen's rule: the first 16 of its set-9 candidates that pass, in its order, one per vit_pytorch module
    screen = _heldout_screen()
    assert [c for c in screen.CANDIDATES[9] if c in sets.HELDOUT9_MODELS] == list(sets.HELDOUT9_MODELS)
    assert list(screen.CANDIDATES[9]) == [f"vitpytorch:{n}" for n in CONFIGS
                                          if f"vitpytorch:{n}" not in screen.CANDIDATES_NEAR4]
    squash = lambda f: f.replace("_", "")  # noqa: E731 - families compared without underscores, across sources
    families = [squash(model_info(m)["family"]) for m in sets.HELDOUT9_MODELS]
    earlier = {squash(model_info(m)["family"]) for name, models in sets.HELDOUT_SETS.items() if name != "heldout9"
               for m in models}
    assert len(set(families)) == 16 and not set(families) & earlier
    assert not set(families) & {squash(f) for f in screen.NEAR_COPIES9}
    # none of them was measured before
    _never_measured(sets.HELDOUT9_MODELS, skip=("kpi_heldout9",))


def test_heldout10_is_its_anchors_then_the_screens_first_sixteen_families_no_earlier_set_or_fitted_row_has():
    from greenai.models import model_info
    from greenai.models.mmpretrain_models import CONFIGS
    from greenai.predict.build import FIT_CSVS, FORMER_HELDOUT_CSVS, HELDOUT_CSVS

    for source in ("mmpretrain", "timm", "pytorchcv"):
        pytest.importorskip(source)
    exp = registry.EXPERIMENTS["heldout10"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.HELDOUT10_MODELS)
    assert exp.csv == "kpi_heldout10" and exp.quick_model in sets.HELDOUT10_MODELS
    # fresh once; since set 11 was chosen its repeat on an H200 is fitted, after the sets measured before it (the
    # H100's rows enter no fit: that card's fit is the zoo's)
    assert _from(FORMER_HELDOUT_CSVS, "kpi_nearfamily3", 2) == ("kpi_nearfamily3", "kpi_heldout10_h200")
    assert exp.csv not in FIT_CSVS and exp.csv not in HELDOUT_CSVS
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("synthetic_norms") + 1] == "heldout10"
    assert _from(list(sets.HELDOUT_SETS), "nearfamily3", 2) == ["nearfamily3", "heldout10"]
    # the screen's rule: the first 16 of its set-10 candidates that pass, in its order, mmpretrain's configurations
    # first, one per family
    screen = _heldout_screen()
    assert [c for c in screen.CANDIDATES[10] if c in sets.HELDOUT10_MODELS] == list(sets.HELDOUT10_MODELS)
    set10 = [f"mmpretrain:{n}" for n in CONFIGS if f"mmpretrain:{n}" not in screen.CANDIDATES_NEAR4]
    assert list(screen.CANDIDATES[10][:len(set10)]) == set10
    squash = lambda f: f.replace("_", "")  # noqa: E731 - families compared without underscores, across sources
    families = [squash(model_info(m)["family"]) for m in sets.HELDOUT10_MODELS]
    earlier = {squash(model_info(m)["family"]) for name, models in sets.HELDOUT_SETS.items()
               if name not in ("heldout10", "nearfamily4") for m in models}  # nearfamily4 varies its families
    assert len(set(families)) == 16 and not set(families) & earlier
    near_copies = {**screen.NEAR_COPIES8, **screen.NEAR_COPIES9, **screen.NEAR_COPIES10}
    assert not set(families) & {squash(f) for f in near_copies}
    # none of them was measured before
    _never_measured(sets.HELDOUT10_MODELS, skip=("kpi_heldout10", "kpi_heldout10_h200"))


def test_heldout11_is_its_anchors_then_the_first_sixteen_monai_configurations_no_earlier_set_has():
    import importlib

    from greenai.models import ZOO_FAMILIES, model_info
    from greenai.models.monai_models import CONFIGS
    from greenai.models.timm_models import has_torchvision_counterpart
    from greenai.models.torchvision_models import torchvision_family, torchvision_names
    from greenai.predict.build import FIT_CSVS, HELDOUT_CSVS

    for source in ("monai", "mmpretrain", "timm", "pytorchcv", "vit_pytorch"):
        pytest.importorskip(source)
    exp = registry.EXPERIMENTS["heldout11"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.HELDOUT11_MODELS)
    assert exp.csv == "kpi_heldout11" and exp.quick_model in sets.HELDOUT11_MODELS
    # frozen: the fresh set, never fitted, predicted by the shipped coefficients once measured (the fourth near-family
    # set, chosen after it, may be held out beside it)
    assert exp.csv == HELDOUT_CSVS[0] and exp.csv not in FIT_CSVS
    assert set(HELDOUT_CSVS) <= {exp.csv, "kpi_nearfamily4", "kpi_nearfamily5", "kpi_heldout12", "kpi_nearfamily6",
                                 "kpi_heldout13"}
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("synthetic_batch_norms") + 1] == "heldout11"
    assert _from(list(sets.HELDOUT_SETS), "heldout10", 2) == ["heldout10", "heldout11"]
    # the screen's rule: its set-11 candidates are MONAI's configurations, in their order, one per monai module, and
    # the set is the first 16 that pass, in that order
    screen = _heldout_screen()
    assert list(screen.CANDIDATES[11]) == [f"monai:{n}" for n in CONFIGS]
    # ... and whose training step fits the card at batch 256 (a fifth check, run on the GPU before measuring)
    memory = pd.read_csv(paths.REPO_ROOT / "results" / "benchmarks" / "step_memory.csv")
    too_big = set(memory.loc[memory["outcome"] == "out of memory", "model"]) & set(screen.CANDIDATES[11])
    assert too_big == {"monai:restormer", "monai:mednext"} and set(screen.CANDIDATES[11]) <= set(memory["model"])
    assert sets.HELDOUT11_MODELS == tuple(c for c in screen.CANDIDATES[11] if c not in too_big)[:16]
    squash = lambda f: f.replace("_", "")  # noqa: E731 - families compared without underscores, across sources
    families = [squash(model_info(m)["family"]) for m in screen.CANDIDATES[11]]
    assert len(set(families)) == len(families)
    # none is a family of the zoo, torchvision, an earlier set or a near copy (the near copies are monai modules)
    zoo_and_tv = set(ZOO_FAMILIES) | {torchvision_family(n) for n in torchvision_names()}
    assert not any(has_torchvision_counterpart(f, zoo_and_tv) for f in families)
    earlier = {squash(model_info(m)["family"]) for name, models in _sets_before("heldout11").items() for m in models}
    near_copies = {**screen.NEAR_COPIES8, **screen.NEAR_COPIES9, **screen.NEAR_COPIES10, **screen.NEAR_COPIES11}
    assert not set(families) & (earlier | {squash(f) for f in near_copies})
    for module in screen.NEAR_COPIES11:
        importlib.import_module(f"monai.networks.nets.{module}")
    # none of them was measured before
    _never_measured(sets.HELDOUT11_MODELS, skip=("kpi_heldout11", "kpi_heldout11_h200"))


def test_heldout12_is_its_anchors_then_the_first_sixteen_pytorchcv_dense_networks_no_earlier_set_has():
    from greenai.macs import count_model
    from greenai.models import ZOO_FAMILIES, model_info
    from greenai.models.pytorchcv_models import DENSE
    from greenai.models.timm_models import has_torchvision_counterpart
    from greenai.models.torchvision_models import torchvision_family, torchvision_names
    from greenai.predict.build import FIT_CSVS, HELDOUT_CSVS

    for source in ("pytorchcv", "monai", "mmpretrain", "timm", "vit_pytorch"):
        pytest.importorskip(source)
    exp = registry.EXPERIMENTS["heldout12"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.HELDOUT12_MODELS)
    assert exp.csv == "kpi_heldout12" and exp.quick_model in sets.HELDOUT12_MODELS
    # frozen: never fitted, predicted by the shipped coefficients once measured
    assert exp.csv == HELDOUT_CSVS[3] and exp.csv not in FIT_CSVS
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("nearfamily5") + 1] == "heldout12"
    assert _from(list(sets.HELDOUT_SETS), "nearfamily5", 2) == ["nearfamily5", "heldout12"]
    # the screen's rule: pytorchcv's dense networks in DENSE's order, then four models earlier screens listed but no
    # set took; the set is the first 16 that pass (ESPNet-C, below 0.3 GMAC, does not)
    screen = _heldout_screen()
    candidates = screen.CANDIDATES[12]
    assert list(candidates[:len(DENSE)]) == [f"pytorchcv:{n}" for n in DENSE]
    assert set(candidates[len(DENSE):]) <= set(screen.CANDIDATES[10]) | set(screen.CANDIDATES[11])
    assert sets.HELDOUT12_MODELS == tuple(c for c in candidates if c != "pytorchcv:espcnet_cityscapes")[:16]
    assert count_model("pytorchcv:espcnet_cityscapes")["macs"] < screen.MACS_RANGE[0]
    assert all(screen.MACS_RANGE[0] <= count_model(m)["macs"] <= screen.MACS_RANGE[1] for m in sets.HELDOUT12_MODELS)
    squash = lambda f: f.replace("_", "")  # noqa: E731 - families compared without underscores, across sources
    families = [squash(model_info(m)["family"]) for m in sets.HELDOUT12_MODELS]
    assert len(set(families)) == len(families)
    # none is a family of the zoo, torchvision, an earlier set or a near copy
    zoo_and_tv = set(ZOO_FAMILIES) | {torchvision_family(n) for n in torchvision_names()}
    assert not any(has_torchvision_counterpart(f, zoo_and_tv) for f in families)
    earlier = {squash(model_info(m)["family"]) for name, models in _sets_before("heldout12").items() for m in models}
    near_copies = {**screen.NEAR_COPIES8, **screen.NEAR_COPIES9, **screen.NEAR_COPIES10, **screen.NEAR_COPIES11,
                   **screen.NEAR_COPIES12}
    assert not set(families) & (earlier | {squash(f) for f in near_copies})
    # none of them was measured before
    _never_measured(sets.HELDOUT12_MODELS, skip=("kpi_heldout12", "kpi_heldout12_h200"))


def test_heldout13_is_its_anchors_then_fifteen_candidates_of_the_thirteenth_screen_in_its_order():
    from greenai.macs import count_model
    from greenai.models import model_info
    from greenai.predict.build import FIT_CSVS, HELDOUT_CSVS

    for source in ("transformers", "timm", "pytorchcv", "vit_pytorch", "mmpretrain", "monai"):
        pytest.importorskip(source)
    exp = registry.EXPERIMENTS["heldout13"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.HELDOUT13_MODELS)
    assert exp.csv == "kpi_heldout13" and exp.quick_model in sets.HELDOUT13_MODELS and exp.csv not in FIT_CSVS
    assert exp.csv == HELDOUT_CSVS[-1]  # the fresh set, never fitted, predicted by the coefficients frozen before it
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("nearfamily6") + 1] == "heldout13"
    assert _from(list(sets.HELDOUT_SETS), "nearfamily6", 2) == ["nearfamily6", "heldout13"]
    # the screen's rule: its candidates, in its order, the three added after its first run walked last
    screen13 = _heldout_screen("heldout13_screen")
    candidates = screen13.candidates()
    assert len(sets.HELDOUT13_MODELS) == 15
    assert [c for c in candidates if c in sets.HELDOUT13_MODELS] == list(sets.HELDOUT13_MODELS)
    # the fifth check, run on the GPU before the set was measured: Swin2SR's step at batch 256 does not fit, so it is
    # no candidate and the set is the other 15 the screen took
    assert "hf:swin2sr_light" in screen13.out_of_memory() and "hf:swin2sr_light" not in candidates
    assert sets.HELDOUT13_MODELS[-3:] == tuple(f"hf:{n}" for n in screen13.ADDED_AFTER_RUN1)
    # checks 1 and 2: one model per family, none excluded (zoo, torchvision, an earlier set, a near copy), MACs in range
    squash = lambda f: f.replace("_", "")  # noqa: E731 - families compared without underscores, across sources
    families = [model_info(m)["family"] for m in sets.HELDOUT13_MODELS]
    assert len({squash(f) for f in families}) == 15
    excluded = {squash(f) for f in screen13.excluded_families()}
    assert not {squash(f) for f in families} & excluded
    low, high = screen13.base.MACS_RANGE
    assert all(low <= count_model(m)["macs"] <= high for m in sets.HELDOUT13_MODELS)
    # none of them was measured before
    _never_measured(sets.HELDOUT13_MODELS, skip=("kpi_heldout13", "kpi_heldout13_h200"))


def test_the_thirteenth_screen_walks_transformers_first_then_the_earlier_candidates_no_set_took(tmp_path):
    from greenai.models import model_info
    from greenai.models.hf_models import CONFIGS

    for source in ("transformers", "timm", "pytorchcv", "vit_pytorch", "mmpretrain", "monai"):
        pytest.importorskip(source)
    screen13 = _heldout_screen("heldout13_screen")
    candidates = screen13.candidates()
    too_big = screen13.out_of_memory()
    first = [f"hf:{n}" for n in CONFIGS if n not in screen13.ADDED_AFTER_RUN1 and f"hf:{n}" not in too_big]
    assert candidates[:len(first)] == first  # the first run's order stands; what was added since comes last
    added = [f"hf:{n}" for n in screen13.ADDED_AFTER_RUN1]
    assert set(screen13.ADDED_AFTER_RUN1) <= set(CONFIGS) and candidates[-len(added):] == added
    # the sets measured before it: once set 13 is frozen, the screen still reads the candidates it walked
    assert list(screen13.earlier_sets()) == list(sets.HELDOUT_SETS)[:list(sets.HELDOUT_SETS).index("heldout13")]
    taken = {m for models in screen13.earlier_sets().values() for m in models}
    assert not set(candidates) & taken and len(set(candidates)) == len(candidates)
    # check 5 already recorded: the two MONAI nets (and, since set 13 was measured, Swin2SR) out of memory at batch
    # 256 are no candidates
    assert {"monai:restormer", "monai:mednext", "hf:swin2sr_light"} == screen13.out_of_memory()
    assert not screen13.out_of_memory() & set(candidates)
    assert "monai:patchgan_discriminator" in candidates  # set 12's screen passed it but needed no more
    # a record without them leaves them in; no record, no exclusion
    (tmp_path / "step_memory.csv").write_text("model,batch_size,image_size,outcome\nmonai:mednext,128,224,fits\n")
    assert screen13.out_of_memory(tmp_path / "step_memory.csv") == set()
    assert screen13.out_of_memory(tmp_path / "none.csv") == set()
    excluded = screen13.excluded_families()
    # every near copy names a family of a transformers configuration, and every earlier set's family is excluded
    assert set(screen13.NEAR_COPIES13) <= {model_info(f"hf:{n}")["family"] for n in CONFIGS}
    assert set(screen13.NEAR_COPIES13) <= set(excluded)
    assert {model_info(m)["family"] for m in taken} <= set(excluded)
    assert "segformer" not in excluded and "dpt" not in excluded


def test_nearfamily2_is_its_anchors_then_twelve_pytorchcv_variants_of_fitted_families_never_measured():
    from greenai.models import model_info
    from greenai.predict.build import FORMER_HELDOUT_CSVS, HELDOUT_CSVS

    exp = registry.EXPERIMENTS["nearfamily2"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.NEARFAMILY2_MODELS)
    # fresh once, fitted since set 9 was chosen
    assert exp.csv == "kpi_nearfamily2" and exp.csv in FORMER_HELDOUT_CSVS and exp.csv not in HELDOUT_CSVS
    assert "nearfamily2" in registry.DEFAULT_EXPERIMENTS
    assert len(sets.NEARFAMILY2_MODELS) == 12 and all(m.startswith("pytorchcv:") for m in sets.NEARFAMILY2_MODELS)
    # one model per pytorchcv module, each a module that copies a family the fit has (the screen's NEAR_COPIES8)
    screen = _heldout_screen()
    families = [model_info(m)["family"] for m in sets.NEARFAMILY2_MODELS]
    assert len(set(families)) == 12 and set(families) <= set(screen.NEAR_COPIES8)
    _never_measured(sets.NEARFAMILY2_MODELS, skip=("kpi_nearfamily2",))


def test_nearfamily3_is_its_anchors_then_twelve_unmeasured_variants_of_families_the_fit_has():
    from greenai.models import model_info
    from greenai.predict.build import FIT_CSVS, HELDOUT_CSVS, load_runs

    pytest.importorskip("pytorchcv")
    pytest.importorskip("timm")
    exp = registry.EXPERIMENTS["nearfamily3"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.NEARFAMILY3_MODELS)
    # fresh once, fitted since set 10 was chosen
    assert exp.csv == "kpi_nearfamily3" and exp.csv in FIT_CSVS and exp.csv not in HELDOUT_CSVS
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("heldout9") + 1] == "nearfamily3"
    assert _from(list(sets.HELDOUT_SETS), "heldout9", 2) == ["heldout9", "nearfamily3"]
    # the screen's rule: the first 12 of its candidates that pass, in its order, one per family
    screen = _heldout_screen()
    assert [c for c in screen.CANDIDATES_NEAR3 if c in sets.NEARFAMILY3_MODELS] == list(sets.NEARFAMILY3_MODELS)
    families = [model_info(m)["family"] for m in sets.NEARFAMILY3_MODELS]
    assert len(sets.NEARFAMILY3_MODELS) == 12 and len(set(families)) == 12
    # each family has fitted rows (a variant measured before), none of the models was measured before
    fitted = load_runs(include_heldout=False)
    fitted = fitted[fitted["csv"] != exp.csv]  # the rows measured before it
    fitted_families = {model_info(m)["family"] for m in set(fitted["model"].astype(str))
                       if m.startswith(("pytorchcv:", "timm:"))}
    assert set(families) <= fitted_families
    _never_measured(sets.NEARFAMILY3_MODELS, skip=("kpi_nearfamily3",))


def test_nearfamily4_is_its_anchors_then_twelve_unmeasured_size_variants_of_families_fitted_once():
    from greenai.macs import count_model
    from greenai.models import model_info

    for source in ("mmpretrain", "pytorchcv", "timm", "vit_pytorch"):
        pytest.importorskip(source)
    exp = registry.EXPERIMENTS["nearfamily4"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.NEARFAMILY4_MODELS)
    assert exp.csv == "kpi_nearfamily4" and exp.quick_model in sets.NEARFAMILY4_MODELS
    # measured after set 11
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("heldout11") + 1] == "nearfamily4"
    assert _from(list(sets.HELDOUT_SETS), "heldout11", 2) == ["heldout11", "nearfamily4"]
    # the screen's rule: the first 12 of its candidates that pass, in its order, one per family
    screen = _heldout_screen()
    assert [c for c in screen.CANDIDATES_NEAR4 if c in sets.NEARFAMILY4_MODELS] == list(sets.NEARFAMILY4_MODELS)
    squash = lambda f: f.replace("_", "")  # noqa: E731 - families compared without underscores, across sources
    families = [squash(model_info(m)["family"]) for m in screen.CANDIDATES_NEAR4]
    assert len(sets.NEARFAMILY4_MODELS) == 12 and len(set(families)) == len(families)
    # each candidate's family has exactly one fitted model (sets 1-10, the near-family sets; not set 11), in the
    # order the sets were fitted, most recent first, and no earlier near-family set varied it
    fitted_sets = [n for n in sets.HELDOUT_SETS if n not in ("heldout11", "nearfamily4")]
    fitted: dict[str, list] = {}
    for name in fitted_sets:
        for m in sets.HELDOUT_SETS[name]:
            fitted.setdefault(squash(model_info(m)["family"]), []).append((name, m))
    assert all(len(fitted[f]) == 1 for f in families)
    ranks = [fitted_sets.index(fitted[f][0][0]) for f in families]
    assert ranks == sorted(ranks, reverse=True)
    near = {squash(model_info(m)["family"]) for n in ("nearfamily", "nearfamily2", "nearfamily3")
            for m in sets.HELDOUT_SETS[n]}
    assert not set(families) & near
    # the set: a different configuration of each family, within the screen's MAC range
    for m, f in zip(sets.NEARFAMILY4_MODELS, (squash(model_info(m)["family"]) for m in sets.NEARFAMILY4_MODELS)):
        (_, base), = fitted[f]
        assert m != base and 0.3e9 <= count_model(m, 1, 10, 224)["macs"] <= 10e9, m
    # none of the candidates was measured before
    _never_measured(screen.CANDIDATES_NEAR4, "*.csv", skip=("kpi_nearfamily4",))


def test_nearfamily5_is_its_anchors_then_twelve_unmeasured_variants_of_lineages_the_h200_fit_has_several_of():
    import math

    from greenai.macs import count_model
    from greenai.models import model_info
    from greenai.predict.build import FIT_CSVS, HELDOUT_CSVS, load_runs
    from greenai.predict.model import lineage

    for source in ("mmpretrain", "pytorchcv", "timm", "vit_pytorch", "monai"):
        pytest.importorskip(source)
    exp = registry.EXPERIMENTS["nearfamily5"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.NEARFAMILY5_MODELS)
    assert exp.csv == "kpi_nearfamily5" and exp.quick_model in sets.NEARFAMILY5_MODELS
    assert exp.csv in HELDOUT_CSVS and exp.csv not in FIT_CSVS  # never fitted: the test of the frozen offsets
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("nearfamily4") + 1] == "nearfamily5"
    assert _from(list(sets.HELDOUT_SETS), "nearfamily4", 2) == ["nearfamily4", "nearfamily5"]
    # the screen's plan: lineages of the H200's fit with >= 2 models, most fitted first; a measured model, or one
    # whose bare name a measured model has, is no candidate
    screen = _heldout_screen()
    measured = set().union(*_raw_models("*.csv", skip=("kpi_nearfamily5",)).values())
    assert not measured & set(sets.NEARFAMILY5_MODELS)
    fitted_runs = load_runs(include_heldout=False)
    plan = screen.near5_plan(fitted_runs, measured, ["timm:resnet50", "resnet50", "resnet152", "timm:resnet26d",
                                                      *sets.NEARFAMILY5_MODELS])
    counts = [len(fitted) for _, fitted, _ in plan]
    assert counts == sorted(counts, reverse=True) and min(counts) == screen.NEAR5_MIN_FITTED
    drawn = {name: candidates for name, _, candidates in plan}
    assert drawn["resnet"][:2] == ["resnet152", "timm:resnet26d"]  # timm:resnet50 is torchvision's ResNet-50
    # the set: one model per lineage, the lineages in the plan's order, each >= 5 % from its fitted models' MACs
    # and within the screen's MAC range
    lineages = [lineage(model_info(m)["family"]) for m in sets.NEARFAMILY5_MODELS]
    assert len(set(lineages)) == 12 and all(drawn[name] for name in lineages)
    ranks = [[name for name, _, _ in plan].index(name) for name in lineages]
    assert ranks == sorted(ranks)
    fitted = {name: models for name, models, _ in plan}
    for model, name in zip(sets.NEARFAMILY5_MODELS, lineages):
        macs = count_model(model, 1, 10, 224)["macs"]
        assert 0.3e9 <= macs <= 10e9 and len(fitted[name]) >= 2, model
        assert min(abs(macs / m - 1) for m in fitted[name].values()) >= screen.NEAR5_MIN_MAC_CHANGE, model
        assert not math.isclose(macs, max(fitted[name].values())), model


def test_nearfamily6_draws_the_fifth_sets_rule_again_and_copies_no_earlier_variant():
    from greenai.macs import count_model
    from greenai.models import model_info
    from greenai.predict.build import FIT_CSVS, HELDOUT_CSVS, load_runs
    from greenai.predict.model import lineage

    for source in ("mmpretrain", "pytorchcv", "timm", "vit_pytorch", "monai"):
        pytest.importorskip(source)
    exp = registry.EXPERIMENTS["nearfamily6"]
    assert [s.model for s in exp.specs()] == list(sets.HELDOUT_ANCHORS + sets.NEARFAMILY6_MODELS)
    assert exp.csv == "kpi_nearfamily6" and exp.quick_model in sets.NEARFAMILY6_MODELS
    assert exp.csv in HELDOUT_CSVS and exp.csv not in FIT_CSVS  # never fitted: a test of the frozen offsets
    order = registry.DEFAULT_EXPERIMENTS
    assert order[order.index("synthetic_dilated") + 1] == "nearfamily6"
    assert _from(list(sets.HELDOUT_SETS), "heldout12", 2) == ["heldout12", "nearfamily6"]
    screen = _heldout_screen()
    measured = set().union(*_raw_models("*.csv", skip=("kpi_nearfamily6",)).values())
    assert not measured & set(sets.NEARFAMILY6_MODELS)
    # the first amendment: a bare name compared without underscores (timm's regnetx_040 is the fifth set's)
    fitted_runs = load_runs(include_heldout=False)
    plan = screen.near5_plan(fitted_runs, measured, ["timm:regnetx_040", *sets.NEARFAMILY6_MODELS], squash_names=True)
    drawn = {name: candidates for name, _, candidates in plan}
    assert "timm:regnetx_040" not in drawn["regnet"]
    unsquashed = screen.near5_plan(fitted_runs, measured, ["timm:regnetx_040"])
    assert "timm:regnetx_040" in {name: candidates for name, _, candidates in unsquashed}["regnet"]
    # one model per lineage, in the plan's order, >= 5 % from each fitted model's MACs and (the second amendment)
    # from each model of its lineage an earlier near-family set measured
    lineages = [lineage(model_info(m)["family"]) for m in sets.NEARFAMILY6_MODELS]
    assert len(set(lineages)) == 12 and all(drawn[name] for name in lineages)
    ranks = [[name for name, _, _ in plan].index(name) for name in lineages]
    assert ranks == sorted(ranks)
    fitted = {name: models for name, models, _ in plan}
    earlier = screen.near_variant_macs()  # once the set is recorded, its own models are among them
    assert "pytorchcv:regnetx040" in earlier["regnet"]
    for model, name in zip(sets.NEARFAMILY6_MODELS, lineages):
        macs = count_model(model, 1, 10, 224)["macs"]
        assert 0.3e9 <= macs <= 10e9 and len(fitted[name]) >= 2, model
        before = [m for other, m in earlier.get(name, {}).items() if other not in sets.NEARFAMILY6_MODELS]
        others = [*fitted[name].values(), *before]
        assert min(abs(macs / m - 1) for m in others) >= screen.NEAR5_MIN_MAC_CHANGE, model


def test_docs_campaign_table_is_the_registry_listed_as_markdown(capsys):
    """docs/campaign.md holds the table `--list --markdown` prints: one row per experiment, the default set marked."""
    assert campaign.main(["--list", "--markdown"]) == 0
    table = capsys.readouterr().out
    doc = (paths.REPO_ROOT / "docs" / "campaign.md").read_text()
    generated = doc.split("<!-- generated: python -m greenai.campaign --list --markdown -->\n")[1]
    assert generated.split("<!-- end generated -->")[0] == table, (
        "docs/campaign.md is stale: replace its table by `python -m greenai.campaign --list --markdown`")
    rows = [line for line in table.splitlines()[2:]]
    assert [row.split("`")[1] for row in rows] == list(registry.EXPERIMENTS)
    marked = {row.split("`")[1] for row in rows if row.split("|")[1].rstrip().endswith("\\*")}
    assert marked == set(registry.DEFAULT_EXPERIMENTS)
    macs = next(row for row in rows if row.startswith("| `macs` "))
    assert f"| {len(registry.EXPERIMENTS['macs'].specs())} |" in macs and "2 windows of ≥ 3 s" in macs


def test_campaign_markdown_without_list_is_a_usage_error(capsys):
    assert campaign.main(["--markdown"]) == 2
    assert capsys.readouterr().err.startswith("greenai campaign: --markdown formats the --list table")


def test_campaign_list_names_every_experiment_it_accepts(capsys):
    parser = argparse.ArgumentParser()
    campaign._add_arguments(parser)
    accepted = next(a for a in parser._actions if "--experiment" in a.option_strings).choices
    assert campaign.main(["--list", "--quick"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("(")]
    listed = {line[2:].split()[0]: line[0] == "*" for line in rows}
    assert sorted(listed) == sorted(accepted) and len(rows) == len(accepted)
    assert {name for name, default in listed.items() if default} == set(registry.DEFAULT_EXPERIMENTS)
    assert not listed["hardware_h200"] and not listed["accuracy_cifar100"]  # not in the default set, still listed


def _snapshot(folder):
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_readme_cpu_smoke_test_writes_under_scratch_and_leaves_results_raw_untouched(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setattr(paths, "SCRATCH_DIR", tmp_path / "scratch")  # the default for a trial run, here in tmp
    before = _snapshot(paths.RAW_DIR)
    # README: greenai campaign -e hardware --quick --device cpu --cpu-workers 2
    assert campaign.main(["-e", "hardware", "--quick", "--device", "cpu", "--cpu-workers", "2", "--idle-s", "0",
                          "--no-progress"]) == 0
    assert f"rows go to {tmp_path / 'scratch'}" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "scratch" / "kpi_hardware.csv")) == 2
    assert _snapshot(paths.RAW_DIR) == before


@pytest.mark.slow
def test_campaign_ctrl_c_keeps_the_rows_written_so_far(tmp_path, monkeypatch, capsys):
    from greenai.experiments import store

    append = store.RowStore.append

    def append_then_ctrl_c(self, rows):
        append(self, rows)
        if rows:
            raise KeyboardInterrupt

    monkeypatch.setattr(store.RowStore, "append", append_then_ctrl_c)
    code = campaign.main(["-e", "hardware", "--quick", "--device", "cpu", "--idle-s", "0", "--no-progress",
                          "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0] == (f"greenai campaign: interrupted; the rows written so far are kept in {tmp_path}: rerun the "
                        "same command to measure only the missing ones")
    written = len(pd.read_csv(tmp_path / "kpi_hardware.csv"))
    assert written >= 1
    # the interrupted grid still records what ran its rows
    meta = json.loads((tmp_path / "kpi_hardware.meta.json").read_text())
    assert meta["rows_written"] == written and meta["stopped"].startswith("interrupted (SIGINT)")
    assert meta["campaign"] == "hardware" and len(meta["runs"]) == 1


def test_fresh3_to_fresh7_curve_models_are_the_first_twenty_held_out_models_the_rule_takes():
    import torch

    from greenai.models import build_model, model_info
    from greenai.predict import load_coefficients

    for source in ("timm", "pytorchcv", "vit_pytorch", "mmpretrain", "monai", "transformers"):
        pytest.importorskip(source)
    features = load_coefficients()["features"]
    kernels = lambda m: features[f"{m}|1|10|224"]["kernels_forward"]  # noqa: E731 - the static pass, shipped
    limit = kernels("resnet34")

    def trains_at_32_px(model):
        for planes in (1, 3):
            try:
                torch.manual_seed(0)
                net = build_model(model, planes, 10).train()
                logits = net(torch.randn(2, planes, 32, 32))
                torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1])).backward()
            except (RuntimeError, ValueError, AssertionError):
                return False
            momenta = [m.momentum for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
            if logits.shape != (2, 10) or any(v is not None and v < 0.01 for v in momenta):
                return False
        return True

    # one model per family, none of a family an earlier curve set has
    earlier = ("alexnet", *curve_sets.CURVE_MODELS, *curve_sets.FRESH_CURVE_MODELS, *curve_sets.FRESH2_CURVE_MODELS)
    taken, families = [], {model_info(m)["family"] for m in earlier}
    for name in [n for n in list(sets.HELDOUT_SETS)[3:] if n.startswith("heldout")]:  # sets 4 on, in the order measured
        for model in sets.HELDOUT_SETS[name]:
            family = model_info(model)["family"]
            if len(taken) < 20 and family not in families and kernels(model) <= limit and trains_at_32_px(model):
                taken.append(model)
                families.add(family)
    # the third set took the first four; the fourth to the seventh walked on to the next four each
    assert tuple(taken) == (curve_sets.FRESH3_CURVE_MODELS + curve_sets.FRESH4_CURVE_MODELS
                            + curve_sets.FRESH5_CURVE_MODELS + curve_sets.FRESH6_CURVE_MODELS
                            + curve_sets.FRESH7_CURVE_MODELS)
    # passed over by the seventh: set 12's segmentation and pose networks that launch more kernels than ResNet-34,
    # and three that fail at 32 px (MONAI's Classifier, BiSeNet, LFFD)
    assert all(kernels(f"pytorchcv:{m}") > limit for m in (
        "erfnet_cityscapes", "esnet_cityscapes", "edanet_cityscapes", "dabnet_cityscapes", "cgnet_cityscapes",
        "enet_cityscapes", "icnet_resnetd50b_cityscapes", "prnet", "lwopenpose2d_mobilenet_cmupan_coco"))
    assert not any(trains_at_32_px(m) for m in ("monai:classifier", "pytorchcv:bisenet_resnet18_celebamaskhq",
                                                  "pytorchcv:lffd20x5s320v2_widerface"))
    assert kernels("monai:unetr") > limit and kernels("monai:ahnet") > limit  # passed over by the sixth
    assert kernels("monai:basic_unetplusplus") > limit  # passed over: set 11's first, whose family no curve has
    assert not trains_at_32_px("timm:mixer_s16_224")  # passed over: its patch embedding fixes 224 px


def test_accuracy_curves_grid_is_eight_models_on_two_real_datasets_in_its_own_csv(tmp_path):
    from greenai.models import MODEL_NAMES, model_info

    whole = registry.EXPERIMENTS["accuracy_curves"].specs()
    halves = [registry.EXPERIMENTS[n].specs() for n in ("accuracy_curves_fmnist", "accuracy_curves_cifar10")]
    assert sorted(halves[0] + halves[1], key=ex.RunSpec.run_id) == sorted(whole, key=ex.RunSpec.run_id)
    assert {registry.EXPERIMENTS[n].csv for n in ("accuracy_curves", "accuracy_curves_fmnist",
                                                  "accuracy_curves_cifar10")} == {"accuracy_curves"}
    # its own CSV: the recorded accuracy_* files stay as they are
    assert "accuracy_curves" not in {e.csv for n, e in registry.EXPERIMENTS.items() if not n.startswith("accuracy_curves")}
    # the fresh curves: other models, the same conditions, their own CSV (kept out of the prior they test)
    fresh = registry.EXPERIMENTS["accuracy_curves_fresh"].specs()
    fresh_halves = [registry.EXPERIMENTS[n].specs() for n in ("accuracy_curves_fresh_fmnist",
                                                               "accuracy_curves_fresh_cifar10")]
    assert sorted(fresh_halves[0] + fresh_halves[1], key=ex.RunSpec.run_id) == sorted(fresh, key=ex.RunSpec.run_id)
    assert {registry.EXPERIMENTS[n].csv for n in registry.EXPERIMENTS if n.startswith("accuracy_curves_fresh")} == {
        "accuracy_curves_fresh", "accuracy_curves_fresh2", "accuracy_curves_fresh3", "accuracy_curves_fresh4",
        "accuracy_curves_fresh5", "accuracy_curves_fresh6", "accuracy_curves_fresh7"}
    assert {s.model for s in fresh} == set(curve_sets.FRESH_CURVE_MODELS) and len(fresh) == 8
    assert {s.model for s in fresh}.isdisjoint({s.model for s in whole})
    conditions = {(s.dataset, s.image_size, s.limit, s.epochs, s.batch_size, s.precision) for s in whole
                  if s.model != "alexnet"}
    assert {(s.dataset, s.image_size, s.limit, s.epochs, s.batch_size, s.precision) for s in fresh} == conditions
    # the second fresh set: other models again (none recorded before), the same conditions, its own CSV, in halves
    fresh2 = registry.EXPERIMENTS["accuracy_curves_fresh2"].specs()
    fresh2_halves = [registry.EXPERIMENTS[n].specs() for n in ("accuracy_curves_fresh2_fmnist",
                                                                "accuracy_curves_fresh2_cifar10")]
    assert sorted(fresh2_halves[0] + fresh2_halves[1], key=ex.RunSpec.run_id) == sorted(fresh2, key=ex.RunSpec.run_id)
    assert {registry.EXPERIMENTS[n].csv for n in registry.EXPERIMENTS if n.startswith("accuracy_curves_fresh2")} == {
        "accuracy_curves_fresh2"}
    assert {s.model for s in fresh2} == set(curve_sets.FRESH2_CURVE_MODELS) and len(fresh2) == 8
    from greenai.models import model_info

    recorded_families = {model_info(s.model)["family"] for s in whole + fresh}
    assert not {model_info(s.model)["family"] for s in fresh2} & recorded_families
    assert {(s.dataset, s.image_size, s.limit, s.epochs, s.batch_size, s.precision) for s in fresh2} == conditions
    # the third: held-out families of the energy predictor none of the curves before has, by the rule of
    # FRESH3_CURVE_MODELS (the first four of the held-out sets, in the order measured, that pass it)
    fresh3 = registry.EXPERIMENTS["accuracy_curves_fresh3"].specs()
    assert {s.model for s in fresh3} == set(curve_sets.FRESH3_CURVE_MODELS) and len(fresh3) == 8
    assert {(s.dataset, s.image_size, s.limit, s.epochs, s.batch_size, s.precision) for s in fresh3} == conditions
    assert not {model_info(s.model)["family"] for s in fresh3} & (recorded_families | {
        model_info(s.model)["family"] for s in fresh2})
    # the fourth: the same rule walked on, the same conditions, its own CSV
    fresh4 = registry.EXPERIMENTS["accuracy_curves_fresh4"].specs()
    assert {s.model for s in fresh4} == set(curve_sets.FRESH4_CURVE_MODELS) and len(fresh4) == 8
    assert {(s.dataset, s.image_size, s.limit, s.epochs, s.batch_size, s.precision) for s in fresh4} == conditions
    assert not {model_info(s.model)["family"] for s in fresh4} & (recorded_families | {
        model_info(s.model)["family"] for s in fresh2 + fresh3})
    # the fifth: the rule walked on again (MONAI's networks), the same conditions, its own CSV
    fresh5 = registry.EXPERIMENTS["accuracy_curves_fresh5"].specs()
    assert {s.model for s in fresh5} == set(curve_sets.FRESH5_CURVE_MODELS) and len(fresh5) == 8
    assert {(s.dataset, s.image_size, s.limit, s.epochs, s.batch_size, s.precision) for s in fresh5} == conditions
    assert not {model_info(s.model)["family"] for s in fresh5} & (recorded_families | {
        model_info(s.model)["family"] for s in fresh2 + fresh3 + fresh4})
    # the sixth: the rule walked on again, the same conditions, its own CSV
    fresh6 = registry.EXPERIMENTS["accuracy_curves_fresh6"].specs()
    assert {s.model for s in fresh6} == set(curve_sets.FRESH6_CURVE_MODELS) and len(fresh6) == 8
    assert {(s.dataset, s.image_size, s.limit, s.epochs, s.batch_size, s.precision) for s in fresh6} == conditions
    assert not {model_info(s.model)["family"] for s in fresh6} & (recorded_families | {
        model_info(s.model)["family"] for s in fresh2 + fresh3 + fresh4 + fresh5})
    # the seventh: the rule walked on again (C4's second test), the same conditions, its own CSV
    fresh7 = registry.EXPERIMENTS["accuracy_curves_fresh7"].specs()
    assert {s.model for s in fresh7} == set(curve_sets.FRESH7_CURVE_MODELS) and len(fresh7) == 8
    assert {(s.dataset, s.image_size, s.limit, s.epochs, s.batch_size, s.precision) for s in fresh7} == conditions
    assert not {model_info(s.model)["family"] for s in fresh7} & (recorded_families | {
        model_info(s.model)["family"] for s in fresh2 + fresh3 + fresh4 + fresh5 + fresh6})
    assert not {f"accuracy_curves_fresh{i}" for i in (6, 7)} & set(registry.DEFAULT_EXPERIMENTS)  # run by name
    from greenai import curve_prior

    assert curve_prior.FRESH_SOURCES[-5:] == ("accuracy_curves_fresh3.csv", "accuracy_curves_fresh4.csv",
                                              "accuracy_curves_fresh5.csv", "accuracy_curves_fresh6.csv",
                                              "accuracy_curves_fresh7.csv")
    models = {s.model for s in whole}
    assert len(models) >= 8 and len(whole) == 2 * len(models)
    assert {s.dataset for s in whole} == {"fashion_mnist", "cifar10"}
    assert models - set(MODEL_NAMES) and {model_info(m)["family"] for m in models - set(MODEL_NAMES)}.isdisjoint(
        {model_info(m)["family"] for m in MODEL_NAMES})  # families outside the zoo too
    assert all(s.source == "real" and s.evaluate and s.epochs >= 30 and s.kind == "train" for s in whole)
    assert {s.image_size for s in whole if s.model != "alexnet"} == {curve_sets.CURVE_IMAGE_SIZE}
    assert {s.limit for s in whole} == {None, curve_sets.CURVE_CIFAR10_LIMIT}
    ex.validate(whole, check_data=False)
    # the CIFAR-10 half needs only the training batches its limit reads
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in ("data_batch_1", "data_batch_2", "test_batch"):
        (folder / name).write_bytes(b"")
    ex.validate(halves[1], data_root=tmp_path)
    with pytest.raises(ex.GridError, match="CIFAR-10 not found"):
        ex.validate(registry.EXPERIMENTS["accuracy_cifar10"].specs(), data_root=tmp_path)
    # a quick run writes rows into the new CSV
    env = ex.make_environment("cpu")
    summary = campaign.run_experiment("accuracy_curves", tmp_path, quick=True, env=env, progress=False, log=None)
    rows = pd.read_csv(tmp_path / "accuracy_curves.csv")
    assert summary.written == len(rows) > 0 and set(rows.dataset) == {"fashion_mnist", "cifar10"}


@pytest.mark.slow
def test_campaign_model_filter_runs_only_those_cells_and_refuses_a_model_outside_the_grid(tmp_path, capsys):
    code = campaign.main(["-e", "hardware", "--quick", "--device", "cpu", "--idle-s", "0", "--no-progress",
                          "--out", str(tmp_path), "--model", "vgg99"])
    assert code == 2 and not (tmp_path / "kpi_hardware.csv").exists()
    assert capsys.readouterr().err.startswith(
        f"greenai campaign: --model vgg99: not in the grid of hardware (its models: {registry.QUICK_MODEL})")
    env = ex.make_environment("cpu")
    none = registry.run_experiment("hardware", tmp_path, quick=True, env=env, models=["resnet18"], progress=False,
                                   log=None)
    assert none.written == 0 and not (tmp_path / "kpi_hardware.csv").exists()
    assert campaign.main(["-e", "hardware", "--quick", "--device", "cpu", "--idle-s", "0", "--no-progress",
                          "--out", str(tmp_path), "-m", registry.QUICK_MODEL]) == 0
    rows = pd.read_csv(tmp_path / "kpi_hardware.csv")
    assert len(rows) == 2 and set(rows.model) == {registry.QUICK_MODEL}
    meta = json.loads((tmp_path / "kpi_hardware.meta.json").read_text())
    assert [run.get("models") for run in meta["runs"]] == [[registry.QUICK_MODEL]]
