"""greenai.power: the opt-in power-limit sweep tested with an autospec'd double
at the NVML boundary only (never a real GPU)."""

from unittest import mock

import pynvml
import pytest
from numpy.testing import assert_allclose

from greenai import power


class FakeGpu:
    """State behind the NVML double: a limit [mW] and an energy counter [mJ]."""

    def __init__(self, limit_mw=250_000, allowed=(100_000, 300_000), permission=True):
        self.limit_mw, self.allowed, self.permission = limit_mw, allowed, permission
        self.energy_mj = 0
        self.history = []

    def set_limit(self, handle, mw):
        if not self.permission:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NO_PERMISSION)
        self.limit_mw = mw
        self.history.append(mw)

    def step(self):
        self.energy_mj += self.limit_mw // 10  # a step draws energy in proportion to the limit


def nvml_double(gpu: FakeGpu):
    nvml = mock.create_autospec(pynvml, instance=False)
    nvml.NVMLError = pynvml.NVMLError
    nvml.NVML_ERROR_NO_PERMISSION = pynvml.NVML_ERROR_NO_PERMISSION
    nvml.nvmlDeviceGetHandleByIndex.return_value = "gpu0"
    nvml.nvmlDeviceGetPowerManagementLimit.side_effect = lambda h: gpu.limit_mw
    nvml.nvmlDeviceGetPowerManagementLimitConstraints.side_effect = lambda h: gpu.allowed
    nvml.nvmlDeviceSetPowerManagementLimit.side_effect = gpu.set_limit
    nvml.nvmlDeviceGetTotalEnergyConsumption.side_effect = lambda h: gpu.energy_mj
    return nvml


def ticking_clock():
    t = [0.0]

    def clock():
        t[0] += 1.0
        return t[0]

    return clock


def test_refuses_unless_enabled(monkeypatch):
    monkeypatch.delenv(power.ENABLE_ENV, raising=False)
    gpu = FakeGpu()
    with pytest.raises(power.PowerLimitError, match="off by default"):
        power.power_limit_sweep(gpu.step, [150], device=power.NvmlPowerLimits(lib=nvml_double(gpu)))
    assert gpu.history == []


def test_sweep_measures_each_limit_and_restores_the_original():
    gpu = FakeGpu(limit_mw=250_000)
    nvml = nvml_double(gpu)
    table = power.power_limit_sweep(gpu.step, [150, 200], steps_per_limit=4, warmup_steps=1, enable=True,
                                    device=power.NvmlPowerLimits(lib=nvml), clock=ticking_clock())
    assert table["power_limit_w"].tolist() == [150, 200]
    assert_allclose(table["energy_j"], [4 * 15.0, 4 * 20.0])  # 4 steps × limit/10 mJ → J
    assert_allclose(table["energy_per_step_j"], [15.0, 20.0])
    assert gpu.history == [150_000, 200_000, 250_000]
    assert gpu.limit_mw == 250_000


@pytest.mark.parametrize("error", [RuntimeError("training step failed"), KeyboardInterrupt()])
def test_original_limit_restored_on_exception_and_ctrl_c(error):
    gpu = FakeGpu(limit_mw=250_000)
    calls = []

    def step():
        calls.append(1)
        if len(calls) == 3:
            raise error

    with pytest.raises(type(error)):
        power.power_limit_sweep(step, [150, 200], steps_per_limit=5, warmup_steps=0, enable=True,
                                device=power.NvmlPowerLimits(lib=nvml_double(gpu)))
    assert gpu.limit_mw == 250_000 and gpu.history[-1] == 250_000


def test_missing_permission_is_explained():
    gpu = FakeGpu(permission=False)
    with pytest.raises(power.PowerLimitError, match="no permission.*root"):
        power.power_limit_sweep(gpu.step, [150], enable=True, device=power.NvmlPowerLimits(lib=nvml_double(gpu)))


def test_limits_outside_allowed_range_are_refused_before_any_change():
    gpu = FakeGpu(allowed=(100_000, 300_000))
    with pytest.raises(power.PowerLimitError, match="outside"):
        power.power_limit_sweep(gpu.step, [150, 400], enable=True, device=power.NvmlPowerLimits(lib=nvml_double(gpu)))
    assert gpu.history == []


def test_enable_through_environment(monkeypatch):
    monkeypatch.setenv(power.ENABLE_ENV, "1")
    gpu = FakeGpu()
    table = power.power_limit_sweep(gpu.step, [150], steps_per_limit=2, warmup_steps=0,
                                    device=power.NvmlPowerLimits(lib=nvml_double(gpu)), clock=ticking_clock())
    assert len(table) == 1 and gpu.limit_mw == 250_000


class WrappingGpu(FakeGpu):
    """A counter that wraps past 2**64 mJ during the measured steps."""

    def step(self):
        self.energy_mj = (self.energy_mj + self.limit_mw // 10) % 2**64


def test_sweep_energy_is_wrap_safe_through_the_nvml_boundary():
    gpu = WrappingGpu(limit_mw=200_000)
    gpu.energy_mj = 2**64 - 30_000  # wraps in the second of 4 steps of 20,000 mJ
    table = power.power_limit_sweep(gpu.step, [200], steps_per_limit=4, warmup_steps=0, enable=True,
                                    device=power.NvmlPowerLimits(lib=nvml_double(gpu)), clock=ticking_clock())
    assert_allclose(table["energy_j"], [80.0])  # 4 × 20,000 mJ = 80 J, not −1.8e16 J
