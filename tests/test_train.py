"""The instrumented trainer on a tiny model and in-memory data (CPU).

Energy comes from :class:`greenai.energy.EnergyMeter` over the NVML test double
(tests/nvml_double.py): a simulated GPU drawing a known power, so energies and
the phase split can be checked against the truth."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from torch import nn

from greenai import train
from greenai.energy import EnergyMeter
from greenai.energy.meter import measured_window
from nvml_double import FakeGpu, installed


class TinyBatches:
    """In-memory batch source with ``set_epoch`` (deterministic shuffles)."""

    def __init__(self, n: int = 40, batch_size: int = 8, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 1, 12, 12, generator=g)
        self.y = torch.randint(0, 3, (n,), generator=g)
        self.batch_size = batch_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        order = torch.randperm(len(self.y), generator=torch.Generator().manual_seed(self.epoch))
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            yield self.x[idx], self.y[idx]


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.1),
                         nn.Linear(4 * 5 * 5, 3))


@pytest.fixture
def fake_gpu(monkeypatch):
    """A simulated GPU at a constant 200 W whose counter advances every 1 ms."""
    yield from installed(monkeypatch, [FakeGpu(power_w=200.0, step_s=0.001)])


def test_precision_mode_sets_and_restores_tf32_switches():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    with train.precision_mode("fp32", "cpu") as autocast:
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (False, False)
        with autocast():
            assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32
    with train.precision_mode("tf32", "cpu"):
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (True, True)
    with train.precision_mode("bf16", "cpu") as autocast:
        with autocast():
            assert nn.Linear(2, 2)(torch.ones(1, 2)).dtype == torch.bfloat16
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
    with pytest.raises(train.TrainConfigError, match="choose one of default, fp32, tf32, bf16"):
        with train.precision_mode("fp16"):
            pass


def test_optimizer_choices_and_errors():
    model = tiny_model()
    assert isinstance(train.make_optimizer(model, "adam", 1e-3), torch.optim.Adam)
    with pytest.raises(train.TrainConfigError, match="unknown optimizer 'rmsprop'"):
        train.make_optimizer(model, "rmsprop")
    with pytest.raises(train.TrainConfigError, match="learning rate"):
        train.make_optimizer(model, "sgd", lr=0)


def test_epoch_without_gpu_measures_time_and_phases_and_reports_nan_energy():
    meter = EnergyMeter(methods="auto") if not torch.cuda.is_available() else None
    trainer = train.Trainer(tiny_model(), TinyBatches(n=40, batch_size=8), "cpu", meter=meter)
    result = trainer.train_epoch(0)
    assert (result.steps, result.samples) == (5, 40)
    assert all(result.phase_s[p] > 0 for p in train.PHASES)
    assert sum(result.phase_s.values()) <= result.duration_s
    row = result.as_row()
    for col in ("duration_s", "energy_j", "h2d_s", "forward_s", "backward_s", "optimizer_s", "other_s",
                "forward_energy_thesis_j", "counter_updates", "train_loss"):
        assert col in row
    if meter is not None:
        assert math.isnan(row["energy_j"]) and row["warnings"]  # never a silent zero
    assert math.isfinite(row["train_loss"])


def test_window_of_fixed_steps_over_a_continuing_stream():
    trainer = train.Trainer(tiny_model(), TinyBatches(n=40, batch_size=8), "cpu")
    stream = train.cycle_batches(trainer.train_batches)
    first = trainer.train_epoch(0, max_steps=7, batch_iter=stream)
    second = trainer.train_epoch(1, max_steps=7, batch_iter=stream)
    assert (first.steps, first.samples, second.steps) == (7, 56, 7)
    with pytest.raises(train.TrainConfigError, match="needs max_steps"):
        trainer.train_epoch(2, batch_iter=stream)


def test_training_learns_a_separable_problem():
    batches = TinyBatches(n=48, batch_size=8)
    batches.y = (batches.x.mean(dim=(1, 2, 3)) > 0).long()
    trainer = train.Trainer(tiny_model(), batches, "cpu", lr=0.05, test_batches=batches)
    losses = [trainer.train_epoch(e).train_loss for e in range(8)]
    assert losses[-1] < losses[0]
    assert trainer.evaluate() > 0.7


def test_energy_matches_the_simulated_gpu(fake_gpu):
    with EnergyMeter(methods=("counter",)) as meter:
        trainer = train.Trainer(tiny_model(), TinyBatches(n=200, batch_size=8), "cpu", meter=meter)
        result = trainer.train_epoch(0)
    # 200 W for the window's duration, to within the counter's 1 ms steps and the window edges
    assert result.energy_j == pytest.approx(200.0 * result.duration_s, rel=0.05)
    assert result.power_w == pytest.approx(200.0, rel=0.05)
    thesis = result.phase_energy_thesis_j()
    assert sum(thesis.values()) == pytest.approx(result.power_w * sum(result.phase_s.values()))


def test_phase_split_by_difference_and_regression_recovers_known_powers():
    true_power = {"h2d": 100.0, "forward": 300.0, "backward": 450.0, "optimizer": 250.0, "other": 150.0}
    rng = np.random.default_rng(1)
    windows = []
    for repeat in range(3):
        for k, upto in enumerate(train.DESIGN_WINDOWS):
            steps = 100
            phase_s = {p: steps * t * rng.uniform(0.8, 1.2)
                       for p, t in zip(train.PHASES[:k + 1], (0.001, 0.004, 0.008, 0.002))}
            other = steps * 0.0005 * rng.uniform(0.5, 1.5)
            energy = sum(true_power[p] * t for p, t in phase_s.items()) + true_power["other"] * other
            windows.append(train.DesignWindow(upto=upto, repeat=repeat, steps=steps,
                                              duration_s=sum(phase_s.values()) + other, energy_j=energy,
                                              phase_s=phase_s))
    split = train.split_phase_energy(windows)
    for name, power in true_power.items():
        assert split.power_w[name] == pytest.approx(power, rel=1e-6)
    assert sum(split.by_difference_j.values()) == pytest.approx(split.full_step_energy_j)
    # backward is the most expensive phase per step both ways
    assert max(split.by_difference_j, key=split.by_difference_j.get) == "backward"
    assert max(split.by_regression_j, key=split.by_regression_j.get) == "backward"


@pytest.fixture
def fine_counter_gpu(monkeypatch):
    """A simulated GPU at a constant 200 W whose counter advances every 10 us (2 mJ).

    The tiny model's phases last ~0.1 ms, its design windows a few ms: with a 1 ms counter step
    (0.2 J, as much as a phase's whole energy in a window) the fitted phase powers were mostly
    counter quantisation and missed 200 W about one run in ten.
    """
    yield from installed(monkeypatch, [FakeGpu(power_w=200.0, step_s=1e-5)])


def phase_model() -> nn.Module:
    """Wide enough that each phase of a step lasts milliseconds on a CPU thread: the difference
    method subtracts windows' per-step energies, and with the tiny model's ~0.1 ms phases the
    scheduling jitter of a busy machine with few cores alone made backward's share negative."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 6 * 6, 3))


def test_phase_energy_by_design_on_the_simulated_gpu(fine_counter_gpu):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: no contention between torch's own workers
    try:
        with EnergyMeter(methods=("counter",)) as meter:
            trainer = train.Trainer(phase_model(), TinyBatches(n=160, batch_size=16), "cpu", meter=meter)
            trainer.warmup(2)  # as the campaign does: the first window would carry the one-time set-up
            split = train.phase_energy_by_design(trainer, steps=10, repeats=2)
    finally:
        torch.set_num_threads(threads)
    assert [w.upto for w in split.windows] == list(train.DESIGN_WINDOWS) * 2
    assert all(w.steps == 10 for w in split.windows)
    # constant 200 W: every window's energy is 200 W x its duration, to within a
    # 10 us counter step (2 mJ) at each edge ...
    for w in split.windows:
        assert w.energy_j == pytest.approx(200.0 * w.duration_s, rel=0.1, abs=0.5)
    # ... and the fitted power of the phases that dominate the time is 200 W
    for phase in ("forward", "backward"):
        assert split.power_w[phase] == pytest.approx(200.0, rel=0.25)
    assert split.by_difference_j["backward"] > 0


def test_step_timer_rejects_incomplete_steps():
    timer = train.StepTimer("cpu")
    timer.start_step()
    timer.mark()
    with pytest.raises(RuntimeError, match="expected 5"):
        timer.resolve()


def test_steps_for_duration():
    assert train.steps_for_duration(0.01, 3.0) == 300
    assert train.steps_for_duration(1.0, 3.0, min_steps=5) == 5
    assert train.steps_for_duration(math.nan, 3.0, min_steps=7) == 7
    assert train.steps_for_duration(0.001, 3.0, max_steps=100) == 100


@pytest.mark.gpu
def test_epoch_on_a_real_gpu_measures_counter_energy_and_event_phases():
    from greenai.data import GpuBatches, load_dataset
    from greenai.models import build_model

    split = load_dataset("fashion_mnist", train=True, synthetic=True, limit=2048)
    batches = GpuBatches(split, 256, "cuda", image_size=224)
    with EnergyMeter(gpu_indices=[torch.cuda.current_device()], methods=("counter",)) as meter:
        trainer = train.Trainer(build_model("alexnet", 1, 10).cuda(), batches, "cuda", meter=meter)
        trainer.warmup(3)
        result = trainer.train_epoch(0)
    assert result.steps == 8 and result.energy_j > 0 and result.measurement.method == "counter"
    assert all(result.phase_s[p] > 0 for p in train.PHASES)
    assert sum(result.phase_s.values()) <= result.duration_s * 1.05



@pytest.mark.gpu
def test_a_checkpoint_loaded_onto_the_gpu_resumes_with_the_same_random_stream(tmp_path):
    """The campaign loads a checkpoint with ``map_location`` = the trainer's GPU, which moves the saved RNG
    states there; ``torch.set_rng_state`` takes CPU byte tensors only (resuming a stopped run failed)."""
    from greenai.data import GpuBatches, load_dataset
    from greenai.models import build_model

    batches = GpuBatches(load_dataset("fashion_mnist", train=True, synthetic=True, limit=64), 32, "cuda",
                         image_size=32)
    trainer = train.Trainer(build_model("mobilenet_v1", 1, 10).cuda(), batches, "cuda")
    trainer.warmup(1)
    torch.save(trainer.state_dict(), tmp_path / "ckpt.pt")
    expected = torch.rand(3), torch.rand(3, device="cuda").cpu()
    state = torch.load(tmp_path / "ckpt.pt", map_location=trainer.device, weights_only=False)
    assert state["cpu_rng"].device.type == "cuda"  # what the campaign hands load_state_dict
    trainer.load_state_dict(state)
    assert torch.equal(torch.rand(3), expected[0]) and torch.equal(torch.rand(3, device="cuda").cpu(), expected[1])

@pytest.fixture
def one_cpu_thread():
    """One intra-op thread: on a busy machine with few cores, torch's thread pool waits at every parallel
    region for a worker that lost its core, so a tiny step takes 0.3 ms or 70 ms depending on the load of
    the moment, and a window sized on one moment runs in another."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_design_windows_are_sized_per_kind(fake_gpu, one_cpu_thread):
    with EnergyMeter(methods=("counter",)) as meter:
        trainer = train.Trainer(tiny_model(), TinyBatches(n=80, batch_size=8), "cpu", meter=meter)
        split = train.phase_energy_by_design(trainer, window_s=0.2, repeats=1, min_steps=1)
    steps = {w.upto: w.steps for w in split.windows}
    # fetching alone is far faster than a full step, so its window needs many more steps
    assert steps["h2d"] > 3 * steps["optimizer"] and steps["h2d"] >= steps["forward"]
    assert all(w.duration_s > 0.05 for w in split.windows)
    with pytest.raises(train.TrainConfigError, match="exactly one"):
        train.phase_energy_by_design(trainer, steps=3, window_s=1.0)


class RecordingMeter:
    """Records the window calls; returns a Measurement whose duration is the meter's own (7 s)."""

    def __init__(self):
        self.calls = []
        self.clock = time.perf_counter

    def begin_window(self, key):
        self.calls.append(("begin", key))

    def end_window(self, key):
        from greenai.energy import Measurement

        self.calls.append(("end", key))
        return Measurement(key=key, begin_unix_s=0.0, duration_s=7.0, method="counter", gpu_energy_j={0: 70.0},
                           counter_updates=70, uncertainty_j=0.1)


def test_measured_window_syncs_opens_and_closes_one_window_and_takes_the_meters_duration():
    meter = RecordingMeter()
    sync = lambda: meter.calls.append(("sync", None))  # noqa: E731
    with measured_window(meter, "k", sync) as w:
        assert meter.calls == [("sync", None), ("begin", "k")] and w.measurement is None
    assert meter.calls == [("sync", None), ("begin", "k"), ("sync", None), ("end", "k")]
    assert (w.duration_s, w.energy_j, w.counter_updates, w.uncertainty_j) == (7.0, 70.0, 70.0, 0.1)
    assert 0 <= w.wall_s < 7.0  # the meter's window length wins over the wall time
    with measured_window(None, "t") as bare:
        pass
    assert bare.measurement is None and math.isnan(bare.energy_j) and bare.duration_s == bare.wall_s > 0


def test_measured_window_closes_the_window_when_the_block_fails():
    meter = RecordingMeter()
    with pytest.raises(ZeroDivisionError):
        with measured_window(meter, "boom") as w:
            1 / 0
    assert meter.calls == [("begin", "boom"), ("end", "boom")]
    assert w.measurement.warnings[-1] == "the measured block raised an exception"


def test_trainer_window_keys_are_unique_and_step_reports_samples():
    trainer = train.Trainer(tiny_model(), TinyBatches(n=12, batch_size=8), "cpu", meter=RecordingMeter())
    with trainer.window("a") as w1:
        out = trainer.step(iter(trainer.train_batches))
    with trainer.window("a") as w2:
        pass
    assert w1.key != w2.key and out.samples == 8 and out.loss is not None
    timer = train.StepTimer("cpu")
    it = iter(TinyBatches(n=8, batch_size=8))
    trainer.step(it, timer)
    with pytest.raises(StopIteration):
        trainer.step(it, timer)  # the batches ran out: the begun step is cancelled
    assert timer.n_steps == 1 and set(timer.resolve()) == set(train.PHASES)
