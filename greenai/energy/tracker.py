"""``greenai.measure``: the GPU energy of a block or a function in one line, as a context manager or a decorator.

::

    with greenai.measure() as run:
        train()
    run.energy_j, run.duration_s, run.measurement

    @greenai.measure(log=print)
    def train(): ...

Each use opens a fresh :class:`~greenai.energy.meter.EnergyMeter` (``methods="auto"``: the energy counter where
the GPU has one; without a GPU, time only, and ``measurement.notes`` say why energy is NaN) around one window
(:meth:`~greenai.energy.meter.EnergyMeter.window`), and closes it after.
"""

from __future__ import annotations

import contextlib
import math
from typing import Callable, Sequence

from greenai.energy.meter import EnergyMeter, measured_window
from greenai.energy.results import Measurement


class measure(contextlib.ContextDecorator):
    """Measure one window of work: ``with measure(): ...`` or ``@measure()``.

    Parameters
    ----------
    key : str
        The window's name (in the measurement and the log line).
    gpu_indices : sequence of int, optional
        NVML indices of the GPUs to meter (default: every GPU NVML sees).
    methods : str or sequence of str
        The meter's methods (default ``"auto"``; see :class:`~greenai.energy.meter.EnergyMeter`).
    sync : callable, optional
        Called before the window opens and before it closes, to wait for queued device work
        (e.g. ``torch.cuda.synchronize``); the meter's edges already synchronise the metered GPUs.
    log : callable, optional
        Called with a one-line summary after each window (e.g. ``print``).

    Attributes
    ----------
    measurement : Measurement or None
        The last window's measurement (None before the first window ends).
    """

    def __init__(self, key: str = "measure", gpu_indices: Sequence[int] | None = None,
                 methods: Sequence[str] | str = "auto", sync: Callable[[], None] | None = None,
                 log: Callable[[str], None] | None = None, **meter_kwargs):
        self.key = key
        self.meter_kwargs = dict(gpu_indices=gpu_indices, methods=methods, **meter_kwargs)
        self.sync = sync
        self.log = log
        self.measurement: Measurement | None = None
        self.notes: list[str] = []
        self._stack: contextlib.ExitStack | None = None

    @property
    def energy_j(self) -> float:
        """GPU energy of the last window [J] (NaN before it ends, or without an energy source)."""
        return self.measurement.energy_j if self.measurement is not None else math.nan

    @property
    def duration_s(self) -> float:
        """Duration of the last window [s] (NaN before it ends)."""
        return self.measurement.duration_s if self.measurement is not None else math.nan

    def __enter__(self) -> "measure":
        if self._stack is not None:
            raise RuntimeError("this greenai.measure is already measuring a window (it does not nest)")
        stack = contextlib.ExitStack()
        meter = stack.enter_context(EnergyMeter(**self.meter_kwargs))
        self.notes = list(meter.notes)
        self._window = stack.enter_context(measured_window(meter, self.key, self.sync))
        self._stack = stack
        return self

    def __exit__(self, *exc) -> bool:
        stack, self._stack = self._stack, None
        try:
            return bool(stack.__exit__(*exc))
        finally:
            self.measurement = self._window.measurement
            if self.log is not None and self.measurement is not None:
                self.log(summary(self.measurement, self.notes))


def summary(m: Measurement, notes: Sequence[str] = ()) -> str:
    """One line: the window's key, duration [s], GPU energy [J] and average power [W] by its method, or why not."""
    if math.isfinite(m.energy_j):
        return (f"{m.key}: {m.duration_s:.3f} s, {m.energy_j:.1f} J ({m.energy_j / 3600.0:.4f} Wh), "
                f"{m.power_w:.1f} W average ({m.method})")
    why = "; ".join(notes) or "GPU energy unavailable"
    return f"{m.key}: {m.duration_s:.3f} s; {why}"
