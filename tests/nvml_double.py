"""A test double for ``pynvml``, the only thing the energy tests replace.

Every NVML function the code under test may call is an autospec of the real
``pynvml`` function (so a wrong signature fails the test) whose side effect is
a small GPU simulation: a true power draw (changeable during a test), a
cumulative energy counter that advances in 100 ms steps like an H100's, an
optional counter wrap-around, and NVML errors on demand.
"""

from __future__ import annotations

import bisect
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from unittest import mock

import pynvml as real_pynvml

MODULUS_MJ = 2**64


@dataclass
class FakeGpu:
    power_w: float = 200.0
    counter_start_mj: int = 1_000_000
    step_s: float = 0.1
    has_counter: bool = True
    default_limit_w: float = 700.0
    limit_w: float = 700.0
    temperature_c: int = 45
    sm_clock_mhz: int = 1980
    name: str = "Fake H100"
    uuid: str = ""
    lost: bool = False
    # piecewise-constant power: change times, energy at change [J], power after [W]
    _t: list = field(default_factory=list)
    _e: list = field(default_factory=list)
    _p: list = field(default_factory=list)

    def start(self, t0: float) -> None:
        self.t0 = t0
        self._t, self._e, self._p = [t0], [0.0], [self.power_w]

    def set_power(self, power_w: float, now: float) -> None:
        # times last: a reader on another thread (bisect on _t) never sees a change without its energy/power
        self._e.append(self.true_energy_j(now))
        self._p.append(power_w)
        self._t.append(now)
        self.power_w = power_w

    def true_energy_j(self, t: float) -> float:
        k = max(0, bisect.bisect_right(self._t, t) - 1)
        return self._e[k] + self._p[k] * (t - self._t[k])

    def counter_mj(self, t: float) -> int:
        boundary = self.t0 + int((t - self.t0) / self.step_s) * self.step_s
        return (self.counter_start_mj + int(round(self.true_energy_j(boundary) * 1000))) % MODULUS_MJ


class ManualClock:
    """A monotonic clock [s] that moves only when told (``advance``, or ``step_s`` at every read):
    pass it as the meter's ``clock=`` and the simulated GPU's, and windows last exactly what the test says."""

    def __init__(self, start_s: float = 1000.0, step_s: float = 0.0):
        self.t = start_s
        self.step_s = step_s
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.t += self.step_s
            return self.t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds


class FakeNvml:
    """Simulated NVML; ``module`` is what gets installed as ``sys.modules['pynvml']``.
    Its time is ``clock`` (default :func:`time.perf_counter`)."""

    def __init__(self, gpus: list[FakeGpu] | None = None, init_error: int | None = None, clock=time.perf_counter):
        self.clock = clock
        self.gpus = gpus if gpus is not None else [FakeGpu()]
        self.init_error = init_error
        self.failing: dict[str, int] = {}  # function name -> NVML error code raised
        self.initialised = 0
        now = clock()
        for gpu in self.gpus:
            gpu.start(now)
        self.module = self._build_module()

    # simulation helpers for tests
    def set_power(self, index: int, power_w: float) -> None:
        self.gpus[index].set_power(power_w, self.clock())

    def true_energy_j(self, index: int, t0: float, t1: float) -> float:
        g = self.gpus[index]
        return g.true_energy_j(t1) - g.true_energy_j(t0)

    # NVML functions
    def _check(self, name: str) -> None:
        if name in self.failing:
            raise real_pynvml.NVMLError(self.failing[name])

    def _gpu(self, handle) -> FakeGpu:
        gpu = self.gpus[handle]
        if gpu.lost:
            raise real_pynvml.NVMLError(real_pynvml.NVML_ERROR_GPU_IS_LOST)
        return gpu

    def nvmlInit(self):
        if self.init_error is not None:
            raise real_pynvml.NVMLError(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self):
        self.initialised -= 1

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        if not 0 <= index < len(self.gpus):
            raise real_pynvml.NVMLError(real_pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return index

    def nvmlDeviceGetName(self, handle):
        return self._gpu(handle).name

    def nvmlDeviceGetUUID(self, handle):
        return self._gpu(handle).uuid or f"GPU-00000000-0000-0000-0000-{handle:012d}"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        self._check("nvmlDeviceGetTotalEnergyConsumption")
        gpu = self._gpu(handle)
        if not gpu.has_counter:
            raise real_pynvml.NVMLError(real_pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu.counter_mj(self.clock())

    def nvmlDeviceGetPowerUsage(self, handle):
        self._check("nvmlDeviceGetPowerUsage")
        return int(round(self._gpu(handle).power_w * 1000))

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle):
        return int(self._gpu(handle).default_limit_w * 1000)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):
        self._check("nvmlDeviceGetEnforcedPowerLimit")
        return int(self._gpu(handle).limit_w * 1000)

    def nvmlDeviceGetTemperature(self, handle, sensor):
        self._check("nvmlDeviceGetTemperature")
        assert sensor == real_pynvml.NVML_TEMPERATURE_GPU
        return self._gpu(handle).temperature_c

    def nvmlDeviceGetClockInfo(self, handle, type):
        self._check("nvmlDeviceGetClockInfo")
        assert type == real_pynvml.NVML_CLOCK_SM
        return self._gpu(handle).sm_clock_mhz

    def nvmlSystemGetDriverVersion(self):
        return "580.00"

    def _build_module(self) -> types.ModuleType:
        module = types.ModuleType("pynvml")
        for name in dir(real_pynvml):
            value = getattr(real_pynvml, name)
            if name.startswith("NVML_") or (isinstance(value, type) and issubclass(value, Exception)):
                setattr(module, name, value)
        for name in dir(self):
            if name.startswith("nvml"):
                setattr(
                    module, name,
                    mock.create_autospec(getattr(real_pynvml, name), side_effect=getattr(self, name)),
                )
        return module


def install(monkeypatch, double: FakeNvml) -> FakeNvml:
    """Make ``double`` the ``pynvml`` that greenai imports, for one test."""
    monkeypatch.setitem(sys.modules, "pynvml", double.module)
    return double


def installed(monkeypatch, gpus: list[FakeGpu], clock=time.perf_counter):
    """Fixture body: install a :class:`FakeNvml` of ``gpus``, yield it, and
    afterwards shut ``greenai.nvml`` down as often as the test left it open.

    Use as ``yield from installed(monkeypatch, [FakeGpu(power_w=200.0)])``.
    """
    from greenai import nvml

    double = install(monkeypatch, FakeNvml(gpus, clock=clock))
    yield double
    while nvml._init_count:
        nvml.shutdown()
