"""How long a cell is expected to run, from what its :class:`~greenai.experiments.grids.RunSpec` says.

:func:`cell_cost_s` estimates a cell's duration [s]; :func:`longest_first` orders
cells by it, longest first, so that an executor spreading cells over several
GPUs starts the long ones early and ends on short ones (no GPU idles through a
long tail). The estimate only orders cells: its absolute value is rough.

The model: a training step lasts ``STEP_OVERHEAD_S + 3 × MACs × batch / MAC_RATE``
(forward plus backward ≈ three forward passes; a fixed cost per step for kernel
launches and the optimiser), with the two constants fitted to the recorded
``results/raw/kpi_*.csv`` rows (step time = ``duration_s / steps``). Precision
and the GPU kind are not modelled. The fit and its errors: ``docs/campaign.md``
("Longest first").
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

from greenai.experiments.grids import RunSpec

#: fixed time per training step [s] (launches, optimiser, small layers); fit, see the module docstring
STEP_OVERHEAD_S = 0.04
#: multiply-accumulates per second a training step achieves on its MACs [MAC/s]; fit, see the module docstring
MAC_RATE = 2.6e13
#: per cell: model build, copy of the data to the device, MAC count [s] (nominal)
CELL_SETUP_S = 1.0
#: MACs per sample assumed when the counter (thop) is missing [MAC] (nominal; orders cells by steps alone)
FALLBACK_MACS = 1e9
#: the fewest steps of a window sized by ``window_s`` (:func:`greenai.train.steps_for_duration`'s default)
MIN_WINDOW_STEPS = 5
#: windows of one design repeat of a ``phases`` cell (``greenai.train.DESIGN_WINDOWS``: h2d, forward, backward,
#: optimizer); each at most a full step long
DESIGN_WINDOW_COUNT = 4


@functools.lru_cache(maxsize=None)
def _macs_per_sample(model: str, dataset: str, image_size: int) -> float:
    """MACs of one forward pass of one sample [MAC], as every row records them (cached per process)."""
    from greenai.data import DATASETS  # heavy: numpy
    from greenai.experiments.environment import model_macs  # heavy: torch

    ds = DATASETS[dataset]
    try:
        macs, _ = model_macs(model, int(ds.channels), int(ds.num_classes), int(image_size))
    except Exception:  # noqa: BLE001 - an estimate: a model the counter cannot trace still gets a place
        macs = math.nan
    return float(macs) if math.isfinite(macs) and macs > 0 else FALLBACK_MACS


def step_s(spec: RunSpec, batch_size: int | None = None) -> float:
    """Expected duration of one training step of ``spec`` [s] (``batch_size``: another batch than the spec's)."""
    batch = spec.batch_size if batch_size is None else batch_size
    return STEP_OVERHEAD_S + 3.0 * _macs_per_sample(spec.model, spec.dataset, spec.image_size) * batch / MAC_RATE


def cell_cost_s(spec: RunSpec) -> float:
    """Expected wall time of one cell (one spec run from scratch on one GPU) [s].

    Approximates model setup plus the training steps the cell runs: its warm-up
    steps, then per measured epoch or window a full epoch (``ceil(samples / batch)``
    steps, ``limit`` applied), ``max_steps`` steps, or ``window_s`` seconds (at
    least :data:`MIN_WINDOW_STEPS` steps); test passes when it evaluates. A
    ``phases`` cell runs :data:`DESIGN_WINDOW_COUNT` windows per design repeat, a
    ``layers`` cell its profiled steps twice (hooked and not); the layers'
    replay windows (a runner setting, not the spec's) are not counted. Each step
    lasts :func:`step_s`. Only the order of cells is meant to be right.
    """
    from greenai.data import DATASETS  # heavy: numpy

    one = step_s(spec)
    warmup_s = spec.warmup_steps * one
    ds = DATASETS[spec.dataset]
    n_train = ds.n_train if spec.limit is None else min(ds.n_train, int(spec.limit))

    def window_s() -> float:
        if spec.max_steps is not None:
            return spec.max_steps * one
        if spec.window_s is not None:
            return max(float(spec.window_s), MIN_WINDOW_STEPS * one)
        return math.ceil(n_train / spec.batch_size) * one

    if spec.kind == "phases":
        return CELL_SETUP_S + warmup_s + spec.epochs * DESIGN_WINDOW_COUNT * window_s()
    if spec.kind == "layers":
        return CELL_SETUP_S + max(spec.warmup_steps, 2) * one + 2 * window_s()
    cost = CELL_SETUP_S + warmup_s + spec.epochs * window_s()
    if spec.evaluate:
        n_test = ds.n_test if spec.limit is None else min(ds.n_test, int(spec.limit))
        test_batch = max(spec.batch_size, 256)
        # a test pass is a forward pass: a third of a training step's MACs
        test_step_s = STEP_OVERHEAD_S + (step_s(spec, test_batch) - STEP_OVERHEAD_S) / 3.0
        cost += spec.epochs * math.ceil(n_test / test_batch) * test_step_s
    return cost


def longest_first(specs: Sequence[RunSpec], cost: Callable[[RunSpec], float] = cell_cost_s) -> list[RunSpec]:
    """``specs`` ordered by ``cost`` (default :func:`cell_cost_s` [s]), longest first.

    The sort is stable: cells of equal cost (the repeats of one configuration)
    keep the order they were given in, so the order is the same at every run.
    A cost that is not a finite number sorts last.
    """
    def key(spec: RunSpec) -> float:
        c = float(cost(spec))
        return -c if math.isfinite(c) else math.inf

    return sorted(specs, key=key)
