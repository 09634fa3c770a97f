"""An instrumented training loop: energy per epoch from meter windows, time per
phase from CUDA events, and energy per phase two ways (thesis 2.2 and 4.1).

:class:`Trainer` runs epochs and returns an :class:`EpochResult` each: energy
[J] from an :class:`~greenai.energy.meter.EnergyMeter` window, time [s] per
phase of a step (``h2d``, ``forward``, ``backward``, ``optimizer``) from CUDA
events resolved once per epoch (:class:`StepTimer`; on a CPU,
:func:`time.perf_counter`). Energy per phase [J], the thesis' way: epoch average
power × phase time (:meth:`EpochResult.phase_energy_thesis_j`); measured by
design: long windows that run only the first phases of a step, split by
difference and by a least-squares fit (:func:`phase_energy_by_design`).
``precision`` is one of :data:`PRECISIONS` (``"default"``: PyTorch's defaults, as
the thesis ran; ``"fp32"``, ``"tf32"``, ``"bf16"``: :func:`precision_mode`), and
every row records which.

The phases, the two ways and the precisions in full: ``docs/training.md``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numpy as np
import torch
from torch import nn

# the arithmetic of phase energy lives with the analysis (no torch); re-exported here
from greenai.analysis.phases import DESIGN_WINDOWS, PHASES, DesignWindow, PhaseSplit, split_phase_energy  # noqa: F401
from greenai.energy.meter import measured_window
from greenai.energy.results import Measurement, Window

#: precision modes understood by :func:`precision_mode`
PRECISIONS: tuple[str, ...] = ("default", "fp32", "tf32", "bf16")
#: optimisers understood by :func:`make_optimizer`
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")


class TrainConfigError(ValueError):
    """A training setting is invalid (unknown precision or optimiser, bad value)."""


# --------------------------------------------------------------------------- precision


@contextlib.contextmanager
def precision_mode(precision: str, device: torch.device | str = "cuda") -> Iterator[contextlib.AbstractContextManager]:
    """Set the TF32 switches for ``precision`` and restore them on exit.

    Parameters
    ----------
    precision : {"default", "fp32", "tf32", "bf16"}
        See the module docstring.
    device : torch.device or str
        Device the model runs on; decides the autocast device type.

    Yields
    ------
    Callable returning a fresh autocast context (a no-op except for ``"bf16"``)
    to wrap forward and loss.
    """
    if precision not in PRECISIONS:
        raise TrainConfigError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    device = torch.device(device)
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    try:
        if precision == "fp32":
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        elif precision == "tf32":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        if precision == "bf16":
            yield lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        else:
            yield contextlib.nullcontext
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def make_optimizer(model: nn.Module, name: str = "sgd", lr: float = 0.01, momentum: float = 0.9,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """SGD (with momentum) or Adam over ``model``'s parameters."""
    if lr <= 0:
        raise TrainConfigError(f"learning rate must be > 0, got {lr}")
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise TrainConfigError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


# --------------------------------------------------------------------------- timing


class StepTimer:
    """Marks points inside training steps and resolves phase durations later.

    On CUDA each mark records a ``torch.cuda.Event``; :meth:`resolve` synchronises
    once and reads all elapsed times. On CPU marks are ``perf_counter`` values.
    """

    def __init__(self, device: torch.device | str):
        self.cuda = torch.device(device).type == "cuda"
        self._steps: list[list] = []

    def start_step(self) -> None:
        self._steps.append([])
        self.mark()

    def mark(self) -> None:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._steps[-1].append(event)
        else:
            self._steps[-1].append(time.perf_counter())

    def cancel_step(self) -> None:
        """Forget the step begun last (its batch never came)."""
        self._steps.pop()

    @property
    def n_steps(self) -> int:
        return len(self._steps)

    def resolve(self, phases: tuple[str, ...] = PHASES) -> dict[str, float]:
        """Total seconds per phase over all steps marked since the last resolve.

        Each step must carry ``len(phases) + 1`` marks (start, then one after each
        phase). Resets the timer.
        """
        if self.cuda and self._steps:
            torch.cuda.synchronize()
        totals = dict.fromkeys(phases, 0.0)
        for marks in self._steps:
            if len(marks) != len(phases) + 1:
                raise RuntimeError(f"a step carries {len(marks)} marks, expected {len(phases) + 1}")
            for k, phase in enumerate(phases):
                if self.cuda:
                    totals[phase] += marks[k].elapsed_time(marks[k + 1]) / 1000.0
                else:
                    totals[phase] += marks[k + 1] - marks[k]
        self._steps = []
        return totals


def as_float(value) -> float:
    """``float(value)``, or NaN for None / non-numbers (meter fields may be None)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def synchronize(device: torch.device | str) -> None:
    """Wait for queued work on ``device`` (no-op on CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


class StepOutput(NamedTuple):
    """What :meth:`Trainer.step` returns: the detached loss (None for a data-only step) and the batch size."""

    loss: torch.Tensor | None
    samples: int


# --------------------------------------------------------------------------- results


@dataclass
class EpochResult:
    """What one measured epoch (or fixed-length window of steps) produced.

    Attributes
    ----------
    epoch_index : int
        0-based index of the measured epoch / window.
    steps, samples : int
        Optimizer steps and training samples processed in the window.
    duration_s : float
        Wall time of the window [s] (after a device synchronisation).
    phase_s : dict[str, float]
        Time per phase [s] from CUDA events (see :data:`PHASES`).
    measurement : Measurement or None
        The meter's measurement of the window (``energy_j`` [J] etc.; None without a meter).
    train_loss : float
        Mean training loss over the window.
    test_accuracy : float
        Top-1 accuracy on the test split in [0, 1], NaN when not evaluated.
    """

    epoch_index: int
    steps: int
    samples: int
    duration_s: float
    phase_s: dict[str, float]
    measurement: Measurement | None = None
    train_loss: float = math.nan
    test_accuracy: float = math.nan

    @property
    def energy_j(self) -> float:
        """Energy of the window [J] as the meter reported it (NaN without a meter)."""
        return self.measurement.energy_j if self.measurement is not None else math.nan

    @property
    def power_w(self) -> float:
        """Average power over the window [W] = energy / duration."""
        return self.energy_j / self.duration_s if self.duration_s > 0 else math.nan

    def phase_energy_thesis_j(self) -> dict[str, float]:
        """Energy per phase the thesis' way: window average power × phase time [J]."""
        return {k: self.power_w * t for k, t in self.phase_s.items()}

    def as_row(self) -> dict:
        """Flat columns (seconds, joules, watts) for one CSV row."""
        m = self.measurement
        row = {
            "epoch_index": self.epoch_index,
            "steps": self.steps,
            "samples": self.samples,
            "duration_s": self.duration_s,
            "energy_j": self.energy_j,
            "power_w": self.power_w,
            "energy_method": m.method if m is not None else None,
            "counter_updates": as_float(m.counter_updates) if m is not None else math.nan,
            "uncertainty_j": m.uncertainty_j if m is not None else math.nan,
            "energy_above_idle_j": m.energy_above_idle_j if m is not None else math.nan,
            "train_loss": self.train_loss,
            "test_accuracy": self.test_accuracy,
            "warnings": "; ".join(str(w) for w in m.warnings) if m is not None else "",
        }
        for phase in PHASES:
            row[f"{phase}_s"] = self.phase_s.get(phase, math.nan)
        row["other_s"] = self.duration_s - sum(self.phase_s.get(p, 0.0) for p in PHASES)
        for phase, energy in self.phase_energy_thesis_j().items():
            row[f"{phase}_energy_thesis_j"] = energy
        return row


# --------------------------------------------------------------------------- trainer


def cycle_batches(batches, start_epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless stream of batches: calls ``batches.set_epoch(e)`` for e = start, start+1, …"""
    epoch = start_epoch
    while True:
        if hasattr(batches, "set_epoch"):
            batches.set_epoch(epoch)
        produced = False
        for batch in batches:
            produced = True
            yield batch
        if not produced:
            raise RuntimeError("the batch source produced no batch; is the dataset empty or the batch size too large?")
        epoch += 1


class Trainer:
    """Train ``model`` on ``train_batches`` and measure each epoch.

    Parameters
    ----------
    model : nn.Module
        Already on ``device``.
    train_batches : iterable of (x, y)
        Re-iterable batch source, e.g. :class:`greenai.data.GpuBatches`; if it
        has ``set_epoch(e)`` it is called before each epoch.
    device : torch.device or str
    meter : greenai.energy.EnergyMeter, optional
        Opens one window per epoch. Without a meter energies are NaN.
    precision : str
        One of :data:`PRECISIONS`.
    optimizer, lr : str, float
        See :func:`make_optimizer`.
    test_batches : iterable of (x, y), optional
        Needed for :meth:`evaluate`.
    """

    def __init__(self, model: nn.Module, train_batches, device, meter=None, precision: str = "default",
                 optimizer: str = "sgd", lr: float = 0.01, test_batches=None):
        if precision not in PRECISIONS:
            raise TrainConfigError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        self.model = model
        self.train_batches = train_batches
        self.test_batches = test_batches
        self.device = torch.device(device)
        self.meter = meter
        self.precision = precision
        self.optimizer = make_optimizer(model, optimizer, lr)
        self.loss_fn = nn.CrossEntropyLoss()
        self._window_counter = 0

    # -- one step, optionally truncated after a phase -------------------------------
    def step(self, batch_iter, timer: StepTimer | None = None, autocast=contextlib.nullcontext,
             upto: str = "optimizer") -> StepOutput:
        """One training step from ``batch_iter``, run up to and including phase ``upto``.

        ``timer`` (optional) marks the start and the end of each phase run;
        ``autocast`` is the context of :func:`precision_mode`. Raises
        :class:`StopIteration` when the batches run out (the timer's step is
        cancelled). The public step of profiling, phase design and the runners.
        """
        if timer is not None:
            timer.start_step()
        try:
            x, y = next(batch_iter)
        except StopIteration:
            if timer is not None:
                timer.cancel_step()
            raise
        samples = int(y.shape[0])
        if timer is not None:
            timer.mark()
        if upto == "h2d":
            return StepOutput(None, samples)
        with autocast():
            loss = self.loss_fn(self.model(x), y)
        if timer is not None:
            timer.mark()
        if upto == "forward":
            return StepOutput(loss.detach(), samples)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if timer is not None:
            timer.mark()
        if upto == "backward":
            return StepOutput(loss.detach(), samples)
        self.optimizer.step()
        if timer is not None:
            timer.mark()
        return StepOutput(loss.detach(), samples)

    def warmup(self, steps: int, epoch: int = 0) -> None:
        """Run ``steps`` unmeasured training steps (cuDNN autotuning, allocator, clocks)."""
        if steps <= 0:
            return
        self.model.train()
        it = cycle_batches(self.train_batches, start_epoch=epoch)
        with precision_mode(self.precision, self.device) as autocast:
            for _ in range(steps):
                self.step(it, None, autocast)
        synchronize(self.device)

    def next_key(self, label: str) -> str:
        """A window key unique to this trainer: ``<label>-<id>-<counter>``."""
        self._window_counter += 1
        return f"{label}-{id(self)}-{self._window_counter}"

    def window(self, label: str) -> contextlib.AbstractContextManager[Window]:
        """A measured window (:meth:`greenai.energy.meter.EnergyMeter.window`; times only without a meter)
        keyed by :meth:`next_key`, waiting for this trainer's device at both edges."""
        return measured_window(self.meter, self.next_key(label), sync=functools.partial(synchronize, self.device))

    def train_epoch(self, epoch_index: int, max_steps: int | None = None, batch_iter=None) -> EpochResult:
        """Train one epoch (or ``max_steps`` steps) inside one meter window.

        Parameters
        ----------
        epoch_index : int
            Passed to ``set_epoch`` (data order) and recorded.
        max_steps : int, optional
            Stop after this many steps (a fixed-length window instead of a full epoch).
        batch_iter : iterator, optional
            Continue an existing batch stream (e.g. :func:`cycle_batches`) instead of
            starting a fresh pass over the data; then ``max_steps`` is required.
        """
        if batch_iter is not None and max_steps is None:
            raise TrainConfigError("a window over a continuing batch stream needs max_steps")
        self.model.train()
        if batch_iter is None:
            if hasattr(self.train_batches, "set_epoch"):
                self.train_batches.set_epoch(epoch_index)
            batch_iter = iter(self.train_batches)
        timer = StepTimer(self.device)
        losses: list[torch.Tensor] = []
        samples = 0
        with precision_mode(self.precision, self.device) as autocast, self.window(f"epoch{epoch_index}") as w:
            while max_steps is None or len(losses) < max_steps:
                try:
                    out = self.step(batch_iter, timer, autocast)
                except StopIteration:
                    break
                losses.append(out.loss)
                samples += out.samples
        if not losses:
            raise RuntimeError("the epoch produced no training step; check the dataset and batch size")
        phase_s = timer.resolve()
        train_loss = float(torch.stack(losses).float().mean().item())
        return EpochResult(epoch_index=epoch_index, steps=len(losses), samples=samples, duration_s=w.duration_s,
                           phase_s=phase_s, measurement=w.measurement, train_loss=train_loss)

    @torch.no_grad()
    def evaluate(self) -> float:
        """Top-1 accuracy on ``test_batches`` in [0, 1] (not inside any meter window)."""
        if self.test_batches is None:
            raise TrainConfigError("evaluate() needs test_batches")
        self.model.eval()
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        total = 0
        with precision_mode(self.precision, self.device) as autocast:
            for x, y in self.test_batches:
                with autocast():
                    logits = self.model(x)
                correct += (logits.argmax(dim=1) == y).sum()
                total += int(y.shape[0])
        self.model.train()
        return float(correct.item()) / total if total else math.nan

    def time_steps(self, steps: int, epoch: int = 0) -> float:
        """Mean wall seconds per full training step over ``steps`` steps (synchronised)."""
        it = cycle_batches(self.train_batches, start_epoch=epoch)
        self.model.train()
        with precision_mode(self.precision, self.device) as autocast:
            synchronize(self.device)
            start = time.perf_counter()
            for _ in range(steps):
                self.step(it, None, autocast)
            synchronize(self.device)
        return (time.perf_counter() - start) / max(steps, 1)

    # -- checkpoints (exact resume of an interrupted multi-epoch run) ---------------
    def state_dict(self) -> dict:
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "cpu_rng": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["cpu_rng"].cpu())  # a checkpoint loaded onto the GPU moved it there
        if "cuda_rng" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)


def timed_warmup(trainer: Trainer, warmup_steps: int) -> float:
    """Warm up ``warmup_steps`` steps; return seconds per step over the last half of them (NaN if too short).

    The warm-up of a run of fixed-length windows (the runners' and ``greenai predict --calibrate``'s):
    :func:`steps_for_duration` sizes the windows from the step time it returns.
    """
    first = warmup_steps // 2
    trainer.warmup(first)
    rest = warmup_steps - first
    if rest <= 0:
        return math.nan
    return trainer.time_steps(rest, epoch=0)


def steps_for_duration(step_s: float, target_s: float, min_steps: int = 5, max_steps: int | None = None) -> int:
    """Number of steps so that a window of steps lasting ``step_s`` each reaches ``target_s``."""
    if step_s <= 0 or not math.isfinite(step_s):
        n = min_steps
    else:
        n = max(min_steps, int(math.ceil(target_s / step_s)))
    return min(n, max_steps) if max_steps else n


# --------------------------------------------------------------------------- phase energy by design


def phase_energy_by_design(trainer: Trainer, steps: int | None = None, repeats: int = 2, epoch: int = 0,
                           window_s: float | None = None, min_steps: int = 5) -> PhaseSplit:
    """Measure windows that run only some phases and split step energy by phase.

    For each repeat and each entry of :data:`DESIGN_WINDOWS` (``h2d``: fetch the
    batch only; ``forward``: + forward and loss; ``backward``: + backward;
    ``optimizer``: the full step) a meter window runs steps over the same batch
    sequence (the data stream restarts at ``epoch`` for every window).

    Parameters
    ----------
    steps : int, optional
        Steps per window, the same for every window kind.
    window_s : float, optional
        Instead of ``steps``: size each window kind separately so that it lasts
        at least ``window_s`` seconds (a fetch-only step takes far less time than
        a full step; every window must span many counter updates). The step
        time of each kind is calibrated once: the fastest of several rounds of
        10 synchronised steps (see :func:`_calibrate_step_s`).

    Returns
    -------
    PhaseSplit
        Per-step phase energies by difference and by regression [J].
    """
    if trainer.meter is None:
        raise TrainConfigError("phase_energy_by_design needs a trainer with an energy meter")
    if (steps is None) == (window_s is None):
        raise TrainConfigError("give exactly one of steps or window_s")
    windows: list[DesignWindow] = []
    trainer.model.train()
    steps_for: dict[str, int] = {}
    with precision_mode(trainer.precision, trainer.device) as autocast:
        for upto in DESIGN_WINDOWS:
            if steps is not None:
                steps_for[upto] = steps
                continue
            it = cycle_batches(trainer.train_batches, start_epoch=epoch)
            step_s = _calibrate_step_s(trainer, it, autocast, upto, window_s)
            steps_for[upto] = steps_for_duration(step_s, window_s, min_steps=min_steps)
    for repeat in range(repeats):
        for upto in DESIGN_WINDOWS:
            n = steps_for[upto]
            phases = PHASES[: PHASES.index(upto) + 1]
            it = cycle_batches(trainer.train_batches, start_epoch=epoch)
            timer = StepTimer(trainer.device)
            with precision_mode(trainer.precision, trainer.device) as autocast, \
                    trainer.window(f"design-{upto}-{repeat}") as w:
                for _ in range(n):
                    trainer.step(it, timer, autocast, upto=upto)
            phase_s = timer.resolve(phases)
            windows.append(DesignWindow(upto=upto, repeat=repeat, steps=n, duration_s=w.duration_s,
                                        energy_j=w.energy_j, phase_s=phase_s,
                                        counter_updates=w.counter_updates, uncertainty_j=w.uncertainty_j,
                                        measurement=w.measurement))
    return split_phase_energy(windows)


def _calibrate_step_s(trainer: Trainer, it, autocast, upto: str, window_s: float, round_steps: int = 10) -> float:
    """Time of one step run up to phase ``upto`` [s]: the fastest of several rounds of ``round_steps`` steps.

    A round can only be slowed by outside interference (another process
    preempting a thread, a page fault), never sped up, so the fastest round is
    the best estimate of the undisturbed step. Rounds continue until at least
    three ran over at least a tenth of ``window_s`` (a single 10-step round of
    a fast kind lasts well under a millisecond: one preemption would inflate
    it several times and size the window far too short), or, for slow steps,
    until two ran over a whole ``window_s``.
    """
    trainer.step(it, None, autocast, upto=upto)  # warm-up: lazy initialisation, allocator
    synchronize(trainer.device)
    best_s, spent_s, rounds = math.inf, 0.0, 0
    while True:
        start = time.perf_counter()
        for _ in range(round_steps):
            trainer.step(it, None, autocast, upto=upto)
        synchronize(trainer.device)
        elapsed = time.perf_counter() - start
        best_s, spent_s, rounds = min(best_s, elapsed / round_steps), spent_s + elapsed, rounds + 1
        if (rounds >= 3 and spent_s >= 0.1 * window_s) or (rounds >= 2 and spent_s >= window_s):
            return best_s
