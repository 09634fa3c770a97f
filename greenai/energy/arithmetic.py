"""The arithmetic of each energy method, from the readings at a window's two edges (pure functions).

A :class:`Snapshot` holds what was read at one edge (clock, energy counter,
the poller's running integrals, RAPL, GPU state); :func:`window_measurement`
turns two of them into a :class:`~greenai.energy.results.Measurement`.
Energies in J, powers in W, times in s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from greenai import nvml
from greenai.energy.results import Measurement

#: Windows shorter than this get a warning: few counter updates [s].
SHORT_WINDOW_S: float = 2.0
#: Counter update period assumed until one has been observed [s] (H100, driver 580).
NOMINAL_COUNTER_PERIOD_S: float = 0.1


@dataclass
class Snapshot:
    """Readings at one edge: monotonic time ``t`` [s], ``unix`` [s], counter per GPU [mJ],
    poller integrals per GPU (:meth:`greenai.energy.poller.Poller.snapshot`), RAPL, GPU state."""

    t: float
    unix: float
    counter_mj: dict[int, int]
    poll: dict[int, dict]
    rapl: list[int] | None
    edges: dict[int, dict[str, float]]


def counter_energy_j(begin_mj: int, end_mj: int) -> tuple[float, bool]:
    """Energy between two counter readings [J], and whether the counter wrapped (or was reset)."""
    return nvml.mj_to_j(nvml.energy_delta_mj(begin_mj, end_mj)), end_mj < begin_mj


def sampled_energy_j(begin_poll: dict, end_poll: dict) -> float:
    """Integral of polled power between two edges [J] (trapezoids, last power held to the edge)."""
    return end_poll["sampled_j"] - begin_poll["sampled_j"]


def smi_energy_j(begin_poll: dict, end_poll: dict, duration_s: float) -> tuple[float, bool]:
    """Mean of the 1 Hz power readings inside the window × its duration [J], and whether
    there was one (without, the last reading before the end is used)."""
    n = end_poll["smi_count"] - begin_poll["smi_count"]
    if n > 0:
        return (end_poll["smi_sum_w"] - begin_poll["smi_sum_w"]) / n * duration_s, True
    return end_poll["smi_last_w"] * duration_s, False


def counter_updates(begin_poll: dict, end_poll: dict, energy_j: float) -> int:
    """Counter updates the poller saw inside the window; at least 1 where the edge readings differ."""
    updates = end_poll["counter_changes"] - begin_poll["counter_changes"]
    return 1 if updates == 0 and energy_j > 0 else updates


def counter_uncertainty_j(energy_j: float, duration_s: float, period_s: float, limit_w: float) -> float:
    """One counter step at each edge [J]: 2 × power × the counter's update period.

    ``period_s`` NaN: :data:`NOMINAL_COUNTER_PERIOD_S`. The power is the window's
    average, or ``limit_w`` where the counter did not advance (its own average
    then says nothing about the power at the edges).
    """
    period_s = period_s if math.isfinite(period_s) else NOMINAL_COUNTER_PERIOD_S
    power_w = energy_j / duration_s if duration_s > 0 else 0.0
    if not power_w > 0:
        power_w = limit_w
    return 2.0 * power_w * period_s


def window_measurement(key: str, begin: Snapshot, end: Snapshot, *, gpus: list[int], methods: tuple[str, ...],
                       tdp_w: dict[int, float], counter_polled: bool, idle_w: dict[int, float], idle_kind: str,
                       notes: list[str], cpu_energy_j: float, cpu_energy_note: str) -> Measurement:
    """The measurement of the window ``key`` from the snapshots at its edges.

    ``gpus``: NVML indices metered; ``methods``: those run, the first primary
    (empty: time only); ``counter_polled``: whether the poller counted counter
    updates; ``notes``: warnings that apply to every window.
    """
    duration_s = end.t - begin.t
    warns = list(notes)
    per_method: dict[str, dict[int, float]] = {}
    for method in methods:
        energies = {}
        for i in gpus:
            if method == "counter":
                energies[i], wrapped = counter_energy_j(begin.counter_mj[i], end.counter_mj[i])
                if wrapped:
                    warns.append(f"GPU {i}: energy counter wrapped around (or was reset) inside the window")
            elif method == "sampled":
                energies[i] = sampled_energy_j(begin.poll[i], end.poll[i])
            elif method == "smi":
                energies[i], seen = smi_energy_j(begin.poll[i], end.poll[i], duration_s)
                if not seen:
                    warns.append(f"GPU {i}: no 1 Hz power reading inside the {duration_s:.2f} s window; "
                                 "smi used the last reading before its end")
            elif method == "tdp":
                energies[i] = tdp_w[i] * duration_s
        per_method[method] = energies

    primary = methods[0] if methods else "none"
    updates: dict[int, int] = {}
    uncertainty = math.nan
    if "counter" in methods:
        if counter_polled:
            updates = {i: counter_updates(begin.poll[i], end.poll[i], per_method["counter"][i]) for i in gpus}
        if primary == "counter":
            uncertainty = 0.0
            for i in gpus:
                limit = end.edges.get(i, {}).get("power_limit_w", math.nan)
                limit = limit if math.isfinite(limit) else tdp_w.get(i, math.nan)
                uncertainty += counter_uncertainty_j(per_method["counter"][i], duration_s,
                                                     end.poll.get(i, {}).get("counter_period_s", math.nan), limit)

    if methods and duration_s < SHORT_WINDOW_S:
        shown = min(updates.values()) if updates else "few"
        warns.append(f"window of {duration_s:.2f} s is shorter than {SHORT_WINDOW_S:g} s: "
                     f"the energy counter advanced {shown} times; repeat or lengthen it")
    elif updates and min(updates.values()) == 0:
        warns.append("the energy counter did not advance inside the window")
    for i in gpus:
        a, b = begin.edges[i]["power_limit_w"], end.edges[i]["power_limit_w"]
        if math.isfinite(a) and math.isfinite(b) and a != b:
            warns.append(f"GPU {i}: power limit changed inside the window ({a:g} W -> {b:g} W)")

    return Measurement(
        key=key,
        begin_unix_s=begin.unix,
        duration_s=duration_s,
        method=primary,
        gpu_energy_j=dict(per_method.get(primary, {})),
        energy_by_method={m: float(sum(e.values())) for m, e in per_method.items()},
        gpu_energy_by_method=per_method,
        idle_power_by_gpu_w=dict(idle_w),
        idle_kind=idle_kind,
        counter_updates=min(updates.values()) if updates else None,
        counter_updates_by_gpu=updates,
        uncertainty_j=uncertainty,
        cpu_energy_j=cpu_energy_j,
        cpu_energy_note=cpu_energy_note,
        edges={"begin": begin.edges, "end": end.edges} if gpus else {},
        warnings=warns,
    )
