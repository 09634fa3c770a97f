"""The energy meter: named windows over one or more GPUs, measured by several methods at once.

:class:`EnergyMeter` opens NVML, picks the methods (``"auto"``: the energy
counter where every metered GPU has it, else sampled power, else time only
with NaN energy and the reason), runs the poller where a method needs it, and
measures windows between edges (:mod:`greenai.energy.edges`) with the
arithmetic of :mod:`greenai.energy.arithmetic`. The methods, the edges and
their costs: ``docs/energy.md``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
from typing import Callable, Iterator, Sequence

from greenai import nvml
from greenai.energy.arithmetic import Snapshot, window_measurement
from greenai.energy.edges import (EDGE_POLL_PERIOD_S, EDGE_TIMEOUT_S, Edge, EdgeWaiter, PendingWindow, idle_kind,
                                  record_events, synchronize_torch, torch_indices, wait_events)
from greenai.energy.poller import Poller
from greenai.energy.results import (METHODS, EdgeTimeoutError, GpuEnergyUnavailable, Measurement, PendingMeasurement,
                                    Window, WindowError, window_duration)
from greenai.rapl import RaplReader

#: Longest span [s] per GPU of the clock readings around a counter read that is taken as one instant
#: (twice the ~2.5 ms an H100's counter read takes): a longer one means the thread was preempted (or
#: waited for the GIL) in between, and the counters are read again.
COUNTER_READ_SPAN_S: float = 0.005
#: Most counter reads per edge; the one with the shortest span of clock readings is kept.
COUNTER_READ_TRIES: int = 5


class EnergyMeter:
    """Measure GPU energy (and CPU package energy) over named windows.

    Parameters
    ----------
    gpu_indices : sequence of int, optional
        NVML indices of the GPUs to meter; default every GPU NVML sees.
    methods : sequence of str or "auto"
        Any of ``"counter"``, ``"sampled"``, ``"smi"``, ``"tdp"``; the first is
        the primary method reported as ``energy_j``. ``"auto"`` (the default):
        ``counter`` where supported, else ``sampled``, else time only (NaN
        energy; :attr:`notes` and every measurement's warnings say why).
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
    clock, wall_clock : callable returning float
        The monotonic clock [s] that times windows (default :func:`time.perf_counter`)
        and the wall clock [s since the epoch] of their begin (default :func:`time.time`).

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
        methods: Sequence[str] | str = "auto",
        sample_period_s: float = 0.010,
        counter_poll_period_s: float | None = 0.05,
        tdp_w: float | dict[int, float] | None = None,
        rapl_root=None,
        edge_timeout_s: float = EDGE_TIMEOUT_S,
        edge_poll_period_s: float = EDGE_POLL_PERIOD_S,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
    ):
        if not edge_timeout_s > 0:
            raise ValueError(f"edge_timeout_s must be positive, got {edge_timeout_s}")
        if not edge_poll_period_s > 0:
            raise ValueError(f"edge_poll_period_s must be positive, got {edge_poll_period_s}")
        if not sample_period_s > 0:
            raise ValueError(f"sample_period_s must be positive, got {sample_period_s}")
        if counter_poll_period_s is not None and not counter_poll_period_s > 0:
            raise ValueError(f"counter_poll_period_s must be positive or None, got {counter_poll_period_s}")
        self.clock = clock
        self.wall_clock = wall_clock
        self.edge_timeout_s = float(edge_timeout_s)
        self.edge_poll_period_s = float(edge_poll_period_s)
        self.sample_period_s = float(sample_period_s)
        self.notes: list[str] = []  # warnings that apply to every window
        self._edge_waiter: EdgeWaiter | None = None
        self._lock = threading.Lock()
        self._open: dict[str, Edge] = {}
        self._idle_w: dict[int, float] = {}
        self._idle_kind = ""
        self._poller: Poller | None = None
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
                self._poller = Poller(
                    self.gpus, self.sample_period_s, counter_poll_period_s,
                    sampled="sampled" in wants, smi="smi" in wants, counter="counter" in wants, clock=self.clock,
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
        devices = self._torch_devices()
        if block:
            edges = self._gpu_states()  # read while queued GPU work still runs: costs no GPU time
            events = record_events(streams, devices) if streams is not None else []
            edge = Edge(events, block=True, timeout_s=self.edge_timeout_s, clock=self.clock)
            if streams is None:
                synchronize_torch(devices)
            else:
                wait_events(edge, self.edge_poll_period_s, self.clock)
            self._resolve(edge, self._snapshot(edges), None)
            return edge
        edge = Edge(record_events(streams, devices), block=False, timeout_s=self.edge_timeout_s, clock=self.clock)
        if not edge.events:  # nothing queued by this process that the edge could wait for
            self._resolve(edge, self._read_edge(), None)
            return edge
        if self._edge_waiter is None:
            self._edge_waiter = EdgeWaiter(self._read_edge, self._resolve, self.edge_poll_period_s, self.clock)
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
        window = PendingWindow(key, begin, edge, PendingMeasurement(key))
        with self._lock:
            for e in (begin, edge):
                if not e.done():
                    e.waiters.append(window)
        self._finish(window)
        if not edge.block:
            return window.pending
        # a blocking end: the GPU has passed the begin edge too, the edge thread reads it promptly
        remaining = max(0.0, begin.deadline_t - self.clock()) + 1.0
        try:
            return window.pending.result(timeout=remaining)
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

    def window(self, key: str, sync: Callable[[], None] | None = None) -> contextlib.AbstractContextManager[Window]:
        """A measured block: ``sync()`` → begin → (the block) → ``sync()`` → end; see :func:`measured_window`."""
        return measured_window(self, key, sync)

    def measure_idle(self, duration_s: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> Measurement:
        """Measure idle power for ``duration_s`` [s] and subtract it from later windows.

        Run it while the GPUs do nothing. The idle measured depends on whether a
        process holds a CUDA context (an H100 draws far less without one):
        :attr:`Measurement.idle_kind` says which idle this was. ``sleep`` waits
        ``duration_s`` (tests pass one that advances their clock).

        Returns
        -------
        Measurement
            The idle window itself.
        """
        if not duration_s > 0:
            raise ValueError(f"duration_s must be positive, got {duration_s}")
        key = "__idle__"
        self.begin_window(key, restart=True)
        sleep(duration_s)
        m = self.end_window(key)
        if self.methods:
            self._idle_w = {gpu: energy / m.duration_s for gpu, energy in m.gpu_energy_j.items()}
        else:
            self._idle_w = {}
        self._idle_kind = idle_kind() + f", {m.duration_s:.1f} s by {m.method}"
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
        return torch_indices([g.index for g in self.gpus]) if self.gpus else None

    def _gpu_states(self) -> dict[int, dict[str, float]]:
        out = {}
        for gpu in self.gpus:
            state = gpu.edge_state()
            out[gpu.index] = {
                "temperature_c": state.temperature_c,
                "sm_clock_mhz": state.sm_clock_mhz,
                "power_limit_w": state.power_limit_w,
            }
        return out

    def _snapshot(self, edges) -> Snapshot:
        if "counter" in self.methods:
            t, counter = self._read_counters()
        else:
            t, counter = self.clock(), {}
        unix = self.wall_clock()
        poll = self._poller.snapshot(t) if self._poller is not None else {}
        return Snapshot(t=t, unix=unix, counter_mj=counter, poll=poll, rapl=self.rapl.snapshot(), edges=edges)

    def _read_counters(self) -> tuple[float, dict[int, int]]:
        """The metered GPUs' energy counters [mJ] and the clock time [s] they were read at.

        The clock is read just before and just after the counters, and the reading dated at the midpoint.
        A thread that loses the CPU (or the GIL) between a counter read and a clock read would otherwise
        date the counter milliseconds late, and give a window the energy of a shorter or longer one than
        its duration. A reading whose clock readings lie more than :data:`COUNTER_READ_SPAN_S` per GPU
        apart is repeated, at most :data:`COUNTER_READ_TRIES` times in all; the tightest one is kept.
        """
        best = None  # (span [s], time [s], counters [mJ])
        for _ in range(COUNTER_READ_TRIES):
            before_s = self.clock()
            counter = {g.index: g.total_energy_mj() for g in self.gpus}
            after_s = self.clock()
            span_s = after_s - before_s
            if best is None or span_s < best[0]:
                best = (span_s, before_s + 0.5 * span_s, counter)
            if span_s <= COUNTER_READ_SPAN_S * max(1, len(self.gpus)):
                break
        return best[1], best[2]

    def _read_edge(self) -> Snapshot:
        """Read an edge the GPU has reached: counter and clock first, then the GPU's state."""
        snapshot = self._snapshot({})
        snapshot.edges = self._gpu_states()
        return snapshot

    def _resolve(self, edge: Edge, snapshot: Snapshot | None, error: BaseException | None) -> None:
        """Record an edge's reading (or failure) and finish the windows waiting for it."""
        with self._lock:
            waiters = edge.resolve(snapshot, error)
        for window in waiters:
            self._finish(window)

    def _finish(self, window: PendingWindow) -> None:
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
                window.pending.set_exception(exc)
                return
        try:
            self._check_poller()
            measurement = window_measurement(
                window.key, window.begin.snapshot, window.end.snapshot, gpus=[g.index for g in self.gpus],
                methods=self.methods, tdp_w=self.tdp_w,
                counter_polled=self._poller is not None and self._poller.counts_counter,
                idle_w=self._idle_w, idle_kind=self._idle_kind, notes=self.notes,
                cpu_energy_j=self.rapl.energy_j(window.begin.snapshot.rapl, window.end.snapshot.rapl),
                cpu_energy_note=self.rapl.reason)
        except BaseException as exc:
            window.pending.set_exception(exc)
        else:
            window.pending.set_result(measurement)


@contextlib.contextmanager
def measured_window(meter: EnergyMeter | None, key: str, sync: Callable[[], None] | None = None) -> Iterator[Window]:
    """The one measured window: ``sync()`` → begin → (the block) → ``sync()`` → end.

    ::

        with meter.window("epoch0", sync=lambda: torch.cuda.synchronize(device)) as w:
            train_one_epoch()
        w.energy_j, w.duration_s, w.measurement

    ``sync`` waits for queued device work before the window opens (so that it
    does not count) and before it closes (so that all of the block's work
    does); the meter's blocking edges already synchronise the metered GPUs'
    torch work. Without a meter (``meter=None``) only times are recorded, on
    :func:`time.perf_counter`. If the block raises, the window is still closed,
    its measurement says so in its warnings, and the error propagates.
    """
    clock = meter.clock if meter is not None else time.perf_counter
    if sync is not None:
        sync()
    if meter is not None:
        meter.begin_window(key)
    window = Window(key)
    start = clock()
    try:
        yield window
        if sync is not None:
            sync()
    except BaseException:
        if meter is not None:
            with contextlib.suppress(Exception):
                window.measurement = meter.end_window(key)
                window.measurement.warnings.append("the measured block raised an exception")
        window.wall_s = clock() - start
        window.duration_s = window_duration(window.measurement, window.wall_s)
        raise
    window.measurement = meter.end_window(key) if meter is not None else None
    window.wall_s = clock() - start
    window.duration_s = window_duration(window.measurement, window.wall_s)
