"""Layer profiling (thesis 2.3) on a tiny model, CPU, with the NVML test double
standing in for the GPU's energy counter."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from greenai import profile, train
from greenai.energy import EnergyMeter
from nvml_double import FakeGpu, installed


class Batches:
    def __init__(self, n=32, batch_size=8):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 1, 12, 12, generator=g)
        self.y = torch.randint(0, 3, (n,), generator=g)
        self.batch_size = batch_size

    def __iter__(self):
        for i in range(0, len(self.y), self.batch_size):
            yield self.x[i:i + self.batch_size], self.y[i:i + self.batch_size]


def alexnet_like() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(8 * 3 * 3, 16), nn.ReLU(), nn.Linear(16, 3))


class CounterTime:
    """The simulated GPU's clock and the meter's, made one: the GPU reads real time at each NVML call
    (:meth:`read`), and the meter's clock returns the time of the GPU's last read (:meth:`last`), so a
    window's edges and its counter values refer to the same instants, however the OS schedules the test."""

    def __init__(self):
        self.t = time.perf_counter()

    def read(self) -> float:
        self.t = time.perf_counter()
        return self.t

    def last(self) -> float:
        return self.t


@pytest.fixture
def counter_time():
    return CounterTime()


@pytest.fixture
def fake_gpu(monkeypatch, counter_time):
    """A simulated GPU at a constant 300 W whose counter advances every 10 us (3 mJ).

    The profiled window lasts some 30 ms on a CPU; when the meter timed it on its own clock, a
    preemption between a counter read and the clock read put the window's power 5-10 % off on a
    loaded machine. On :class:`CounterTime` the two agree to one counter step.
    """
    yield from installed(monkeypatch, [FakeGpu(power_w=300.0, step_s=1e-5)], clock=counter_time.read)


def test_layer_types_follow_the_thesis_categories():
    expected = {nn.Conv2d(1, 1, 1): "convolution", nn.ReLU(): "activation", nn.MaxPool2d(2): "pooling",
                nn.AdaptiveAvgPool2d(1): "pooling", nn.Linear(1, 1): "linear", nn.Dropout(): "dropout",
                nn.Flatten(): "flatten", nn.BatchNorm2d(1): "normalisation", nn.Identity(): "other",
                nn.Hardswish(): "activation", nn.Conv1d(1, 1, 1): "convolution"}
    for module, kind in expected.items():
        assert profile.layer_type(module) == kind, module


def test_hooks_time_every_leaf_call_and_are_removed():
    model = alexnet_like()
    x = torch.randn(4, 1, 12, 12)
    with profile.LayerHooks(model, "cpu") as hooks:
        model(x)
        model(x)
        table = hooks.resolve()
    assert list(table.layer) == [name for name, _ in profile.leaf_modules(model)]
    assert (table.calls == 2).all()
    assert (table.time_s > 0).all()
    assert table.loc[table.layer_type == "linear", "params"].sum() == 8 * 9 * 16 + 16 + 16 * 3 + 3
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_profile_layers_thesis_and_measured_energy(fake_gpu, counter_time):
    with EnergyMeter(methods=("counter",), counter_poll_period_s=None, clock=counter_time.last) as meter:
        model = alexnet_like()
        trainer = train.Trainer(model, Batches(), "cpu", meter=meter)
        result = profile.profile_layers(trainer, steps=8, steps_per_epoch=100, replay_window_s=0.05)
    by_type = result.by_type.set_index("layer_type")
    assert set(by_type.index) == {"convolution", "activation", "pooling", "linear", "dropout", "flatten",
                                  "normalisation"}
    assert by_type.share_of_forward.sum() == pytest.approx(1.0)
    assert by_type.loc["convolution", "modules"] == 2 and by_type.loc["activation", "modules"] == 3
    # the thesis' way: window power (300 W simulated) x time
    assert result.window_power_w == pytest.approx(300.0, rel=0.05)
    assert (by_type.energy_thesis_per_epoch_j / by_type.time_per_epoch_s).to_numpy() == pytest.approx(
        result.window_power_w)
    assert by_type.time_per_epoch_s.to_numpy() == pytest.approx(by_type.time_per_step_s.to_numpy() * 100)
    # measured: each replay window at 300 W, energy per pass scaled to the epoch
    assert by_type.replay_power_w.to_numpy() == pytest.approx(300.0, rel=0.15)
    assert by_type.energy_measured_per_epoch_j.to_numpy() == pytest.approx(
        by_type.replay_energy_per_step_j.to_numpy() * 100)
    assert (by_type.replay_duration_s >= 0.05).all()
    assert result.hook_overhead_fraction == result.hook_overhead_fraction  # not NaN
    # in-place switches restored after replay
    assert model[1].inplace and model[5].inplace


def test_capture_keeps_inputs_of_each_leaf():
    model = alexnet_like()
    captured = profile.capture_layer_inputs(model, torch.randn(2, 1, 12, 12))
    assert [name for name, _, _ in captured] == [name for name, _ in profile.leaf_modules(model)]
    assert captured[0][2][0].shape == (2, 1, 12, 12)
    assert captured[-1][2][0].shape == (2, 16)
