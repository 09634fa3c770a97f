"""``import greenai``: the front door (``greenai.measure``, ``EnergyMeter``, ``Measurement``, ``predict_run``)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from nvml_double import FakeGpu, ManualClock, installed

import greenai


@pytest.fixture
def clock():
    return ManualClock(step_s=0.0)


@pytest.fixture
def gpu_300w(monkeypatch, clock):
    yield from installed(monkeypatch, [FakeGpu(power_w=300.0, step_s=1e-3)], clock=clock)


def test_import_greenai_loads_neither_torch_nor_nvml():
    code = ("import sys, greenai; assert greenai.measure and greenai.EnergyMeter and greenai.Measurement; "
            "print(sorted(m for m in ('torch', 'pynvml', 'statsmodels', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert {"measure", "EnergyMeter", "Measurement", "predict_run"} <= set(dir(greenai))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        greenai.nope


def test_measure_as_a_context_manager_meters_the_block(gpu_300w, clock):
    lines = []
    with greenai.measure(key="train", log=lines.append, clock=clock) as run:
        clock.advance(2.0)
    assert run.duration_s == pytest.approx(2.0)
    assert run.energy_j == pytest.approx(600.0, abs=1.0)  # 300 W x 2 s, one counter step at each edge
    assert run.measurement.method == "counter" and run.measurement.key == "train"
    assert lines == [f"train: 2.000 s, {run.energy_j:.1f} J ({run.energy_j / 3600:.4f} Wh), "
                     f"{run.energy_j / 2.0:.1f} W average (counter)"]


def test_measure_as_a_decorator_meters_every_call(gpu_300w, clock):
    tracker = greenai.measure(clock=clock)

    @tracker
    def work(seconds):
        clock.advance(seconds)
        return seconds * 2

    assert work(1.0) == 2.0
    assert tracker.energy_j == pytest.approx(300.0, abs=1.0)
    assert work(3.0) == 6.0
    assert tracker.duration_s == pytest.approx(3.0) and tracker.energy_j == pytest.approx(900.0, abs=1.0)


def test_measure_without_a_gpu_says_why_and_keeps_the_time(monkeypatch):
    from nvml_double import FakeNvml, install
    import pynvml

    install(monkeypatch, FakeNvml([FakeGpu()], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED))
    lines = []
    with greenai.measure(log=lines.append) as run:
        pass
    assert math.isnan(run.energy_j) and run.duration_s >= 0
    assert len(lines) == 1 and "GPU energy unavailable" in lines[0]


def test_a_block_that_raises_is_still_measured_and_the_error_propagates(gpu_300w, clock):
    tracker = greenai.measure(clock=clock)
    with pytest.raises(KeyError):
        with tracker:
            clock.advance(1.0)
            raise KeyError("x")
    assert tracker.energy_j == pytest.approx(300.0, abs=1.0)
    assert "the measured block raised an exception" in tracker.measurement.warnings


def test_one_measure_does_not_nest(gpu_300w, clock):
    tracker = greenai.measure(clock=clock)
    with tracker:
        with pytest.raises(RuntimeError, match="does not nest"):
            with tracker:
                pass
