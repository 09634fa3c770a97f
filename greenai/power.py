"""GPU power limits and running speed on users' own GPUs (thesis section 5.1).

:func:`power_limit_sweep` sets each NVML power limit in turn, runs a
training-step function, measures time and energy, and restores the original
limit in every case (return, exception, Ctrl-C). It refuses to run unless
explicitly enabled (``enable=True`` or ``GREENAI_ALLOW_POWER_LIMIT=1``) and
explains the permission it lacks. Never run it on a shared or rented GPU.

Table 5.1 (the thesis' power levels and job durations) is an input of the
dispatch model: :func:`greenai.dispatch.inputs.thesis_gpu_table`.
NVML is reached only through :mod:`greenai.nvml` (wrapped by
:class:`NvmlPowerLimits`), whose ``pynvml`` a test replaces with a double.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from greenai import nvml

ENABLE_ENV = "GREENAI_ALLOW_POWER_LIMIT"


class PowerLimitError(RuntimeError):
    """The power-limit sweep cannot run (not enabled, no permission, NVML error)."""


class NvmlPowerLimits:
    """One GPU's power limit and energy counter, through the NVML boundary :mod:`greenai.nvml`.

    Parameters
    ----------
    index : int
        NVML device index.
    lib : module, optional
        A ``pynvml`` double for tests (default: the real library, via :mod:`greenai.nvml`).
    """

    def __init__(self, index: int = 0, lib=None):
        self._lib = lib
        nvml.init(lib)
        self.gpu = nvml.Gpu(index, lib=lib)

    def limit_w(self) -> float:
        """Current power limit [W]."""
        return self.gpu.power_management_limit_w()

    def constraints_w(self) -> tuple[float, float]:
        """Allowed (min, max) power limit [W]."""
        return self.gpu.power_limit_constraints_w()

    def set_limit_w(self, power_w: float) -> None:
        """Set the power limit [W]; needs root (or admin) rights. The one call of the package that changes a
        GPU's state: only the opt-in :func:`power_limit_sweep` makes it, and it restores the original limit."""
        try:
            self.gpu.call("nvmlDeviceSetPowerManagementLimit", int(round(power_w * 1000)))
        except nvml.NvmlNoPermission as exc:
            raise PowerLimitError(
                "NVML refused to set the power limit: no permission. Setting a GPU power limit needs root "
                "(e.g. `sudo`), or `nvidia-smi -pm 1` plus an administrator-granted right on your own machine."
            ) from exc
        except nvml.NvmlError as exc:
            raise PowerLimitError(f"NVML could not set the power limit to {power_w} W: {exc}") from exc

    def energy_mj(self) -> int:
        """Cumulative energy counter [mJ] (raw: differences go through :func:`greenai.nvml.energy_delta_mj`)."""
        return self.gpu.total_energy_mj()

    def close(self) -> None:
        nvml.shutdown(self._lib)


@dataclass(frozen=True)
class PowerLimitPoint:
    """One limit of a sweep: limit [W], steps run, duration [s], energy [J]."""

    power_limit_w: float
    steps: int
    duration_s: float
    energy_j: float

    @property
    def mean_power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else float("nan")

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.duration_s if self.duration_s > 0 else float("nan")


def power_limit_sweep(
    step: Callable[[], None],
    limits_w: list[float],
    steps_per_limit: int = 50,
    warmup_steps: int = 5,
    enable: bool | None = None,
    device: NvmlPowerLimits | None = None,
    synchronize: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> pd.DataFrame:
    """Run ``step`` under each power limit and measure speed and energy.

    The original limit is restored in all cases (normal return, exception,
    ``KeyboardInterrupt``). Only for GPUs you administer: **never on a shared
    or rented GPU.**

    Parameters
    ----------
    step : callable
        One training step (forward, backward, optimizer); called repeatedly.
    limits_w : list of float
        Power limits to visit [W]; each must lie in the device's allowed range.
    steps_per_limit, warmup_steps : int
        Measured steps per limit, and unmeasured steps after each change.
    enable : bool, optional
        Must be ``True`` (or ``$GREENAI_ALLOW_POWER_LIMIT=1``) to run at all.
    device : NvmlPowerLimits, optional
        The NVML boundary (default: GPU 0).
    synchronize : callable, optional
        Waits for queued GPU work (e.g. ``torch.cuda.synchronize``) before
        time and energy are read.

    Returns
    -------
    pandas.DataFrame
        One row per limit: ``power_limit_w``, ``steps``, ``duration_s``,
        ``energy_j``, ``mean_power_w``, ``steps_per_s``, ``energy_per_step_j``.

    Raises
    ------
    PowerLimitError
        When not enabled, when a limit is outside the allowed range, or when
        NVML refuses (the message says which permission is missing).
    """
    if enable is None:
        enable = os.environ.get(ENABLE_ENV) == "1"
    if not enable:
        raise PowerLimitError(
            "the power-limit sweep changes your GPU's power limit and is off by default. Enable it explicitly "
            f"(enable=True or {ENABLE_ENV}=1) only on a GPU you administer, never on a shared or rented one; "
            "it needs root rights to set NVML power limits."
        )
    if not limits_w:
        raise PowerLimitError("limits_w is empty: give at least one power limit [W]")
    sync = synchronize or (lambda: None)
    own_device = device is None
    device = device or NvmlPowerLimits()
    rows: list[PowerLimitPoint] = []
    try:
        low, high = device.constraints_w()
        outside = [w for w in limits_w if not (low <= w <= high)]
        if outside:
            raise PowerLimitError(f"limits {outside} W are outside this GPU's allowed range {low}-{high} W")
        original_w = device.limit_w()
        try:
            for limit in limits_w:
                device.set_limit_w(limit)
                for _ in range(warmup_steps):
                    step()
                sync()
                e0, t0 = device.energy_mj(), clock()
                for _ in range(steps_per_limit):
                    step()
                sync()
                energy_j = nvml.mj_to_j(nvml.energy_delta_mj(e0, device.energy_mj()))  # wrap-safe
                rows.append(PowerLimitPoint(limit, steps_per_limit, clock() - t0, energy_j))
        finally:
            device.set_limit_w(original_w)
    finally:
        if own_device:
            device.close()
    table = pd.DataFrame([r.__dict__ for r in rows])
    table["mean_power_w"] = [r.mean_power_w for r in rows]
    table["steps_per_s"] = [r.steps_per_s for r in rows]
    table["energy_per_step_j"] = table["energy_j"] / table["steps"]
    return table
