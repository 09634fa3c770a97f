"""Time and energy per layer type in the forward pass (thesis section 2.3, Fig 2.2).

Two measurements:

1. **Time per layer** — forward pre-/post-hooks on every leaf module record a
   CUDA event pair per call while the model trains normally; the events are
   resolved once at the end (no synchronisation per layer). Times are summed
   per layer and per layer type (:data:`LAYER_TYPES`). Energy per layer type
   *the thesis' way* is the window's average power × that time.
2. **Energy per layer type, measured** — each leaf module's input is captured
   from one batch; then, per layer type, all modules of that type are replayed
   on their captured inputs (``torch.no_grad``, in-place switched off) in a
   loop inside one meter window long enough (``window_s``) for the ~100 ms
   NVML energy counter to resolve it. Energy per replayed forward × steps per
   epoch gives the measured energy per epoch.

The hooks' own cost is stated: the same training steps are timed with and
without hooks (:attr:`LayerProfile.hook_overhead_fraction`).
Work done outside modules (``torch.flatten`` in ``forward``, functional
activations) is not seen by hooks; it appears as ``unhooked_time_per_step_s``.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from greenai.energy.results import Measurement
from greenai.energy.meter import measured_window
from greenai.train import StepTimer, Trainer, cycle_batches, precision_mode, steps_for_duration, synchronize

#: layer types of the thesis' Fig 2.2, plus normalisation and other (home: the analysis, no torch)
from greenai.analysis.layers import LAYER_TYPES  # noqa: E402

_TYPE_CLASSES: list[tuple[str, tuple[type, ...]]] = [
    ("convolution", (nn.modules.conv._ConvNd,)),
    ("linear", (nn.Linear, nn.Bilinear, nn.LazyLinear)),
    ("pooling", (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
                 nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)),
    ("dropout", (nn.modules.dropout._DropoutNd,)),
    ("flatten", (nn.Flatten, nn.Unflatten)),
    ("normalisation", (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)),
    ("activation", (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.Sigmoid,
                    nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Mish, nn.Softmax, nn.LogSoftmax)),
]


def layer_type(module: nn.Module) -> str:
    """The layer type (one of :data:`LAYER_TYPES`) of a module."""
    for name, classes in _TYPE_CLASSES:
        if isinstance(module, classes):
            return name
    return "other"


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) for every module without children."""
    return [(name or type(model).__name__, m) for name, m in model.named_modules() if not list(m.children())]


class LayerHooks:
    """Forward hooks on every leaf module recording a start/end mark per call.

    Use as a context manager; :meth:`resolve` returns seconds per leaf module
    accumulated since the last resolve.
    """

    def __init__(self, model: nn.Module, device):
        self.cuda = torch.device(device).type == "cuda"
        self.leaves = leaf_modules(model)
        self._marks: list[tuple[int, object, object]] = []
        self._open: dict[int, list] = {}
        self._handles: list = []

    def __enter__(self) -> "LayerHooks":
        for index, (_, module) in enumerate(self.leaves):
            self._handles.append(module.register_forward_pre_hook(self._pre(index)))
            self._handles.append(module.register_forward_hook(self._post(index)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def _now(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    def _pre(self, index: int):
        def hook(module, args):
            self._open.setdefault(index, []).append(self._now())
        return hook

    def _post(self, index: int):
        def hook(module, args, output):
            start = self._open[index].pop()
            self._marks.append((index, start, self._now()))
        return hook

    def resolve(self) -> pd.DataFrame:
        """Per leaf module: ``layer``, ``layer_type``, ``calls``, ``time_s``; resets the marks."""
        if self.cuda and self._marks:
            torch.cuda.synchronize()
        time_s = [0.0] * len(self.leaves)
        calls = [0] * len(self.leaves)
        for index, start, end in self._marks:
            time_s[index] += start.elapsed_time(end) / 1000.0 if self.cuda else end - start
            calls[index] += 1
        self._marks = []
        return pd.DataFrame({
            "layer": [n for n, _ in self.leaves],
            "layer_type": [layer_type(m) for _, m in self.leaves],
            "module_class": [type(m).__name__ for _, m in self.leaves],
            "params": [sum(p.numel() for p in m.parameters(recurse=False)) for _, m in self.leaves],
            "calls": calls,
            "time_s": time_s,
        })


@dataclass
class LayerProfile:
    """Result of :func:`profile_layers`.

    Attributes
    ----------
    by_type : pandas.DataFrame
        One row per layer type: ``time_per_step_s``, ``time_per_epoch_s``,
        ``share_of_forward`` (of hooked forward time), ``energy_thesis_per_epoch_j``
        (window power × time), and, when replayed, ``replay_time_per_step_s``,
        ``replay_power_w``, ``energy_measured_per_epoch_j``, ``replay_counter_updates``.
    by_layer : pandas.DataFrame
        Per leaf module times.
    steps : int
        Profiled training steps.
    steps_per_epoch : float
        Training steps in one epoch (scales per-step numbers to per-epoch).
    window_power_w : float
        Average power of the profiled training window [W].
    forward_time_per_step_s : float
        Forward time per step from the trainer's phase events [s].
    hook_overhead_fraction : float
        (time with hooks − time without) / time without, for the same steps.
    window_measurement : Measurement or None
        The meter's measurement of the profiled window (None without a meter).
    """

    by_type: pd.DataFrame
    by_layer: pd.DataFrame
    steps: int
    steps_per_epoch: float
    window_power_w: float
    window_energy_j: float
    window_duration_s: float
    forward_time_per_step_s: float
    unhooked_time_per_step_s: float
    hook_overhead_fraction: float
    window_measurement: Measurement | None = None


def profile_layers(trainer: Trainer, steps: int, steps_per_epoch: float, replay_window_s: float | None = 3.0,
                   epoch: int = 0) -> LayerProfile:
    """Profile the forward pass of ``trainer.model`` per layer type while it trains.

    Parameters
    ----------
    trainer : Trainer
        With a meter for energies (without one, energies are NaN).
    steps : int
        Training steps profiled (the thesis used whole epochs; pass
        ``steps_per_epoch`` for one full epoch).
    steps_per_epoch : float
        Training steps in one epoch (n_train / batch size).
    replay_window_s : float or None
        Length [s] of each per-layer-type replay window; None skips the measured energy.
    """
    model, device = trainer.model, trainer.device
    model.train()
    # hook overhead: the same number of steps without and with hooks, timed (no meter)
    overhead_steps = max(5, min(steps, 50))
    plain_s = trainer.time_steps(overhead_steps, epoch=epoch)
    with LayerHooks(model, device):
        hooked_s = trainer.time_steps(overhead_steps, epoch=epoch)
    overhead = (hooked_s - plain_s) / plain_s if plain_s > 0 else math.nan

    it = cycle_batches(trainer.train_batches, start_epoch=epoch)
    timer = StepTimer(device)
    with LayerHooks(model, device) as hooks, precision_mode(trainer.precision, device) as autocast:
        with trainer.window("layer-profile") as w:
            for _ in range(steps):
                trainer.step(it, timer, autocast)
        by_layer = hooks.resolve()
    phase_s = timer.resolve()
    energy_j, duration_s = w.energy_j, w.duration_s
    power_w = energy_j / duration_s if duration_s > 0 else math.nan
    forward_per_step = phase_s["forward"] / steps

    by_layer["time_per_step_s"] = by_layer["time_s"] / steps
    by_layer["time_per_epoch_s"] = by_layer["time_per_step_s"] * steps_per_epoch
    grouped = by_layer.groupby("layer_type", sort=False).agg(
        modules=("layer", "count"), params=("params", "sum"), calls_per_step=("calls", "sum"),
        time_per_step_s=("time_per_step_s", "sum"))
    grouped["calls_per_step"] = grouped["calls_per_step"] / steps
    by_type = grouped.reindex([t for t in LAYER_TYPES if t in grouped.index]).reset_index()
    hooked_total = by_type["time_per_step_s"].sum()
    by_type["time_per_epoch_s"] = by_type["time_per_step_s"] * steps_per_epoch
    by_type["share_of_forward"] = by_type["time_per_step_s"] / hooked_total if hooked_total > 0 else math.nan
    by_type["energy_thesis_per_epoch_j"] = power_w * by_type["time_per_epoch_s"]
    profile = LayerProfile(by_type=by_type, by_layer=by_layer, steps=steps, steps_per_epoch=steps_per_epoch,
                           window_power_w=power_w, window_energy_j=energy_j, window_duration_s=duration_s,
                           forward_time_per_step_s=forward_per_step,
                           unhooked_time_per_step_s=forward_per_step - hooked_total,
                           hook_overhead_fraction=overhead, window_measurement=w.measurement)
    if replay_window_s is not None:
        x, _ = next(cycle_batches(trainer.train_batches, start_epoch=epoch))
        replay = replay_layer_types(model, x, trainer.meter, device, window_s=replay_window_s,
                                    precision=trainer.precision)
        profile.by_type = by_type.merge(replay, on="layer_type", how="left")
        profile.by_type["energy_measured_per_epoch_j"] = (profile.by_type["replay_energy_per_step_j"]
                                                          * steps_per_epoch)
    return profile


def capture_layer_inputs(model: nn.Module, x: torch.Tensor) -> list[tuple[str, nn.Module, tuple]]:
    """Run one forward pass on ``x`` and keep each leaf module's (detached, cloned) inputs."""
    captured: list[tuple[str, nn.Module, tuple]] = []
    handles = []
    for name, module in leaf_modules(model):
        def hook(mod, args, _name=name):
            captured.append((_name, mod, tuple(a.detach().clone() if torch.is_tensor(a) else a for a in args)))
        handles.append(module.register_forward_pre_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return captured


def replay_layer_types(model: nn.Module, x: torch.Tensor, meter, device, window_s: float = 3.0,
                       precision: str = "default") -> pd.DataFrame:
    """Replay every layer type's forward work in isolation inside one meter window each.

    Returns
    -------
    pandas.DataFrame
        Per layer type: ``replay_passes`` (forward passes of that type replayed),
        ``replay_time_per_step_s`` [s per forward pass], ``replay_energy_per_step_j``
        [J per forward pass], ``replay_power_w`` [W], ``replay_counter_updates``,
        ``replay_uncertainty_j``.
    """
    captured = capture_layer_inputs(model, x)
    rows = []
    inplace_saved = {id(m): m.inplace for _, m, _ in captured if hasattr(m, "inplace")}
    try:
        for _, m, _ in captured:
            if hasattr(m, "inplace"):
                m.inplace = False
        with torch.no_grad(), precision_mode(precision, device) as autocast:
            for ltype in LAYER_TYPES:
                calls = [(m, args) for _, m, args in captured if layer_type(m) == ltype]
                if not calls:
                    continue

                def one_pass(calls=calls):
                    for m, args in calls:
                        m(*args)

                with autocast():
                    for _ in range(3):
                        one_pass()
                    synchronize(device)
                    start = time.perf_counter()
                    for _ in range(10):
                        one_pass()
                    synchronize(device)
                    pass_s = (time.perf_counter() - start) / 10
                    passes = steps_for_duration(pass_s, window_s, min_steps=10)
                    key = f"replay-{ltype}-{id(model)}-{time.perf_counter_ns()}"
                    with measured_window(meter, key, sync=functools.partial(synchronize, device)) as w:
                        start = time.perf_counter()
                        chunk, passes = passes, 0
                        while True:  # the calibration may be off: run on until the window is long enough
                            for _ in range(chunk):
                                one_pass()
                            synchronize(device)
                            passes += chunk
                            elapsed = time.perf_counter() - start
                            if elapsed >= window_s:
                                break
                            chunk = steps_for_duration(elapsed / passes, window_s - elapsed, min_steps=1)
                duration = w.wall_s
                rows.append({
                    "layer_type": ltype, "replay_passes": passes, "replay_duration_s": duration,
                    "replay_time_per_step_s": duration / passes, "replay_energy_per_step_j": w.energy_j / passes,
                    # power over the meter's own window (its edges are the energy's edges)
                    "replay_power_w": w.measurement.power_w if w.measurement is not None else math.nan,
                    "replay_counter_updates": w.counter_updates,
                    "replay_uncertainty_j": w.uncertainty_j,
                })
    finally:
        for _, m, _ in captured:
            if id(m) in inplace_saved:
                m.inplace = inplace_saved[id(m)]
    return pd.DataFrame(rows)
