"""Lightning and Hugging Face callbacks on CPU: tiny real training runs.

``pynvml`` is replaced by the double of tests/nvml_double.py, either with no
driver (the meter in ``auto`` mode measures time only: NaN energy with its
reason) or with a simulated GPU (finite energy). Each test skips, saying so,
where its framework (the ``lightning``/``hf`` extra) is not installed.
"""

from __future__ import annotations

import math

import pandas as pd
import pynvml as real_pynvml
import pytest
import torch

from nvml_double import FakeGpu, FakeNvml, install, installed


@pytest.fixture
def no_driver(monkeypatch):
    from greenai import nvml

    install(monkeypatch, FakeNvml([FakeGpu()], init_error=real_pynvml.NVML_ERROR_DRIVER_NOT_LOADED))
    yield
    while nvml._init_count:
        nvml.shutdown()


@pytest.fixture
def fake_gpu(monkeypatch):
    yield from installed(monkeypatch, [FakeGpu(power_w=150.0, step_s=0.01)])


def _dataset(n: int = 32):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 4, generator=g), torch.randint(0, 2, (n,), generator=g)


def check_rows(rows: pd.DataFrame, framework: str, epochs: int, steps_per_epoch: int, every: int) -> None:
    assert set(rows.framework) == {framework}
    epoch_rows = rows[rows.scope == "epoch"]
    step_rows = rows[rows.scope == "steps"].sort_values("step_begin")
    assert list(epoch_rows.epoch) == list(range(epochs))
    total = epochs * steps_per_epoch
    assert len(step_rows) == math.ceil(total / every)
    # step windows are back to back: each begins at the step (and the edge) where the last ended
    assert list(step_rows.step_begin[1:]) == list(step_rows.step_end[:-1])
    assert step_rows.step_begin.iloc[0] == 0 and step_rows.step_end.iloc[-1] == total
    assert (step_rows.step_end - step_rows.step_begin).iloc[:-1].eq(every).all()
    assert (rows.duration_s > 0).all()
    assert set(rows.edges) == {"cuda_event"}


def _tiny_module(L):
    """A LightningModule class of one linear layer (``L``: ``lightning.pytorch`` or ``pytorch_lightning``)."""

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(4, 2)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    return Tiny


def lightning_fit(tmp_path, every: int, epochs: int = 2, package: str = "lightning.pytorch"):
    L = pytest.importorskip(package, reason=f"the greenai[lightning] extra ({package}) is not installed")
    CSVLogger = L.loggers.CSVLogger

    from greenai.integrations import lightning as integration

    EnergyCallback = (integration.EnergyCallback if package == "lightning.pytorch"
                      else getattr(integration, "PLEnergyCallback", integration.EnergyCallback))

    Tiny = _tiny_module(L)

    x, y = _dataset()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    callback = EnergyCallback(csv_path=tmp_path / "energy.csv", every_n_steps=every, run="test")
    logger = CSVLogger(tmp_path, name="logs")
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=logger, callbacks=[callback],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Tiny(), loader)
    return callback, logger, len(loader)


@pytest.mark.parametrize("package", ["lightning.pytorch", "pytorch_lightning"])
def test_lightning_callback_writes_rows_and_logs_nan_energy_with_its_reason(tmp_path, no_driver, package):
    callback, logger, steps = lightning_fit(tmp_path, every=3, package=package)
    rows = pd.read_csv(tmp_path / "energy.csv")
    check_rows(rows, "lightning", epochs=2, steps_per_epoch=steps, every=3)
    assert set(rows.method) == {"none"} and rows.energy_j.isna().all()
    assert rows.warnings.str.contains("GPU energy unavailable").all()
    assert len(callback.energy_log.rows) == len(rows)
    logged = pd.read_csv(f"{logger.log_dir}/metrics.csv")
    assert {"energy/epoch_j", "energy/epoch_duration_s", "energy/steps_uncertainty_j"} <= set(logged.columns)
    assert logged["energy/epoch_duration_s"].notna().sum() == 2


def test_lightning_callback_measures_energy_where_there_is_a_counter(tmp_path, fake_gpu):
    callback, logger, steps = lightning_fit(tmp_path, every=5, epochs=1)
    rows = pd.read_csv(tmp_path / "energy.csv")
    check_rows(rows, "lightning", epochs=1, steps_per_epoch=steps, every=5)
    assert set(rows.method) == {"counter"}
    assert (rows.energy_j >= 0).all() and (rows.uncertainty_j > 0).all()
    # the simulated GPU draws a constant 150 W: every window's energy is 150 W x its duration
    for r in rows.itertuples():
        assert r.energy_j == pytest.approx(150.0 * r.duration_s, abs=r.uncertainty_j + 1e-9)
    # the step windows tile the run, which contains the epoch
    steps = rows[rows.scope == "steps"]
    assert steps.duration_s.sum() >= rows[rows.scope == "epoch"].duration_s.iloc[0] - 1e-3


def hf_train(tmp_path, every: int, epochs: int = 2):
    transformers = pytest.importorskip("transformers", reason="the greenai[hf] extra (transformers) is not installed")
    pytest.importorskip("accelerate", reason="the greenai[hf] extra (accelerate) is not installed")
    from greenai.integrations.hf import EnergyCallback

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(4, 2)

        def forward(self, x, labels=None):
            logits = self.net(x)
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    x, y = _dataset()
    data = [{"x": x[i], "labels": y[i]} for i in range(len(x))]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"), num_train_epochs=epochs, per_device_train_batch_size=4,
        logging_steps=2, save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True,
    )
    callback = EnergyCallback(csv_path=tmp_path / "energy.csv", every_n_steps=every, run="test")
    trainer = transformers.Trainer(model=Tiny(), args=args, train_dataset=data, callbacks=[callback])
    trainer.train()
    return callback, trainer, len(data) // 4


def test_hf_callback_writes_rows_and_log_history_with_nan_energy_and_its_reason(tmp_path, no_driver):
    callback, trainer, steps = hf_train(tmp_path, every=3)
    rows = pd.read_csv(tmp_path / "energy.csv")
    check_rows(rows, "hf", epochs=2, steps_per_epoch=steps, every=3)
    assert set(rows.method) == {"none"} and rows.energy_j.isna().all()
    assert rows.warnings.str.contains("GPU energy unavailable").all()
    history = [h for h in trainer.state.log_history if "energy/epoch_j" in h]
    assert len(history) == 2 and all(h["energy/epoch_method"] == "none" for h in history)
    assert all(math.isnan(h["energy/epoch_j"]) and h["energy/epoch_duration_s"] > 0 for h in history)
    # the training loss was logged as usual next to the energy entries
    assert any("loss" in h for h in trainer.state.log_history)


def test_hf_callback_measures_energy_where_there_is_a_counter(tmp_path, fake_gpu):
    callback, trainer, steps = hf_train(tmp_path, every=4, epochs=1)
    rows = pd.read_csv(tmp_path / "energy.csv")
    check_rows(rows, "hf", epochs=1, steps_per_epoch=steps, every=4)
    assert set(rows.method) == {"counter"} and (rows.uncertainty_j > 0).all()
    for r in rows.itertuples():
        assert r.energy_j == pytest.approx(150.0 * r.duration_s, abs=r.uncertainty_j + 1e-9)


def test_every_n_steps_must_be_positive():
    from greenai.integrations.common import EnergyLog

    with pytest.raises(ValueError, match="every_n_steps"):
        EnergyLog("x", every_n_steps=0)


def test_lightning_callback_counters_survive_a_checkpoint_and_resume(tmp_path, fake_gpu):
    L = pytest.importorskip("lightning.pytorch", reason="the greenai[lightning] extra is not installed")
    from greenai.integrations.lightning import EnergyCallback

    Tiny = _tiny_module(L)

    x, y = _dataset()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)

    def fit(epochs, ckpt_path=None):
        callback = EnergyCallback(csv_path=tmp_path / "energy.csv", every_n_steps=3,
                                  run=None if ckpt_path else "first")
        trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, callbacks=[callback],
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
        trainer.fit(Tiny(), loader, ckpt_path=ckpt_path)
        return callback, trainer

    first, trainer = fit(1)
    trainer.save_checkpoint(tmp_path / "one.ckpt")
    saved = first.energy_log.state_dict()
    assert saved["run"] == "first" and saved["n_windows"] > 1 and saved["energy_j_total"] > 0
    assert saved["energy_j_total"] == pytest.approx(sum(r["energy_j"] for r in first.energy_log.rows
                                                        if r["scope"] == "epoch"))
    resumed, _ = fit(2, ckpt_path=tmp_path / "one.ckpt")
    log = resumed.energy_log
    assert log.run == "first"  # the resumed run's rows carry the first run's name
    epoch_rows = [r for r in log.rows if r["scope"] == "epoch"]
    assert [r["epoch"] for r in epoch_rows] == [1]
    keys = [r["window"] for r in log.rows]
    assert all(int(k.split("-")[1]) >= saved["n_windows"] for k in keys)  # numbering goes on, no key reused
    assert log.energy_j_total == pytest.approx(saved["energy_j_total"] + epoch_rows[0]["energy_j"])
    rows = pd.read_csv(tmp_path / "energy.csv")
    assert rows.window.is_unique and set(rows.run) == {"first"}
