"""Window edges: instants of the GPU's timeline, read at once (blocking) or when the GPU gets there.

A blocking edge synchronises the metered devices and is read on the calling
thread; a non-blocking one records a CUDA event per stream and the
:class:`EdgeWaiter` thread reads it when the events complete (see
``docs/energy.md``). Torch is never imported here: without torch in
``sys.modules`` there is no CUDA work of this process to wait for.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Callable

from greenai.energy.arithmetic import Snapshot
from greenai.energy.results import EdgeTimeoutError, PendingMeasurement

#: Default time the GPU has to reach a non-blocking edge after it is recorded [s].
EDGE_TIMEOUT_S: float = 120.0
#: How often the edge thread asks whether the GPU has reached a pending edge [s].
EDGE_POLL_PERIOD_S: float = 0.001


class Edge:
    """One instant of the GPU's timeline at which windows begin or end.

    Made by :meth:`greenai.energy.meter.EnergyMeter.edge`; pass the same edge as
    ``at=`` to end one window and begin the next so that they share it. A
    blocking edge is read when it is made; a non-blocking one when the GPU
    reaches its events. ``recorded_t`` and ``deadline_t`` are on the meter's clock [s].
    """

    def __init__(self, events: list, block: bool, timeout_s: float, clock: Callable[[], float] = time.perf_counter):
        self.events = list(events)
        self.block = bool(block)
        self.recorded_t = clock()
        self.deadline_t = self.recorded_t + timeout_s
        self.snapshot: Snapshot | None = None
        self.error: BaseException | None = None
        self.waiters: list[PendingWindow] = []  # guarded by the meter's lock
        self._resolved = threading.Event()

    def done(self) -> bool:
        """Whether the edge has been read (or failed)."""
        return self._resolved.is_set()

    def resolve(self, snapshot: Snapshot | None, error: BaseException | None) -> list[PendingWindow]:
        """Record the reading (or failure); return the windows that waited for it (call under the meter's lock)."""
        self.snapshot, self.error = snapshot, error
        self._resolved.set()
        waiters, self.waiters = self.waiters, []
        return waiters


@dataclass
class PendingWindow:
    """A closed window whose edges may not have been read yet."""

    key: str
    begin: Edge
    end: Edge
    pending: PendingMeasurement
    claimed: bool = False


class EdgeWaiter(threading.Thread):
    """Background thread: waits, in order, for the GPU to reach each non-blocking edge's
    events, then reads the edge with ``read()`` and hands it to ``resolve(edge, snapshot, error)``."""

    def __init__(self, read: Callable[[], Snapshot], resolve, poll_period_s: float,
                 clock: Callable[[], float] = time.perf_counter):
        super().__init__(name="greenai-energy-edges", daemon=True)
        self.read = read
        self.resolve = resolve
        self.poll_period_s = poll_period_s
        self.clock = clock
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
                wait_events(edge, self.poll_period_s, self.clock)
                snapshot = self.read()
            except BaseException as exc:  # reported through the edge's windows
                self.resolve(edge, None, exc)
            else:
                self.resolve(edge, snapshot, None)
            with self.cond:
                self.queue.popleft()
                self.cond.notify_all()

    def drain_and_stop(self) -> None:
        """Let every queued edge resolve (each does by its deadline), then stop."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.join()


def wait_events(edge: Edge, poll_period_s: float, clock: Callable[[], float] = time.perf_counter) -> None:
    """Poll ``event.query()`` until each of ``edge``'s events completed; raise at its deadline."""
    for event in edge.events:
        while not event.query():
            now = clock()
            if now >= edge.deadline_t:
                raise EdgeTimeoutError(
                    f"the GPU did not reach the window edge within {edge.deadline_t - edge.recorded_t:g} s "
                    "of its record (its CUDA event never completed: a kernel hung or the CUDA context "
                    "failed); the energy of the windows at this edge is unknown"
                )
            time.sleep(min(poll_period_s, edge.deadline_t - now))


def _cuda_torch():
    """The torch module if it is imported and has initialised CUDA, else None."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch


def idle_kind() -> str:
    """Which idle a baseline measured now is: with or without this process holding a CUDA context."""
    if _cuda_torch() is not None:
        return "idle with this process holding a CUDA context"
    return "idle without a CUDA context in this process (other processes may hold one)"


def torch_indices(nvml_indices: list[int]) -> list[int] | None:
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


def synchronize_torch(devices: list[int] | None) -> None:
    """``torch.cuda.synchronize`` each device, if torch already initialised CUDA.

    ``devices=None`` (unknown mapping) synchronises the current device.
    """
    torch = _cuda_torch()
    if torch is None:
        return
    if devices is None:
        warnings.warn(
            "CUDA_VISIBLE_DEVICES is not a list of indices: only the current CUDA device is synchronised",
            RuntimeWarning,
            stacklevel=3,
        )
        torch.cuda.synchronize()
        return
    for index in devices:
        if index < torch.cuda.device_count():
            torch.cuda.synchronize(index)


def record_events(streams, devices: list[int] | None) -> list:
    """A CUDA event recorded now on each stream (default: the current stream of each torch device
    in ``devices``, or the current device's where ``None``); none without CUDA work in this process."""
    if streams is None:
        torch = _cuda_torch()
        if torch is None:
            return []
        if devices is None:
            streams = [torch.cuda.current_stream()]
        else:
            streams = [torch.cuda.current_stream(d) for d in devices if d < torch.cuda.device_count()]
    return [stream.record_event() for stream in streams]
