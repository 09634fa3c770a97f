"""GPU energy of named windows of work, measured several ways at once.

:class:`EnergyMeter` opens named windows (``begin_window``/``end_window`` or
the ``window`` context manager) over one or more GPUs and returns a
:class:`Measurement` per window. Methods, usable together on the *same* window
so that they can be compared on identical work:

``counter``
    NVML's cumulative energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
    mJ), read at both edges. Unbiased; it advances about every 100 ms on an
    H100, so a window is uncertain by about one counter step at each edge.
    The default wherever the GPU has the counter (Volta and newer).
``sampled``
    NVML power polled in a background thread every ``sample_period_s``
    (default 10 ms) and integrated over time (trapezoids). NVML power on
    A100/H100 is a lagging average that covers only part of the time, so this
    is biased (≈ −9 % under a matrix-multiply load on an H100).
``smi``
    The thesis' method (section 2.2): power read once a second, as
    ``nvidia-smi`` logs it, averaged over the window and multiplied by its
    duration.
``tdp``
    Rated power × duration, as CodeCarbon estimates GPU energy; the rated
    power is NVML's default power limit unless ``tdp_w`` is given.

``methods="auto"`` picks ``counter`` where every metered GPU has it, else
``sampled`` (with a warning), else measures time only: energies are NaN and
every measurement carries a warning. Energy is never reported as a silent zero.
Asking explicitly for a GPU method where there is no GPU/NVML raises
:class:`GpuEnergyUnavailable` naming the cause.

CPU package energy from RAPL is added to every window where readable
(:mod:`greenai.rapl`); elsewhere it is NaN and the note says why.

Synchronisation: CUDA work is asynchronous. A window edge is one of two kinds.

Blocking edges (the default, ``block=True``)
    When torch has initialised CUDA in this process, the edge calls
    ``torch.cuda.synchronize`` on each metered device and then reads the
    energy counter and the clock on the calling thread, so a window contains
    exactly the GPU work queued before its end edge and after its begin edge.
    Work launched by other means (CuPy, other processes) must be synchronised
    by the caller before ``end_window``. Cost: the synchronisation drains the
    GPU's queue, so the GPU idles while the CPU refills it (≈3 % of AlexNet
    throughput on an H200 for a window every 20 steps), plus the NVML reads
    (≈2.5 ms for the counter on an H100) on the calling thread.
Non-blocking edges (``block=False``)
    The edge records one CUDA event on the current stream of each metered
    device (or on the ``streams`` named) and returns at once. A background
    thread of the meter waits for the events (it polls ``event.query()`` every
    :data:`EDGE_POLL_PERIOD_S`) and reads the energy counter and the clock the
    moment the GPU has reached them. The window therefore contains the work
    queued on the recorded streams before its end edge and not before its
    begin edge (plus whatever other streams that work waits on); work on other
    streams (side streams, NCCL's) is inside only if those streams are named.
    Cost on the training thread: one event record per stream and some
    bookkeeping (≈7 µs per ``end_window(..., begin_next=...)`` on a CPU,
    event record not counted); the GPU is never drained. While an edge is
    pending, the edge thread takes the GIL for a ``query()`` once per poll
    period, and it does the NVML reads (which release the GIL). The edge's time is when the thread saw the event
    complete: within about a millisecond, later by up to the interpreter's
    switch interval (5 ms) while the training thread holds the GIL. That shifts
    energy between neighbouring windows, never out of a run: back-to-back
    windows share one edge (``end_window(a, block=False, begin_next=b)`` or the
    same :class:`Edge` passed as ``at=``), so their energies add up to that of
    one window over all of them. ``end_window(..., block=False)`` returns a
    :class:`PendingMeasurement` (``done()``, ``result(timeout)``); an edge the
    GPU does not reach within ``edge_timeout_s`` of its record (a hung kernel,
    a CUDA error) fails its windows with :class:`EdgeTimeoutError` instead of
    hanging. Without CUDA work in this process (torch never initialised CUDA)
    a non-blocking edge has nothing to wait for and is read at once.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import math
import os
import sys
import threading
import time
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from greenai import nvml
from greenai.rapl import RaplReader

#: Every method the meter knows, in the order they are reported.
METHODS: tuple[str, ...] = ("counter", "sampled", "smi", "tdp")
#: Period of the thesis' ``nvidia-smi`` power log [s].
SMI_PERIOD_S: float = 1.0
#: Windows shorter than this get a warning: few counter updates [s].
SHORT_WINDOW_S: float = 2.0
#: Counter update period assumed until one has been observed [s] (H100, driver 580).
NOMINAL_COUNTER_PERIOD_S: float = 0.1
#: Default time the GPU has to reach a non-blocking edge after it is recorded [s].
EDGE_TIMEOUT_S: float = 120.0
#: How often the edge thread asks whether the GPU has reached a pending edge [s].
EDGE_POLL_PERIOD_S: float = 0.001


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

    def as_row(self) -> dict:
        """A flat dict for one CSV row (energies in J, powers in W, times in s)."""
        row = {
            "window": self.key,
            "begin_unix_s": self.begin_unix_s,
            "duration_s": self.duration_s,
            "method": self.method,
            "energy_j": self.energy_j,
            "power_w": self.power_w,
            "energy_above_idle_j": self.energy_above_idle_j,
            "idle_power_w": self.idle_power_w,
            "idle_kind": self.idle_kind,
            "counter_updates": self.counter_updates if self.counter_updates is not None else math.nan,
            "uncertainty_j": self.uncertainty_j,
            "cpu_energy_j": self.cpu_energy_j,
        }
        for method in METHODS:
            row[f"energy_{method}_j"] = self.energy_by_method.get(method, math.nan)
        for gpu, energy in sorted(self.gpu_energy_j.items()):
            row[f"gpu{gpu}_energy_j"] = energy
        for edge, per_gpu in self.edges.items():
            for gpu, state in sorted(per_gpu.items()):
                for name, value in state.items():
                    row[f"gpu{gpu}_{edge}_{name}"] = value
        row["warnings"] = "; ".join(self.warnings)
        return row


class WindowHandle:
    """Returned by :meth:`EnergyMeter.window`; ``measurement`` is set after the block."""

    def __init__(self, key: str):
        self.key = key
        self.measurement: Measurement | None = None


class Edge:
    """One instant of the GPU's timeline at which windows begin or end.

    Made by :meth:`EnergyMeter.edge`; pass the same edge as ``at=`` to end one
    window and begin the next so that they share it. A blocking edge is read
    when it is made; a non-blocking one when the GPU reaches its events.
    """

    def __init__(self, events: list, block: bool, timeout_s: float):
        self.events = list(events)
        self.block = bool(block)
        self.recorded_t = time.perf_counter()
        self.deadline_t = self.recorded_t + timeout_s
        self.snapshot: _Snapshot | None = None
        self.error: BaseException | None = None
        self._resolved = threading.Event()
        self._waiters: list[_PendingWindow] = []  # guarded by the meter's lock

    def done(self) -> bool:
        """Whether the edge has been read (or failed)."""
        return self._resolved.is_set()

    def wait(self, timeout: float | None = None) -> "_Snapshot":
        """The edge's reading; raises its error, or ``TimeoutError`` after ``timeout`` [s]."""
        if not self._resolved.wait(timeout):
            raise TimeoutError(f"the edge was not read within {timeout} s")
        if self.error is not None:
            raise self.error
        return self.snapshot


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

    def result(self, timeout: float | None = None) -> "Measurement":
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def add_done_callback(self, fn) -> None:
        self._future.add_done_callback(lambda _f: fn(self))

    def __repr__(self) -> str:
        return f"PendingMeasurement({self.key!r}, done={self.done()})"


@dataclass
class _PendingWindow:
    key: str
    begin: Edge
    end: Edge
    pending: PendingMeasurement
    claimed: bool = False


class _EdgeWaiter(threading.Thread):
    """Background thread: waits, in order, for the GPU to reach each non-blocking
    edge's events, then reads the edge (counter, clock, poller integrals)."""

    def __init__(self, meter: "EnergyMeter", poll_period_s: float):
        super().__init__(name="greenai-energy-edges", daemon=True)
        self.meter = meter
        self.poll_period_s = poll_period_s
        self.queue: collections.deque[Edge] = collections.deque()
        self.cond = threading.Condition()
        self.stopping = False

    def submit(self, edge: Edge) -> None:
        with self.cond:
            self.queue.append(edge)
            self.cond.notify_all()

    def run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.stopping:
                    self.cond.wait()
                if not self.queue:
                    return
                edge = self.queue[0]
            try:
                _wait_events(edge, self.poll_period_s)
                snapshot = self.meter._snapshot({})
                snapshot.edges = self.meter._edges()
            except BaseException as exc:  # reported through the edge's windows
                self.meter._resolve(edge, None, exc)
            else:
                self.meter._resolve(edge, snapshot, None)
            with self.cond:
                self.queue.popleft()
                self.cond.notify_all()

    def drain_and_stop(self) -> None:
        """Let every queued edge resolve (each does by its deadline), then stop."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.join()


def _wait_events(edge: Edge, poll_period_s: float) -> None:
    """Poll ``event.query()`` until each of ``edge``'s events completed; raise at its deadline."""
    for event in edge.events:
        while not event.query():
            now = time.perf_counter()
            if now >= edge.deadline_t:
                raise EdgeTimeoutError(
                    f"the GPU did not reach the window edge within {edge.deadline_t - edge.recorded_t:g} s "
                    "of its record (its CUDA event never completed: a kernel hung or the CUDA context "
                    "failed); the energy of the windows at this edge is unknown"
                )
            time.sleep(min(poll_period_s, edge.deadline_t - now))


@dataclass
class _GpuPollState:
    """Running integrals kept by the poller for one GPU (O(1) memory)."""

    sampled_j: float = 0.0
    last_power_t: float = math.nan
    last_power_w: float = math.nan
    smi_sum_w: float = 0.0
    smi_count: int = 0
    smi_last_w: float = math.nan
    counter_changes: int = 0
    counter_last_mj: int | None = None
    counter_first_change_t: float = math.nan
    counter_last_change_t: float = math.nan


@dataclass
class _Snapshot:
    t: float
    unix: float
    counter_mj: dict[int, int]
    poll: dict[int, dict]
    rapl: list[int] | None
    edges: dict[int, dict[str, float]]


class _Poller(threading.Thread):
    """Background thread: power at ``sample_period_s`` (sampled), power at 1 Hz
    (smi) and the energy counter at ``counter_poll_period_s`` (to count its
    updates). Keeps running integrals only, so memory does not grow."""

    def __init__(self, gpus, sample_period_s, counter_poll_period_s, sampled, smi, counter):
        super().__init__(name="greenai-energy-poller", daemon=True)
        self.gpus = gpus
        self.periods: dict[str, float] = {}
        if sampled:
            self.periods["sampled"] = sample_period_s
        if smi:
            self.periods["smi"] = SMI_PERIOD_S
        if counter and counter_poll_period_s:
            self.periods["counter"] = counter_poll_period_s
        self.state = {g.index: _GpuPollState() for g in gpus}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            due = {name: time.perf_counter() for name in self.periods}
            while True:
                now = time.perf_counter()
                for name, when in due.items():
                    if now >= when:
                        self._poll(name)
                        period = self.periods[name]
                        due[name] = when + period if when + period > now else now + period
                self.ready.set()
                if self.stop_event.wait(max(0.0, min(due.values()) - time.perf_counter())):
                    return
        except BaseException as exc:  # reported at the next window edge
            self.error = exc
            self.ready.set()

    def _poll(self, name: str) -> None:
        for gpu in self.gpus:
            if name == "counter":
                value = gpu.total_energy_mj()
                t = time.perf_counter()
                with self.lock:
                    s = self.state[gpu.index]
                    if s.counter_last_mj is not None and value != s.counter_last_mj:
                        s.counter_changes += 1
                        if math.isnan(s.counter_first_change_t):
                            s.counter_first_change_t = t
                        s.counter_last_change_t = t
                    s.counter_last_mj = value
                continue
            power_w = gpu.power_w()
            t = time.perf_counter()
            with self.lock:
                s = self.state[gpu.index]
                if name == "sampled":
                    if not math.isnan(s.last_power_t):
                        s.sampled_j += 0.5 * (s.last_power_w + power_w) * (t - s.last_power_t)
                    s.last_power_t, s.last_power_w = t, power_w
                else:  # smi
                    s.smi_sum_w += power_w
                    s.smi_count += 1
                    s.smi_last_w = power_w

    def snapshot(self, t: float) -> dict[int, dict]:
        """Integrals at time ``t`` (the last sampled power is held up to ``t``)."""
        with self.lock:
            out = {}
            for index, s in self.state.items():
                sampled = s.sampled_j
                if not math.isnan(s.last_power_t) and t > s.last_power_t:
                    sampled += s.last_power_w * (t - s.last_power_t)
                out[index] = {
                    "sampled_j": sampled,
                    "smi_sum_w": s.smi_sum_w,
                    "smi_count": s.smi_count,
                    "smi_last_w": s.smi_last_w,
                    "counter_changes": s.counter_changes,
                    "counter_period_s": (
                        (s.counter_last_change_t - s.counter_first_change_t) / (s.counter_changes - 1)
                        if s.counter_changes >= 2
                        else math.nan
                    ),
                }
            return out

    def stop(self) -> None:
        self.stop_event.set()


class EnergyMeter:
    """Measure GPU energy (and CPU package energy) over named windows.

    Parameters
    ----------
    gpu_indices : sequence of int, optional
        NVML indices of the GPUs to meter; default every GPU NVML sees.
    methods : sequence of str or "auto"
        Any of ``"counter"``, ``"sampled"``, ``"smi"``, ``"tdp"``; the first is
        the primary method reported as ``energy_j``. ``"auto"``: ``counter`` where
        supported, else ``sampled``, else time only (NaN energy, warning).
    sample_period_s : float
        Power polling period of the ``sampled`` method [s].
    counter_poll_period_s : float or None
        How often a background thread reads the energy counter to count its
        updates inside each window [s]; must stay below the counter's ~0.1 s
        update period to see every update. ``None`` disables the count (and
        its thread); the uncertainty then assumes a 0.1 s counter step.
    tdp_w : float or dict[int, float], optional
        Rated power per GPU for the ``tdp`` method [W]; default NVML's default
        power limit of each GPU.
    rapl_root : path, optional
        Powercap folder for CPU energy (default ``/sys/class/powercap``).
    edge_timeout_s : float
        How long the GPU has to reach a non-blocking edge (or a blocking edge
        on named ``streams``) after it is recorded [s]; past it the edge's
        windows fail with :class:`EdgeTimeoutError`.
    edge_poll_period_s : float
        How often the edge thread asks whether the GPU reached a pending edge [s].

    Raises
    ------
    GpuEnergyUnavailable
        A GPU method was asked for explicitly but NVML, the GPU or the counter
        is missing; the message names the cause.
    ValueError
        Unknown method or non-positive period.
    """

    def __init__(
        self,
        gpu_indices: Sequence[int] | None = None,
        methods: Sequence[str] | str = ("counter",),
        sample_period_s: float = 0.010,
        counter_poll_period_s: float | None = 0.05,
        tdp_w: float | dict[int, float] | None = None,
        rapl_root=None,
        edge_timeout_s: float = EDGE_TIMEOUT_S,
        edge_poll_period_s: float = EDGE_POLL_PERIOD_S,
    ):
        if not edge_timeout_s > 0:
            raise ValueError(f"edge_timeout_s must be positive, got {edge_timeout_s}")
        if not edge_poll_period_s > 0:
            raise ValueError(f"edge_poll_period_s must be positive, got {edge_poll_period_s}")
        self.edge_timeout_s = float(edge_timeout_s)
        self.edge_poll_period_s = float(edge_poll_period_s)
        self._edge_waiter: _EdgeWaiter | None = None
        self._lock = threading.Lock()
        if not sample_period_s > 0:
            raise ValueError(f"sample_period_s must be positive, got {sample_period_s}")
        if counter_poll_period_s is not None and not counter_poll_period_s > 0:
            raise ValueError(f"counter_poll_period_s must be positive or None, got {counter_poll_period_s}")
        self.sample_period_s = float(sample_period_s)
        self.notes: list[str] = []  # warnings that apply to every window
        self._open: dict[str, Edge] = {}
        self._idle_w: dict[int, float] = {}
        self._idle_kind = ""
        self._poller: _Poller | None = None
        self._nvml_initialised = False
        self._closed = False
        self.gpus: list[nvml.Gpu] = []

        auto = isinstance(methods, str) and methods == "auto"
        if isinstance(methods, str) and not auto:
            methods = (methods,)
        if not auto:
            methods = tuple(methods)
            unknown = [m for m in methods if m not in METHODS]
            if unknown or not methods:
                raise ValueError(f"unknown energy method(s) {unknown or methods!r}; choose from {METHODS} or 'auto'")
            if len(set(methods)) != len(methods):
                raise ValueError(f"methods repeat: {methods!r}")

        try:  # release NVML and the thread if set-up fails half-way
            try:
                self._open_gpus(gpu_indices)
            except (nvml.NvmlError, GpuEnergyUnavailable) as exc:
                self._shutdown_nvml()
                if not auto:
                    raise GpuEnergyUnavailable(
                        f"cannot measure GPU energy with {methods!r}: {exc}. "
                        "Use methods='auto' to measure time only."
                    ) from exc
                self.methods: tuple[str, ...] = ()
                self.notes.append(f"GPU energy unavailable, measuring time only: {exc}")
            else:
                if auto:
                    self.methods = self._auto_methods()
                else:
                    self.methods = methods
                    if "counter" in methods:
                        missing = self._gpus_without_counter()
                        if missing:
                            self._shutdown_nvml()
                            raise GpuEnergyUnavailable(
                                "the NVML energy counter is not supported on "
                                + ", ".join(f"GPU {i} ({why})" for i, why in missing)
                                + "; use methods=('sampled',) or 'auto'"
                            )

            self.tdp_w = self._rated_power(tdp_w) if "tdp" in self.methods else {}
            self.rapl = RaplReader(rapl_root) if rapl_root is not None else RaplReader()

            wants = set(self.methods)
            if wants & {"sampled", "smi"} or ("counter" in wants and counter_poll_period_s):
                self._poller = _Poller(
                    self.gpus, self.sample_period_s, counter_poll_period_s,
                    sampled="sampled" in wants, smi="smi" in wants, counter="counter" in wants,
                )
                self._poller.start()
                self._poller.ready.wait(timeout=5.0)
                self._check_poller()
        except BaseException:
            self.close()
            raise

    # -- set-up ---------------------------------------------------------
    def _open_gpus(self, gpu_indices) -> None:
        nvml.init()
        self._nvml_initialised = True
        count = nvml.device_count()
        if count == 0:
            raise GpuEnergyUnavailable("NVML works but sees no GPU")
        indices = list(range(count)) if gpu_indices is None else [int(i) for i in gpu_indices]
        bad = [i for i in indices if not 0 <= i < count]
        if bad:
            raise GpuEnergyUnavailable(f"GPU index {bad} out of range: NVML sees {count} GPU(s)")
        if len(set(indices)) != len(indices) or not indices:
            raise ValueError(f"gpu_indices must be distinct and non-empty, got {gpu_indices!r}")
        self.gpus = [nvml.Gpu(i) for i in indices]

    def _gpus_without_counter(self) -> list[tuple[int, str]]:
        missing = []
        for gpu in self.gpus:
            ok, why = gpu.supports_energy_counter()
            if not ok:
                missing.append((gpu.index, why))
        return missing

    def _auto_methods(self) -> tuple[str, ...]:
        missing = self._gpus_without_counter()
        if not missing:
            return ("counter",)
        try:
            for gpu in self.gpus:
                gpu.power_w()
        except nvml.NvmlError as exc:
            self.notes.append(f"GPU energy unavailable (no energy counter and no power reading: {exc}); time only")
            return ()
        self.notes.append(
            "no NVML energy counter on GPU(s) "
            + ", ".join(str(i) for i, _ in missing)
            + ": energy integrates sampled power, which is biased low on recent GPUs"
        )
        return ("sampled",)

    def _rated_power(self, tdp_w) -> dict[int, float]:
        if tdp_w is None:
            return {g.index: g.default_power_limit_w() for g in self.gpus}
        if isinstance(tdp_w, dict):
            missing = [g.index for g in self.gpus if g.index not in tdp_w]
            if missing:
                raise ValueError(f"tdp_w has no rated power for GPU(s) {missing}")
            return {g.index: float(tdp_w[g.index]) for g in self.gpus}
        return {g.index: float(tdp_w) for g in self.gpus}

    def _check_poller(self) -> None:
        if self._poller is not None and self._poller.error is not None:
            raise GpuEnergyUnavailable(f"the power/counter polling thread failed: {self._poller.error!r}") from (
                self._poller.error
            )

    # -- windows --------------------------------------------------------
    @property
    def primary_method(self) -> str:
        """The method whose energy is reported as ``energy_j`` (``"none"``: time only)."""
        return self.methods[0] if self.methods else "none"

    def edge(self, block: bool = True, streams=None) -> Edge:
        """Mark an instant of the GPU's timeline to begin and/or end windows at.

        Parameters
        ----------
        block : bool
            ``True``: wait until the GPU has finished the work queued so far
            (``torch.cuda.synchronize`` of the metered devices, or the events
            on ``streams``), then read the counter and clock here. ``False``:
            record a CUDA event on each stream and return at once; the meter's
            edge thread reads the counter when the GPU reaches the events.
        streams : sequence, optional
            The streams whose queued work the edge waits for; default the
            current stream of each metered device. Anything with
            ``record_event()`` returning an object with ``query() -> bool``
            (``torch.cuda.Stream`` does).

        Returns
        -------
        Edge
        """
        self._check_usable()
        if block:
            edges = self._edges()  # read while queued GPU work still runs: costs no GPU time
            edge = Edge(self._record_events(streams) if streams is not None else [], block=True,
                        timeout_s=self.edge_timeout_s)
            if streams is None:
                _synchronize_torch(self._torch_devices())
            else:
                _wait_events(edge, self.edge_poll_period_s)
            self._resolve(edge, self._snapshot(edges), None)
            return edge
        events = self._record_events(streams)
        edge = Edge(events, block=False, timeout_s=self.edge_timeout_s)
        if not events:  # nothing queued by this process that the edge could wait for
            snapshot = self._snapshot({})
            snapshot.edges = self._edges()
            self._resolve(edge, snapshot, None)
            return edge
        if self._edge_waiter is None:
            self._edge_waiter = _EdgeWaiter(self, self.edge_poll_period_s)
            self._edge_waiter.start()
        self._edge_waiter.submit(edge)
        return edge

    def begin_window(self, key: str, restart: bool = False, *, block: bool = True, streams=None,
                     at: Edge | None = None) -> Edge:
        """Open the window ``key``.

        Parameters
        ----------
        key : str
            Name of the window; must not be open already.
        restart : bool
            Re-open ``key`` if it is open (e.g. a notebook cell died mid-window).
        block, streams :
            The kind of edge to begin at (see :meth:`edge`); default blocking.
        at : Edge, optional
            Begin at this existing edge (e.g. the end of the previous window).

        Returns
        -------
        Edge
            The begin edge.

        Raises
        ------
        WindowError
            ``key`` is already open and ``restart`` is false.
        """
        self._check_usable()
        if key in self._open and not restart:
            raise WindowError(f"window {key!r} is already open; end it first or pass restart=True")
        edge = at if at is not None else self.edge(block=block, streams=streams)
        self._open[key] = edge
        return edge

    def end_window(self, key: str, *, block: bool = True, streams=None, at: Edge | None = None,
                   begin_next: str | None = None):
        """Close the window ``key`` and measure it.

        Parameters
        ----------
        key : str
            An open window.
        block, streams :
            The kind of edge to end at (see :meth:`edge`). Blocking (the
            default) waits for the GPU and returns the :class:`Measurement`;
            ``block=False`` returns at once with a :class:`PendingMeasurement`.
        at : Edge, optional
            End at this existing edge instead of making one.
        begin_next : str, optional
            Also open the window ``begin_next`` at the same edge (back-to-back
            windows: none of the GPU's work falls between them).

        Returns
        -------
        Measurement or PendingMeasurement
            ``PendingMeasurement`` when the end edge is non-blocking.

        Raises
        ------
        WindowError
            No window ``key`` is open, or ``begin_next`` is already open.
        EdgeTimeoutError
            Blocking end of a window whose non-blocking begin edge the GPU never reached.
        """
        self._check_usable()
        if key not in self._open:
            raise WindowError(f"no open window {key!r} (open: {sorted(self._open)})")
        if begin_next is not None and begin_next in self._open and begin_next != key:
            raise WindowError(f"window {begin_next!r} is already open; end it first")
        edge = at if at is not None else self.edge(block=block, streams=streams)
        begin = self._open.pop(key)
        if begin_next is not None:
            self._open[begin_next] = edge
        pending = PendingMeasurement(key)
        window = _PendingWindow(key, begin, edge, pending)
        with self._lock:
            for e in (begin, edge):
                if not e.done():
                    e._waiters.append(window)
        self._finish(window)
        if not edge.block:
            return pending
        # a blocking end: the GPU has passed the begin edge too, the edge thread reads it promptly
        remaining = max(0.0, begin.deadline_t - time.perf_counter()) + 1.0
        try:
            return pending.result(timeout=remaining)
        except concurrent.futures.TimeoutError as exc:
            raise EdgeTimeoutError(f"window {key!r}: its begin edge was not read in time") from exc

    def cancel_window(self, key: str) -> None:
        """Discard the open window ``key`` without measuring it.

        Raises
        ------
        WindowError
            No window ``key`` is open.
        """
        if key not in self._open:
            raise WindowError(f"no open window {key!r} (open: {sorted(self._open)})")
        del self._open[key]

    def _record_events(self, streams) -> list:
        """A CUDA event recorded now on each stream (default: the metered devices' current streams)."""
        if streams is None:
            torch = sys.modules.get("torch")
            if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
                return []
            devices = self._torch_devices()
            if devices is None:
                streams = [torch.cuda.current_stream()]
            else:
                streams = [torch.cuda.current_stream(d) for d in devices if d < torch.cuda.device_count()]
        return [stream.record_event() for stream in streams]

    def _resolve(self, edge: Edge, snapshot: _Snapshot | None, error: BaseException | None) -> None:
        """Record an edge's reading (or failure) and finish the windows waiting for it."""
        with self._lock:
            edge.snapshot, edge.error = snapshot, error
            edge._resolved.set()
            waiters, edge._waiters = edge._waiters, []
        for window in waiters:
            self._finish(window)

    def _finish(self, window: _PendingWindow) -> None:
        """Measure ``window`` if both its edges are read and nobody has yet."""
        with self._lock:
            if window.claimed or not (window.begin.done() and window.end.done()):
                return
            window.claimed = True
        for name, e in (("begin", window.begin), ("end", window.end)):
            if e.error is not None:
                if isinstance(e.error, EdgeTimeoutError):
                    exc = EdgeTimeoutError(f"window {window.key!r}, {name} edge: {e.error}")
                else:
                    exc = GpuEnergyUnavailable(f"window {window.key!r}, {name} edge could not be read: {e.error!r}")
                exc.__cause__ = e.error
                window.pending._future.set_exception(exc)
                return
        try:
            self._check_poller()
            measurement = self._measure(window.key, window.begin.snapshot, window.end.snapshot)
        except BaseException as exc:
            window.pending._future.set_exception(exc)
        else:
            window.pending._future.set_result(measurement)

    @contextlib.contextmanager
    def window(self, key: str) -> Iterator[WindowHandle]:
        """Context manager around :meth:`begin_window`/:meth:`end_window`.

        The block's measurement is ``handle.measurement`` afterwards; if the
        block raises, the window is still closed (and the error propagates).
        """
        handle = WindowHandle(key)
        self.begin_window(key)
        try:
            yield handle
        except BaseException:
            handle.measurement = self.end_window(key)
            handle.measurement.warnings.append("the measured block raised an exception")
            raise
        handle.measurement = self.end_window(key)

    def measure_idle(self, duration_s: float = 5.0) -> Measurement:
        """Measure idle power for ``duration_s`` and subtract it from later windows.

        Run it while the GPUs do nothing. The idle measured depends on whether a
        process holds a CUDA context (an H100 draws ~70 W without one, ~145 W
        with one): :attr:`Measurement.idle_kind` says which idle this was.

        Returns
        -------
        Measurement
            The idle window itself.
        """
        if not duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {duration_s}")
        key = "__idle__"
        self.begin_window(key, restart=True)
        time.sleep(duration_s)
        m = self.end_window(key)
        if self.methods:
            self._idle_w = {gpu: energy / m.duration_s for gpu, energy in m.gpu_energy_j.items()}
        else:
            self._idle_w = {}
        self._idle_kind = _idle_kind() + f", {m.duration_s:.1f} s by {m.method}"
        m.idle_power_by_gpu_w = dict(self._idle_w)
        m.idle_kind = self._idle_kind
        return m

    def set_idle_power(self, idle_power_w: dict[int, float], kind: str = "given") -> None:
        """Use a known idle power per GPU [W] instead of :meth:`measure_idle`."""
        self._idle_w = {int(k): float(v) for k, v in idle_power_w.items()}
        self._idle_kind = kind

    @property
    def idle_power_w(self) -> dict[int, float]:
        """The idle power per GPU subtracted from windows [W] (empty: none)."""
        return dict(self._idle_w)

    def close(self) -> None:
        """Stop the threads and release NVML. Open windows are discarded.

        Pending non-blocking edges are read first: this waits for the GPU to
        reach them, at most ``edge_timeout_s`` after each was recorded.
        """
        if self._closed:
            return
        self._closed = True
        if self._edge_waiter is not None:
            self._edge_waiter.drain_and_stop()
        if self._poller is not None:
            self._poller.stop()
            self._poller.join(timeout=5.0)
        self._shutdown_nvml()
        self._open.clear()

    def __enter__(self) -> "EnergyMeter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- internals ------------------------------------------------------
    def _shutdown_nvml(self) -> None:
        if self._nvml_initialised:
            nvml.shutdown()
            self._nvml_initialised = False

    def _check_usable(self) -> None:
        if self._closed:
            raise RuntimeError("this EnergyMeter is closed; create a new one")

    def _torch_devices(self) -> list[int] | None:
        return _torch_indices([g.index for g in self.gpus]) if self.gpus else None

    def _edges(self) -> dict[int, dict[str, float]]:
        out = {}
        for gpu in self.gpus:
            state = gpu.edge_state()
            out[gpu.index] = {
                "temperature_c": state.temperature_c,
                "sm_clock_mhz": state.sm_clock_mhz,
                "power_limit_w": state.power_limit_w,
            }
        return out

    def _snapshot(self, edges) -> _Snapshot:
        counter = {}
        if "counter" in self.methods:
            counter = {g.index: g.total_energy_mj() for g in self.gpus}
        t = time.perf_counter()
        unix = time.time()
        poll = self._poller.snapshot(t) if self._poller is not None else {}
        return _Snapshot(t=t, unix=unix, counter_mj=counter, poll=poll, rapl=self.rapl.snapshot(), edges=edges)

    def _measure(self, key: str, begin: _Snapshot, end: _Snapshot) -> Measurement:
        duration_s = end.t - begin.t
        warns = list(self.notes)
        per_method: dict[str, dict[int, float]] = {}
        updates: dict[int, int] = {}
        uncertainty = math.nan
        for method in self.methods:
            energies = {}
            for gpu in self.gpus:
                i = gpu.index
                if method == "counter":
                    if end.counter_mj[i] < begin.counter_mj[i]:
                        warns.append(f"GPU {i}: energy counter wrapped around (or was reset) inside the window")
                    energies[i] = nvml.mj_to_j(nvml.energy_delta_mj(begin.counter_mj[i], end.counter_mj[i]))
                elif method == "sampled":
                    energies[i] = end.poll[i]["sampled_j"] - begin.poll[i]["sampled_j"]
                elif method == "smi":
                    n = end.poll[i]["smi_count"] - begin.poll[i]["smi_count"]
                    if n > 0:
                        mean_w = (end.poll[i]["smi_sum_w"] - begin.poll[i]["smi_sum_w"]) / n
                    else:
                        mean_w = end.poll[i]["smi_last_w"]
                        warns.append(
                            f"GPU {i}: no 1 Hz power reading inside the {duration_s:.2f} s window; "
                            "smi used the last reading before its end"
                        )
                    energies[i] = mean_w * duration_s
                elif method == "tdp":
                    energies[i] = self.tdp_w[i] * duration_s
            per_method[method] = energies

        if "counter" in self.methods and self._poller is not None and "counter" in self._poller.periods:
            for gpu in self.gpus:
                i = gpu.index
                updates[i] = end.poll[i]["counter_changes"] - begin.poll[i]["counter_changes"]
                if updates[i] == 0 and per_method.get("counter", {}).get(i, 0.0) > 0:
                    # the poller did not look inside a short window, but the edge reads differ:
                    # the counter advanced at least once
                    updates[i] = 1
        if "counter" in self.methods:
            uncertainty = 0.0
            for gpu in self.gpus:
                i = gpu.index
                period = end.poll.get(i, {}).get("counter_period_s", math.nan)
                period = period if math.isfinite(period) else NOMINAL_COUNTER_PERIOD_S
                power = per_method["counter"][i] / duration_s if duration_s > 0 else 0.0
                if not power > 0:
                    # the counter did not advance inside the window, so its own average says
                    # nothing about the power at the edges: bound it by the power limit
                    limit = end.edges.get(i, {}).get("power_limit_w", math.nan)
                    power = limit if math.isfinite(limit) else self.tdp_w.get(i, math.nan)
                uncertainty += 2.0 * power * period  # one step at each edge
            if self.primary_method != "counter":
                uncertainty = math.nan

        if self.methods and duration_s < SHORT_WINDOW_S:
            shown = min(updates.values()) if updates else "few"
            warns.append(
                f"window of {duration_s:.2f} s is shorter than {SHORT_WINDOW_S:g} s: "
                f"the energy counter advanced {shown} times; repeat or lengthen it"
            )
        elif updates and min(updates.values()) == 0:
            warns.append("the energy counter did not advance inside the window")
        for gpu in self.gpus:
            a, b = begin.edges[gpu.index]["power_limit_w"], end.edges[gpu.index]["power_limit_w"]
            if math.isfinite(a) and math.isfinite(b) and a != b:
                warns.append(f"GPU {gpu.index}: power limit changed inside the window ({a:g} W -> {b:g} W)")

        primary = self.primary_method
        measurement = Measurement(
            key=key,
            begin_unix_s=begin.unix,
            duration_s=duration_s,
            method=primary,
            gpu_energy_j=dict(per_method.get(primary, {})),
            energy_by_method={m: float(sum(e.values())) for m, e in per_method.items()},
            gpu_energy_by_method=per_method,
            idle_power_by_gpu_w=dict(self._idle_w),
            idle_kind=self._idle_kind,
            counter_updates=min(updates.values()) if updates else None,
            counter_updates_by_gpu=updates,
            uncertainty_j=uncertainty,
            cpu_energy_j=self.rapl.energy_j(begin.rapl, end.rapl),
            cpu_energy_note=self.rapl.reason,
            edges={"begin": begin.edges, "end": end.edges} if self.gpus else {},
            warnings=warns,
        )
        return measurement


def _idle_kind() -> str:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        return "idle with this process holding a CUDA context"
    return "idle without a CUDA context in this process (other processes may hold one)"


def _torch_indices(nvml_indices: list[int]) -> list[int] | None:
    """Torch device indices of the metered NVML GPUs (``None``: unknown mapping).

    NVML numbers GPUs by PCI bus; CUDA, under ``CUDA_VISIBLE_DEVICES``, renumbers
    the visible ones from 0. With a purely numeric ``CUDA_VISIBLE_DEVICES`` the
    mapping is exact; otherwise NVML index = torch index is assumed.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None or visible.strip() == "":
        return list(nvml_indices) if visible is None else []
    parts = [p.strip() for p in visible.split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        return None
    order = [int(p) for p in parts]
    return [order.index(i) for i in nvml_indices if i in order]


def _synchronize_torch(devices: list[int] | None) -> None:
    """``torch.cuda.synchronize`` each device, if torch already initialised CUDA.

    Torch is not imported here: a process that never imported it has no torch
    work to wait for. ``devices=None`` (unknown mapping) synchronises the
    current device.
    """
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return
    if devices is None:
        _warnings.warn(
            "CUDA_VISIBLE_DEVICES is not a list of indices: only the current CUDA device is synchronised",
            RuntimeWarning,
            stacklevel=3,
        )
        torch.cuda.synchronize()
        return
    for index in devices:
        if index < torch.cuda.device_count():
            torch.cuda.synchronize(index)


# -- comparison of methods (notebook 01) ---------------------------------------
def method_errors(rows, reference: str = "counter"):
    """Relative error of every method against ``reference`` on the same windows.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per window with ``energy_<method>_j`` columns (as written by
        :meth:`Measurement.as_row`) plus any grouping columns.

    Returns
    -------
    pandas.DataFrame
        Long form: the input's non-energy columns, ``compared_method``,
        ``reference_energy_j`` and ``method_energy_j`` [J], and
        ``relative_error`` = (E_method − E_reference) / E_reference [−].
    """
    import pandas as pd

    ref_col = f"energy_{reference}_j"
    if ref_col not in rows:
        raise ValueError(f"no column {ref_col!r}: the reference method was not recorded")
    id_cols = [c for c in rows.columns if not (c.startswith("energy_") and c.endswith("_j"))]
    frames = []
    for method in METHODS:
        col = f"energy_{method}_j"
        if method == reference or col not in rows:
            continue
        frame = rows[id_cols].copy()
        frame["compared_method"] = method
        frame["reference_energy_j"] = rows[ref_col]
        frame["method_energy_j"] = rows[col]
        frame["relative_error"] = (rows[col] - rows[ref_col]) / rows[ref_col]
        frames.append(frame)
    if not frames:
        raise ValueError("no method besides the reference was recorded")
    return pd.concat(frames, ignore_index=True)


def summarize_errors(errors, by=("workload", "compared_method"), min_duration_s: float = 0.0):
    """Median, quartiles and count of ``relative_error`` per group.

    Windows shorter than ``min_duration_s`` [s] are left out (the reference
    counter itself is uncertain by ~2 steps there).
    """
    kept = errors[errors["duration_s"] >= min_duration_s]
    grouped = kept.groupby(list(by))["relative_error"]
    out = grouped.agg(
        median="median",
        q25=lambda s: s.quantile(0.25),
        q75=lambda s: s.quantile(0.75),
        n="count",
    )
    return out.reset_index()


#: colours of the methods in every figure
METHOD_COLORS = {"counter": "black", "sampled": "tab:blue", "smi": "tab:orange", "tdp": "tab:red"}


def plot_method_errors(errors, linthresh_pct: float = 10.0):
    """Moved to :func:`greenai.figures.ch2.fig_2_2_method_error_vs_window` (kept for old callers)."""
    from greenai.figures.ch2 import fig_2_2_method_error_vs_window

    return fig_2_2_method_error_vs_window(errors, linthresh_pct)
