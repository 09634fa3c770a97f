"""What the energy meter returns: the measurement of a window, its future, its flat row, and the errors.

Energies in J, powers in W, times in s (see ``docs/energy.md`` for the methods).
"""

from __future__ import annotations

import concurrent.futures
import math
from dataclasses import dataclass, field

#: Every method the meter knows, in the order they are reported.
METHODS: tuple[str, ...] = ("counter", "sampled", "smi", "tdp")


class GpuEnergyUnavailable(RuntimeError):
    """GPU energy was asked for but cannot be measured here; the message says why."""


class WindowError(ValueError):
    """A window key was opened twice, or closed without being opened."""


class EdgeTimeoutError(RuntimeError):
    """The GPU did not reach a window edge's event in time (hung kernel, CUDA error)."""


@dataclass
class Measurement:
    """What the meter measured over one window.

    Attributes
    ----------
    key : str
        The window's name.
    begin_unix_s : float
        Wall-clock time of the window's start [s since the epoch].
    duration_s : float
        Window length [s], from a monotonic clock.
    method : str
        The primary method (whose energy is ``energy_j``), or ``"none"`` when only
        time was measured.
    gpu_energy_j : dict[int, float]
        Energy of each metered GPU by the primary method [J]; keys are NVML indices.
    energy_by_method : dict[str, float]
        Total GPU energy by every method that was run [J].
    gpu_energy_by_method : dict[str, dict[int, float]]
        Energy per method and GPU [J].
    idle_power_by_gpu_w : dict[int, float]
        Idle power subtracted for each GPU [W] (empty when no baseline was taken).
    idle_kind : str
        Which idle was measured (with or without a CUDA context in this process).
    counter_updates : int or None
        Smallest number of energy-counter updates seen inside the window over the
        metered GPUs; ``None`` when the counter was not polled.
    counter_updates_by_gpu : dict[int, int]
        Counter updates per GPU.
    uncertainty_j : float
        Bound on the error of ``energy_j`` from the counter's resolution: one
        counter step at each edge, summed over GPUs [J]. NaN for methods whose
        error cannot be bounded this way (sampled, smi, tdp).
    cpu_energy_j : float
        CPU package energy over the window from RAPL [J]; NaN when unreadable.
    cpu_energy_note : str
        Why ``cpu_energy_j`` is NaN (empty otherwise).
    edges : dict[str, dict[int, dict[str, float]]]
        ``{"begin"|"end": {gpu: {"temperature_c", "sm_clock_mhz", "power_limit_w"}}}``.
    warnings : list[str]
        Everything that makes the numbers less trustworthy.
    """

    key: str
    begin_unix_s: float
    duration_s: float
    method: str
    gpu_energy_j: dict[int, float] = field(default_factory=dict)
    energy_by_method: dict[str, float] = field(default_factory=dict)
    gpu_energy_by_method: dict[str, dict[int, float]] = field(default_factory=dict)
    idle_power_by_gpu_w: dict[int, float] = field(default_factory=dict)
    idle_kind: str = ""
    counter_updates: int | None = None
    counter_updates_by_gpu: dict[int, int] = field(default_factory=dict)
    uncertainty_j: float = math.nan
    cpu_energy_j: float = math.nan
    cpu_energy_note: str = ""
    edges: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def energy_j(self) -> float:
        """Total GPU energy by the primary method [J]; NaN if unavailable."""
        if not self.gpu_energy_j:
            return math.nan
        return float(sum(self.gpu_energy_j.values()))

    @property
    def power_w(self) -> float:
        """Average total GPU power over the window [W]; NaN if unavailable."""
        if not self.duration_s > 0:
            return math.nan
        return self.energy_j / self.duration_s

    @property
    def idle_power_w(self) -> float:
        """Total idle power of the metered GPUs [W]; NaN without a baseline."""
        if not self.idle_power_by_gpu_w or set(self.idle_power_by_gpu_w) != set(self.gpu_energy_j):
            return math.nan
        return float(sum(self.idle_power_by_gpu_w.values()))

    @property
    def energy_above_idle_j(self) -> float:
        """``energy_j − idle_power_w × duration_s`` [J]; NaN without a baseline."""
        return self.energy_j - self.idle_power_w * self.duration_s


def measurement_row(m: Measurement) -> dict:
    """The one flat row of a measurement (energies in J, powers in W, times in s).

    Keys: ``window``, ``begin_unix_s``, ``duration_s``, ``method``, ``energy_j``,
    ``power_w``, ``energy_above_idle_j``, ``idle_power_w``, ``idle_kind``,
    ``counter_updates`` (NaN when not polled), ``uncertainty_j``, ``cpu_energy_j``,
    ``energy_<method>_j`` for every method in :data:`METHODS` (NaN when not run),
    ``gpu<i>_energy_j`` per metered GPU, ``gpu<i>_<begin|end>_<temperature_c|
    sm_clock_mhz|power_limit_w>`` per GPU and edge, and ``warnings`` (joined by ``"; "``).
    """
    row = {
        "window": m.key,
        "begin_unix_s": m.begin_unix_s,
        "duration_s": m.duration_s,
        "method": m.method,
        "energy_j": m.energy_j,
        "power_w": m.power_w,
        "energy_above_idle_j": m.energy_above_idle_j,
        "idle_power_w": m.idle_power_w,
        "idle_kind": m.idle_kind,
        "counter_updates": m.counter_updates if m.counter_updates is not None else math.nan,
        "uncertainty_j": m.uncertainty_j,
        "cpu_energy_j": m.cpu_energy_j,
    }
    for method in METHODS:
        row[f"energy_{method}_j"] = m.energy_by_method.get(method, math.nan)
    for gpu, energy in sorted(m.gpu_energy_j.items()):
        row[f"gpu{gpu}_energy_j"] = energy
    for edge, per_gpu in m.edges.items():
        for gpu, state in sorted(per_gpu.items()):
            for name, value in state.items():
                row[f"gpu{gpu}_{edge}_{name}"] = value
    row["warnings"] = "; ".join(str(w) for w in m.warnings)
    return row


class PendingMeasurement:
    """The future :class:`Measurement` of a window whose end edge is non-blocking.

    ``done()`` tells whether it has arrived; ``result(timeout)`` waits for it
    (raising :class:`EdgeTimeoutError` if the GPU never reached an edge, or
    ``TimeoutError`` if ``timeout`` [s] passes first). Like a
    :class:`concurrent.futures.Future`, whose ``add_done_callback`` it also has
    (the callback runs on the meter's edge thread).
    """

    def __init__(self, key: str):
        self.key = key
        self._future: concurrent.futures.Future = concurrent.futures.Future()

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Measurement:
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def add_done_callback(self, fn) -> None:
        self._future.add_done_callback(lambda _f: fn(self))

    def set_result(self, measurement: Measurement) -> None:
        """Deliver the measurement (the meter calls it)."""
        self._future.set_result(measurement)

    def set_exception(self, exc: BaseException) -> None:
        """Deliver the failure (the meter calls it)."""
        self._future.set_exception(exc)

    def __repr__(self) -> str:
        return f"PendingMeasurement({self.key!r}, done={self.done()})"


@dataclass
class Window:
    """One window measured by :meth:`greenai.energy.meter.EnergyMeter.window` (or without a meter).

    Attributes
    ----------
    key : str
        The window's key.
    measurement : Measurement or None
        What the meter measured, set when the block ends (None without a meter).
    wall_s : float
        Time from opening to closing the window [s].
    duration_s : float
        The meter's own window length [s] (the edges its energy refers to), else ``wall_s``.
    """

    key: str
    measurement: Measurement | None = None
    wall_s: float = math.nan
    duration_s: float = math.nan

    @property
    def energy_j(self) -> float:
        """Energy of the window [J] (NaN without a meter)."""
        return self.measurement.energy_j if self.measurement is not None else math.nan

    @property
    def counter_updates(self) -> float:
        """Counter updates inside the window (NaN without a counter)."""
        m = self.measurement
        return float(m.counter_updates) if m is not None and m.counter_updates is not None else math.nan

    @property
    def uncertainty_j(self) -> float:
        """The counter's resolution bound on ``energy_j`` [J] (NaN without one)."""
        return self.measurement.uncertainty_j if self.measurement is not None else math.nan


def window_duration(measurement: Measurement | None, fallback_s: float) -> float:
    """The meter's window length [s] (the edges its energy refers to), else ``fallback_s``."""
    d = measurement.duration_s if measurement is not None else math.nan
    return d if math.isfinite(d) and d > 0 else fallback_s
