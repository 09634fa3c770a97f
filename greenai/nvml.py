"""Thin boundary to NVIDIA's management library (NVML).

This is the only module of :mod:`greenai` that imports ``pynvml``
(:mod:`greenai.energy`, :mod:`greenai.metadata` and :mod:`greenai.power` go
through it). It turns NVML's milliwatts and millijoules into watts and joules
once, here (:func:`mw_to_w`, :func:`mj_to_j`), takes counter differences
wrap-safe (:func:`energy_delta_mj`) and maps NVML's error codes to typed
exceptions whose messages say what to do. Every named :class:`Gpu` method is a
read-only ``nvmlDeviceGet*`` query. The one call of the package that changes a
GPU's state (its power limit) is made by :mod:`greenai.power`'s opt-in sweep,
through :meth:`Gpu.call`.

Tests replace ``pynvml`` (and only ``pynvml``) by a double — globally, or for
one :class:`Gpu` through its ``lib`` argument; everything above this boundary
runs for real.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

#: NVML's total-energy counter is an ``unsigned long long`` of millijoules.
ENERGY_COUNTER_MODULUS_MJ: int = 2**64


class NvmlError(RuntimeError):
    """An NVML query failed; ``code`` is NVML's error code (or ``None``)."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class NvmlUnavailable(NvmlError):
    """NVML cannot be used at all: no ``pynvml``, no driver library, no GPU."""


class NvmlNoPermission(NvmlUnavailable):
    """NVML refused for lack of permission (e.g. setting a power limit without root rights)."""


class NvmlNotSupported(NvmlError):
    """The GPU does not support this query (e.g. no energy counter before Volta)."""


class NvmlGpuLost(NvmlError):
    """The GPU fell off the bus or was reset while being measured."""


def _pynvml():
    """Import ``pynvml`` lazily so that a CPU-only install imports greenai."""
    try:
        import pynvml  # optional: pynvml
    except ImportError as exc:  # pragma: no cover - nvidia-ml-py is a dependency
        raise NvmlUnavailable(
            "the Python package nvidia-ml-py (module pynvml) is not installed; "
            "install it with `pip install nvidia-ml-py`"
        ) from exc
    return pynvml


def _translate(exc: Exception, what: str) -> NvmlError:
    """Map a ``pynvml.NVMLError`` to a typed :class:`NvmlError`."""
    lib = _pynvml()
    code = getattr(exc, "value", None)
    if code in (lib.NVML_ERROR_LIBRARY_NOT_FOUND, lib.NVML_ERROR_DRIVER_NOT_LOADED, lib.NVML_ERROR_UNINITIALIZED):
        return NvmlUnavailable(
            f"{what}: NVML is not usable ({exc}); is an NVIDIA driver installed and a GPU visible? "
            "(check `nvidia-smi`)",
            code,
        )
    if code == lib.NVML_ERROR_NO_PERMISSION:
        return NvmlNoPermission(f"{what}: no permission to query NVML ({exc})", code)
    if code in (lib.NVML_ERROR_NOT_SUPPORTED, getattr(lib, "NVML_ERROR_FUNCTION_NOT_FOUND", -1)):
        return NvmlNotSupported(f"{what}: not supported on this GPU/driver ({exc})", code)
    if code == lib.NVML_ERROR_GPU_IS_LOST:
        return NvmlGpuLost(f"{what}: the GPU is lost ({exc}); the measurement is invalid", code)
    return NvmlError(f"{what}: NVML error {code} ({exc})", code)


def _call(what: str, fn, *args, lib=None):
    lib = lib or _pynvml()
    try:
        return fn(*args)
    except lib.NVMLError as exc:
        raise _translate(exc, what) from exc


def mw_to_w(mw) -> float:
    """NVML milliwatts → watts (the one conversion)."""
    return mw / 1000.0


def mj_to_j(mj) -> float:
    """NVML millijoules → joules (the one conversion)."""
    return mj / 1000.0


_init_lock = threading.Lock()
_init_count = 0


def init(lib=None) -> None:
    """Initialise NVML (reference-counted; pair every call with :func:`shutdown`).

    ``lib``: a ``pynvml`` double to initialise instead (not reference-counted).

    Raises
    ------
    NvmlUnavailable
        No driver library, no driver loaded, or ``pynvml`` missing.
    """
    global _init_count
    if lib is not None:
        _call("nvmlInit", lib.nvmlInit, lib=lib)
        return
    lib = _pynvml()
    with _init_lock:
        if _init_count == 0:
            _call("nvmlInit", lib.nvmlInit)
        _init_count += 1


def shutdown(lib=None) -> None:
    """Release one :func:`init`; NVML is shut down when the last one is released."""
    global _init_count
    if lib is not None:
        with __import__("contextlib").suppress(lib.NVMLError):
            lib.nvmlShutdown()
        return
    lib = _pynvml()
    with _init_lock:
        if _init_count == 0:
            return
        _init_count -= 1
        if _init_count == 0:
            try:
                lib.nvmlShutdown()
            except lib.NVMLError:  # pragma: no cover - nothing useful to do at shutdown
                pass


def device_count() -> int:
    """Number of GPUs NVML sees (call :func:`init` first)."""
    return int(_call("nvmlDeviceGetCount", _pynvml().nvmlDeviceGetCount))


def driver_version() -> str:
    """The NVIDIA driver's version string (call :func:`init` first)."""
    return _text(_call("nvmlSystemGetDriverVersion", _pynvml().nvmlSystemGetDriverVersion))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def energy_delta_mj(start_mj: int, end_mj: int, modulus_mj: int = ENERGY_COUNTER_MODULUS_MJ) -> int:
    """Energy between two reads of a cumulative counter, across a wrap-around.

    Parameters
    ----------
    start_mj, end_mj : int
        Counter values at the start and the end [mJ].
    modulus_mj : int
        The counter wraps to 0 after ``modulus_mj - 1`` [mJ] (NVML: 2**64).

    Returns
    -------
    int
        ``(end - start) mod modulus`` [mJ]: a counter that wrapped once between
        the reads still gives the right difference.
    """
    if start_mj < 0 or end_mj < 0:
        raise ValueError(f"energy counter values must be non-negative, got {start_mj} and {end_mj}")
    return (int(end_mj) - int(start_mj)) % int(modulus_mj)


def bare_uuid(uuid: str) -> str:
    """A GPU's UUID in one form for comparisons: lower case, without NVML's ``GPU-`` prefix."""
    u = str(uuid).strip().lower()
    return u[4:] if u.startswith("gpu-") else u


def index_of_uuid(uuid: str) -> int:
    """NVML index of the GPU whose UUID is ``uuid`` (``GPU-…`` as NVML prints it, or bare).

    NVML numbers GPUs by their place on the host and ignores ``CUDA_VISIBLE_DEVICES``;
    CUDA and torch number only the visible ones. A process that sees physical GPU 1 as
    ``cuda:0`` must therefore meter NVML's GPU 1: the UUID is what both agree on.
    NVML must be initialised (:func:`init`).
    """
    lib = _pynvml()
    wanted = bare_uuid(uuid)
    for i in range(device_count()):
        handle = _call(f"nvmlDeviceGetHandleByIndex({i})", lib.nvmlDeviceGetHandleByIndex, i)
        got = _call("nvmlDeviceGetUUID", lib.nvmlDeviceGetUUID, handle)
        if bare_uuid(got.decode() if isinstance(got, bytes) else got) == wanted:
            return i
    raise NvmlError(f"no GPU with UUID {uuid!r} among the {device_count()} that NVML sees")


@dataclass(frozen=True)
class EdgeState:
    """Read-only GPU state at a window edge; NaN where the GPU cannot say."""

    temperature_c: float
    sm_clock_mhz: float
    power_limit_w: float


class Gpu:
    """One GPU seen through NVML, addressed by its NVML index.

    Every named method is a read-only query; :meth:`call` serves :mod:`greenai.power`'s power-limit setter.
    Units: W, J (as mJ integers for the raw counter), °C, MHz.
    """

    def __init__(self, index: int, lib=None):
        self._lib = lib
        lib = self._nvml()
        self.index = int(index)
        self._handle = _call(f"nvmlDeviceGetHandleByIndex({index})", lib.nvmlDeviceGetHandleByIndex, self.index,
                             lib=self._lib)
        name = _call("nvmlDeviceGetName", lib.nvmlDeviceGetName, self._handle, lib=self._lib)
        self.name = _text(name)

    def _nvml(self):
        return self._lib or _pynvml()

    def _get(self, what: str, *args):
        lib = self._nvml()
        return _call(what, getattr(lib, what), self._handle, *args, lib=self._lib)

    def call(self, what: str, *args):
        """NVML's function ``what`` on this GPU's handle with ``args``, its errors typed (:class:`NvmlError`).

        For the one state-changing call, which lives in :mod:`greenai.power`; everything else here is a
        read-only method of this class.
        """
        return self._get(what, *args)

    def __repr__(self) -> str:
        return f"Gpu(index={self.index}, name={self.name!r})"

    def uuid(self) -> str:
        """NVML's UUID of this GPU (``GPU-…``)."""
        lib = _pynvml()
        got = _call("nvmlDeviceGetUUID", lib.nvmlDeviceGetUUID, self._handle)
        return got.decode() if isinstance(got, bytes) else str(got)

    def total_energy_mj(self) -> int:
        """NVML's cumulative energy counter since the driver loaded [mJ]."""
        return int(self._get("nvmlDeviceGetTotalEnergyConsumption"))

    def supports_energy_counter(self) -> tuple[bool, str]:
        """Whether the energy counter can be read, and why not if it cannot."""
        try:
            self.total_energy_mj()
        except NvmlNotSupported as exc:
            return False, str(exc)
        return True, ""

    def power_w(self) -> float:
        """The power NVML reports now (a driver-side moving average) [W]."""
        return mw_to_w(self._get("nvmlDeviceGetPowerUsage"))

    def default_power_limit_w(self) -> float:
        """The board's default (rated) power limit, used as its TDP [W]."""
        return mw_to_w(self._get("nvmlDeviceGetPowerManagementDefaultLimit"))

    def power_limit_w(self) -> float:
        """The power limit enforced now [W]."""
        return mw_to_w(self._get("nvmlDeviceGetEnforcedPowerLimit"))

    def power_management_limit_w(self) -> float:
        """The power limit set (by default or by an administrator) [W]."""
        return mw_to_w(self._get("nvmlDeviceGetPowerManagementLimit"))

    def power_limit_constraints_w(self) -> tuple[float, float]:
        """The (min, max) power limit this GPU accepts [W]."""
        low, high = self._get("nvmlDeviceGetPowerManagementLimitConstraints")
        return mw_to_w(low), mw_to_w(high)

    def memory_total_gib(self) -> float:
        """Total device memory [GiB]."""
        return self._get("nvmlDeviceGetMemoryInfo").total / 2**30

    def temperature_c(self) -> float:
        """GPU die temperature [°C]."""
        return float(self._get("nvmlDeviceGetTemperature", self._nvml().NVML_TEMPERATURE_GPU))

    def sm_clock_mhz(self) -> float:
        """Current SM clock [MHz]."""
        return float(self._get("nvmlDeviceGetClockInfo", self._nvml().NVML_CLOCK_SM))

    def edge_state(self) -> EdgeState:
        """Temperature, SM clock and power limit now; NaN for what is not supported."""
        return EdgeState(
            temperature_c=_or_nan(self.temperature_c),
            sm_clock_mhz=_or_nan(self.sm_clock_mhz),
            power_limit_w=_or_nan(self.power_limit_w),
        )


def _or_nan(read) -> float:
    try:
        return float(read())
    except (NvmlNotSupported, NvmlError):
        return float("nan")
