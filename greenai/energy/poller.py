"""The meter's polling thread: running integrals of NVML power and counts of energy-counter updates.

Power every ``sample_period_s`` (method ``sampled``), power once a second
(``smi``) and the energy counter every ``counter_poll_period_s`` (to count
its updates inside each window). Only running sums are kept: memory does not grow.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

#: Period of the thesis' ``nvidia-smi`` power log [s].
SMI_PERIOD_S: float = 1.0


@dataclass
class GpuPollState:
    """Running integrals kept by the poller for one GPU (O(1) memory; powers W, energies J, times s)."""

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


class Poller(threading.Thread):
    """Background thread polling ``gpus`` (:class:`greenai.nvml.Gpu`) for the methods asked.

    ``clock`` is the monotonic clock [s] the meter reads its edges with.
    """

    def __init__(self, gpus, sample_period_s: float, counter_poll_period_s: float | None, sampled: bool, smi: bool,
                 counter: bool, clock: Callable[[], float] = time.perf_counter):
        super().__init__(name="greenai-energy-poller", daemon=True)
        self.gpus = gpus
        self.clock = clock
        self.periods: dict[str, float] = {}
        if sampled:
            self.periods["sampled"] = sample_period_s
        if smi:
            self.periods["smi"] = SMI_PERIOD_S
        if counter and counter_poll_period_s:
            self.periods["counter"] = counter_poll_period_s
        self.state = {g.index: GpuPollState() for g in gpus}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None

    @property
    def counts_counter(self) -> bool:
        """Whether this poller counts energy-counter updates."""
        return "counter" in self.periods

    def run(self) -> None:
        try:
            due = {name: self.clock() for name in self.periods}
            while True:
                now = self.clock()
                for name, when in due.items():
                    if now >= when:
                        self.poll(name)
                        period = self.periods[name]
                        due[name] = when + period if when + period > now else now + period
                self.ready.set()
                if self.stop_event.wait(max(0.0, min(due.values()) - self.clock())):
                    return
        except BaseException as exc:  # reported at the next window edge
            self.error = exc
            self.ready.set()

    def poll(self, name: str) -> None:
        """Read every GPU once for ``name`` (``"sampled"``, ``"smi"`` or ``"counter"``)."""
        for gpu in self.gpus:
            if name == "counter":
                value = gpu.total_energy_mj()
                t = self.clock()
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
            t = self.clock()
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
        """Integrals at time ``t`` [s] (the last sampled power is held up to ``t``)."""
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
