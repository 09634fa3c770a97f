"""The framework-independent part of the training callbacks.

:class:`EnergyLog` keeps an :class:`~greenai.energy.EnergyMeter` and its
windows: one per epoch and, with ``every_n_steps``, one every N training steps
(back to back: each ends at the edge that begins the next, so that the step
windows of a run add up to all its training time). Edges are non-blocking by
default (``block=False``): each costs one CUDA event record on the training
thread, and a window's :class:`~greenai.energy.Measurement` arrives when the
GPU reaches its end. The callbacks collect the arrived ones at every step
(:meth:`EnergyLog.ready`) and all of them at the end of training
(:meth:`EnergyLog.finish`).

A window contains everything the process queued on the current CUDA stream
between its edges: for step windows that includes validation run between
those steps; for epoch windows, whatever the framework runs between its
epoch-start and epoch-end hooks.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

from greenai.energy.meter import EnergyMeter
from greenai.energy.results import Measurement, PendingMeasurement, measurement_row
from greenai.experiments.store import RowStore

log = logging.getLogger("greenai")

#: Columns of the CSV the callbacks write, one row per window (energies J, times s, powers W).
COLUMNS: tuple[str, ...] = (
    "framework", "run", "scope", "window", "epoch", "step_begin", "step_end",
    "begin_unix_s", "duration_s", "method", "energy_j", "uncertainty_j", "power_w",
    "counter_updates", "cpu_energy_j", "edges", "warnings",
)


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append ``rows`` (keys: :data:`COLUMNS`) to the CSV ``path``.

    The one place the callbacks write rows: it goes through the package's
    row-append helper (header check, flushed and fsynced appends).
    """
    with RowStore(path, COLUMNS) as store:
        store.append(rows)


@dataclass
class _Window:
    scope: str  # "epoch" or "steps"
    key: str
    epoch: int
    step_begin: int
    step_end: int | None = None
    result: Measurement | PendingMeasurement | None = None


class EnergyLog:
    """Epoch and every-N-steps energy windows of one training run.

    Parameters
    ----------
    framework : str
        Written to the ``framework`` column.
    csv_path : path, optional
        CSV to append one row per window to (created with a header if new).
    every_n_steps : int, optional
        Also measure a window every this many training steps.
    block : bool
        Blocking edges (``torch.cuda.synchronize`` at each) instead of CUDA events.
    meter : EnergyMeter, optional
        Use this meter (and leave it open); default a new ``EnergyMeter()`` (``methods="auto"``)
        opened at the start of training and closed at its end.
    run : str, optional
        Written to the ``run`` column (default: the start time, ``%Y%m%dT%H%M%S``).
    """

    def __init__(self, framework: str, csv_path=None, every_n_steps: int | None = None, block: bool = False,
                 meter: EnergyMeter | None = None, run: str | None = None, meter_kwargs: dict | None = None):
        if every_n_steps is not None and (not isinstance(every_n_steps, int) or every_n_steps < 1):
            raise ValueError(f"every_n_steps must be a positive integer or None, got {every_n_steps!r}")
        self.framework = framework
        self.csv_path = Path(csv_path) if csv_path is not None else None
        self.every_n_steps = every_n_steps
        self.block = bool(block)
        self.meter = meter
        self._own_meter = meter is None
        self.meter_kwargs = dict(meter_kwargs or {})
        self.run = run
        self._epoch: _Window | None = None
        self._steps: _Window | None = None
        self._steps_seen = 0
        self._n_windows = 0
        self._pending: list[_Window] = []
        self._warned: set[str] = set()
        self.rows: list[dict] = []  # every row written, in order
        self.energy_j_total = 0.0  # [J] every window of scope "epoch" so far, across resumed runs
        self.duration_s_total = 0.0  # [s] the same windows' duration

    # -- hooks the callbacks call ----------------------------------------
    def start(self) -> None:
        """Open the meter (once per run)."""
        if self.run is None:
            self.run = time.strftime("%Y%m%dT%H%M%S")
        if self.meter is None:
            self.meter = EnergyMeter(**self.meter_kwargs)
            self._own_meter = True
        for note in self.meter.notes:
            self._warn_once(note)

    def epoch_begin(self, epoch: int, step: int) -> None:
        edge = self.meter.edge(block=self.block)
        if self._epoch is not None:  # an epoch that never ended (e.g. interrupted): close it here
            self._end(self._epoch, edge, step)
        self._epoch = self._begin("epoch", epoch, step, edge)
        if self.every_n_steps and self._steps is None:
            self._steps = self._begin("steps", epoch, step, edge)

    def step_end(self, epoch: int, step: int) -> None:
        self._steps_seen += 1
        if not self.every_n_steps or self._steps_seen % self.every_n_steps:
            return
        edge = self.meter.edge(block=self.block)
        if self._steps is not None:
            self._end(self._steps, edge, step)
        self._steps = self._begin("steps", epoch, step, edge)

    def epoch_end(self, epoch: int, step: int) -> None:
        if self._epoch is None:
            return
        edge = self.meter.edge(block=self.block)
        self._end(self._epoch, edge, step)
        self._epoch = None

    def ready(self) -> list[tuple[_Window, Measurement]]:
        """Windows whose measurement has arrived, in the order they ended; their rows are written."""
        done = []
        while self._pending and _is_done(self._pending[0].result):
            done.append(self._pending.pop(0))
        return self._emit(done)

    def finish(self, step: int, timeout_s: float | None = None) -> list[tuple[_Window, Measurement]]:
        """End the open windows, wait for every measurement, write their rows, close an owned meter."""
        try:
            if self._steps is not None and self._steps.step_begin == step:  # begun at the last step: empty
                self.meter.cancel_window(self._steps.key)
                self._steps = None
            if self.meter is not None and (self._epoch is not None or self._steps is not None):
                edge = self.meter.edge(block=self.block)
                for window in (self._epoch, self._steps):
                    if window is not None:
                        self._end(window, edge, step)
                self._epoch = self._steps = None
            done, self._pending = self._pending, []
            for w in done:
                if isinstance(w.result, PendingMeasurement):
                    try:
                        w.result.exception(timeout=timeout_s)  # waits; the error is reported by _emit
                    except TimeoutError:
                        self._warn_once(f"energy window {w.key} did not arrive within {timeout_s} s")
            return self._emit([w for w in done if _is_done(w.result)])
        finally:
            self.close()

    def close(self) -> None:
        if self._own_meter and self.meter is not None:
            self.meter.close()

    # -- checkpoints ---------------------------------------------------------
    def state_dict(self) -> dict:
        """What a resumed run needs to go on counting: the run name, the window and step counters, and the
        epoch windows' energy [J] and duration [s] so far (NaN energies count as 0 J)."""
        return {"run": self.run, "n_windows": self._n_windows, "steps_seen": self._steps_seen,
                "energy_j_total": self.energy_j_total, "duration_s_total": self.duration_s_total}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`'s counters (before the resumed run starts)."""
        self.run = state.get("run", self.run)
        self._n_windows = int(state.get("n_windows", 0))
        self._steps_seen = int(state.get("steps_seen", 0))
        self.energy_j_total = float(state.get("energy_j_total", 0.0))
        self.duration_s_total = float(state.get("duration_s_total", 0.0))

    # -- internals ----------------------------------------------------------
    def _begin(self, scope: str, epoch: int, step: int, edge) -> _Window:
        window = _Window(scope, f"{scope}-{self._n_windows}", int(epoch), int(step))
        self._n_windows += 1
        self.meter.begin_window(window.key, at=edge)
        return window

    def _end(self, window: _Window, edge, step: int) -> None:
        window.step_end = int(step)
        window.result = self.meter.end_window(window.key, at=edge)
        self._pending.append(window)

    def _emit(self, windows: list[_Window]) -> list[tuple[_Window, Measurement]]:
        out, rows = [], []
        for w in windows:
            m = w.result
            if isinstance(m, PendingMeasurement):
                error = m.exception(timeout=0)
                if error is not None:  # e.g. EdgeTimeoutError: nothing to write
                    self._warn_once(f"energy window {w.key} failed: {error}")
                    continue
                m = m.result()
            out.append((w, m))
            rows.append(self._row(w, m))
            if w.scope == "epoch":
                self.energy_j_total += m.energy_j if math.isfinite(m.energy_j) else 0.0
                self.duration_s_total += m.duration_s
            for warning in m.warnings:
                if not warning.startswith("window of "):  # short windows are expected for step windows
                    self._warn_once(warning)
        if rows:
            self.rows.extend(rows)
            if self.csv_path is not None:
                append_rows(self.csv_path, rows)
        return out

    def _row(self, w: _Window, m: Measurement) -> dict:
        flat = measurement_row(m)
        row = {c: flat[c] for c in COLUMNS if c in flat}
        row.update({"framework": self.framework, "run": self.run, "scope": w.scope, "window": w.key,
                    "epoch": w.epoch, "step_begin": w.step_begin, "step_end": w.step_end,
                    "edges": "blocking" if self.block else "cuda_event"})
        return row

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            log.warning("greenai energy: %s", message)


def metrics(window: _Window, m: Measurement, prefix: str = "energy") -> dict[str, float]:
    """The numbers a framework logger gets for one window: ``{prefix}/{scope}_{name}``."""
    base = f"{prefix}/{window.scope}"
    return {
        f"{base}_j": m.energy_j,
        f"{base}_uncertainty_j": m.uncertainty_j,
        f"{base}_duration_s": m.duration_s,
        f"{base}_power_w": m.power_w,
    }


def _is_done(result) -> bool:
    return not isinstance(result, PendingMeasurement) or result.done()
