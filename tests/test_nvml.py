"""greenai.nvml: the read-only NVML boundary (pynvml replaced by a double)."""

from __future__ import annotations

import math
import sys

import pynvml as real_pynvml
import pytest

from greenai import nvml
from nvml_double import FakeGpu, FakeNvml, installed


@pytest.fixture
def fake(monkeypatch):
    yield from installed(monkeypatch, [FakeGpu(power_w=123.456, limit_w=650.0, default_limit_w=700.0)])


def test_energy_delta_plain_and_across_wrap():
    assert nvml.energy_delta_mj(1_000, 4_500) == 3_500
    # counter wrapped between the reads: 2**64 - 100 -> 400 is 500 mJ
    assert nvml.energy_delta_mj(2**64 - 100, 400) == 500
    assert nvml.energy_delta_mj(90, 10, modulus_mj=100) == 20


def test_energy_delta_rejects_negative():
    with pytest.raises(ValueError, match="non-negative"):
        nvml.energy_delta_mj(-1, 5)


def test_units_are_converted_once(fake):
    nvml.init()
    gpu = nvml.Gpu(0)
    assert gpu.name == "Fake H100"
    assert gpu.power_w() == pytest.approx(123.456)
    assert gpu.power_limit_w() == pytest.approx(650.0)
    assert gpu.default_power_limit_w() == pytest.approx(700.0)
    assert isinstance(gpu.total_energy_mj(), int)
    state = gpu.edge_state()
    assert (state.temperature_c, state.sm_clock_mhz, state.power_limit_w) == (45.0, 1980.0, 650.0)
    nvml.shutdown()


def test_init_is_reference_counted(fake):
    nvml.init()
    nvml.init()
    assert fake.initialised == 1
    nvml.shutdown()
    assert fake.initialised == 1
    nvml.shutdown()
    assert fake.initialised == 0
    nvml.shutdown()  # extra shutdown is harmless
    assert fake.initialised == 0


@pytest.mark.parametrize(
    "code, error",
    [
        (real_pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, nvml.NvmlUnavailable),
        (real_pynvml.NVML_ERROR_DRIVER_NOT_LOADED, nvml.NvmlUnavailable),
        (real_pynvml.NVML_ERROR_NO_PERMISSION, nvml.NvmlNoPermission),
    ],
)
def test_init_errors_are_typed(monkeypatch, code, error):
    double = FakeNvml(init_error=code)
    monkeypatch.setitem(sys.modules, "pynvml", double.module)
    with pytest.raises(error) as info:
        nvml.init()
    assert info.value.code == code
    assert nvml._init_count == 0


def test_missing_pynvml_is_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    with pytest.raises(nvml.NvmlUnavailable, match="nvidia-ml-py"):
        nvml.init()


def test_query_errors_are_typed(fake):
    nvml.init()
    gpu = nvml.Gpu(0)
    fake.gpus[0].has_counter = False
    assert gpu.supports_energy_counter()[0] is False
    with pytest.raises(nvml.NvmlNotSupported, match="not supported"):
        gpu.total_energy_mj()
    fake.failing["nvmlDeviceGetPowerUsage"] = real_pynvml.NVML_ERROR_UNKNOWN
    with pytest.raises(nvml.NvmlError, match="NVML error"):
        gpu.power_w()
    del fake.failing["nvmlDeviceGetPowerUsage"]
    fake.gpus[0].lost = True
    with pytest.raises(nvml.NvmlGpuLost, match="lost"):
        gpu.power_w()
    nvml.shutdown()


def test_edge_state_is_nan_where_unsupported(fake):
    nvml.init()
    fake.failing["nvmlDeviceGetTemperature"] = real_pynvml.NVML_ERROR_NOT_SUPPORTED
    state = nvml.Gpu(0).edge_state()
    assert math.isnan(state.temperature_c)
    assert state.sm_clock_mhz == 1980.0
    nvml.shutdown()


def test_nvml_errors_are_runtime_errors():
    assert issubclass(nvml.NvmlError, RuntimeError)
    assert issubclass(nvml.NvmlUnavailable, nvml.NvmlError)
    assert issubclass(nvml.NvmlNoPermission, nvml.NvmlUnavailable)


def test_index_of_uuid_maps_a_visible_gpu_to_its_nvml_index(monkeypatch):
    """torch's cuda:0 under CUDA_VISIBLE_DEVICES=1 is NVML's GPU 1: found by UUID, with or without 'GPU-'."""
    gpus = [FakeGpu(uuid="GPU-aaaa-0"), FakeGpu(uuid="GPU-bbbb-1"), FakeGpu(uuid="GPU-cccc-2")]
    from nvml_double import install

    install(monkeypatch, FakeNvml(gpus))
    nvml.init()
    try:
        assert nvml.index_of_uuid("GPU-bbbb-1") == 1
        assert nvml.index_of_uuid("cccc-2") == 2
        assert nvml.Gpu(2).uuid() == "GPU-cccc-2"
        with pytest.raises(nvml.NvmlError, match="no GPU with UUID"):
            nvml.index_of_uuid("dddd")
    finally:
        nvml.shutdown()
