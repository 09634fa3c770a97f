"""greenai.energy: the meter, with only pynvml replaced by a simulated GPU
whose energy counter advances in 100 ms steps (tests/nvml_double.py)."""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pandas as pd
import pynvml as real_pynvml
import pytest

from greenai import nvml
from greenai.analysis import methods
from greenai.energy import EnergyMeter, GpuEnergyUnavailable, Measurement, WindowError, measurement_row
from greenai.energy.arithmetic import NOMINAL_COUNTER_PERIOD_S
from greenai.energy.edges import torch_indices
from greenai.rapl import RaplReader
from nvml_double import FakeGpu, FakeNvml, ManualClock, install, installed


@pytest.fixture
def clock():
    """The meter's and the simulated GPU's time: windows last exactly what a test says."""
    return ManualClock()


@pytest.fixture
def fake(monkeypatch, clock):
    yield from installed(monkeypatch, [FakeGpu(power_w=200.0)], clock=clock)


def timed_window(meter, key, seconds):
    """A window of ``seconds`` on the meter's clock (a :class:`ManualClock` is advanced; a real one slept on)."""
    meter.begin_window(key)
    (meter.clock.advance if isinstance(meter.clock, ManualClock) else time.sleep)(seconds)
    return meter.end_window(key)


def test_counter_window_matches_true_energy_within_its_uncertainty(fake, clock):
    with EnergyMeter(clock=clock, counter_poll_period_s=None) as meter:
        t0 = clock()
        m = timed_window(meter, "w", 1.0)
        t1 = clock()
    true_j = fake.true_energy_j(0, t0, t1)
    assert m.method == "counter"
    assert m.duration_s == pytest.approx(1.0, abs=1e-9)
    # one 100 ms step at 200 W is 20 J; the bound is one step at each edge (nominal period: not polled)
    assert m.uncertainty_j == pytest.approx(2 * m.power_w * NOMINAL_COUNTER_PERIOD_S)
    assert m.uncertainty_j == pytest.approx(40.0, rel=0.1)
    assert abs(m.energy_j - true_j) <= m.uncertainty_j
    assert m.power_w == pytest.approx(m.energy_j / m.duration_s)
    assert m.gpu_energy_j.keys() == {0}
    assert any("shorter than 2 s" in w for w in m.warnings)


@pytest.mark.parametrize("stalled_edge", ["begin", "end"])
def test_a_stall_between_the_counter_and_the_clock_does_not_skew_the_window(monkeypatch, stalled_edge):
    """The thread loses the CPU for 50 ms right after reading the counter at one edge (a busy machine
    preempts it, or another thread takes the GIL): the counter must not be dated 50 ms late.

    Dated late, a 1 s window at 200 W read 200 J over 1.05 s (end edge) or 210 J over 1 s (begin edge),
    and under load the simulated-GPU phase test failed on such a window."""
    clock = ManualClock()
    gen = installed(monkeypatch, [FakeGpu(power_w=200.0, step_s=0.001)], clock=clock)
    next(gen)
    stall = {"armed": False}
    read_counter = nvml.Gpu.total_energy_mj

    def stalled_read(self):
        value = read_counter(self)
        if stall["armed"]:
            stall["armed"] = False
            clock.advance(0.05)  # the stall: after the counter is read, before the meter's next statement
        return value

    monkeypatch.setattr(nvml.Gpu, "total_energy_mj", stalled_read)
    try:
        with EnergyMeter(methods=("counter",), clock=clock, counter_poll_period_s=None) as meter:
            stall["armed"] = stalled_edge == "begin"
            meter.begin_window("w")
            clock.advance(1.0)
            stall["armed"] = stalled_edge == "end"
            m = meter.end_window("w")
        assert not stall["armed"]
        # 200 W over the window's own duration, to within the counter's 1 ms step (0.2 J) at each edge
        assert m.energy_j == pytest.approx(200.0 * m.duration_s, abs=0.4 + 1e-9)
    finally:
        gen.close()


def test_the_poller_counts_counter_updates_inside_a_window(monkeypatch):
    """On real time: the poller reads the counter every 50 ms, the counter steps every 100 ms."""
    gen = installed(monkeypatch, [FakeGpu(power_w=200.0)])
    next(gen)
    try:
        with EnergyMeter() as meter:
            m = timed_window(meter, "w", 1.0)
        assert 8 <= m.counter_updates <= 11
        assert m.uncertainty_j == pytest.approx(40.0, rel=0.2)
    finally:
        gen.close()


def test_window_without_a_counter_update_still_bounds_its_error(monkeypatch):
    """A window the counter never advanced in reads 0 J; its uncertainty is not 0 but one step at
    the power limit at each edge (the window's own average power says nothing there)."""
    clock = ManualClock()
    gen = installed(monkeypatch, [FakeGpu(power_w=200.0, step_s=10.0, limit_w=650.0)], clock=clock)
    double = next(gen)
    try:
        with EnergyMeter(clock=clock) as meter:
            t0 = clock()
            m = timed_window(meter, "w", 0.05)
            t1 = clock()
        assert m.energy_j == 0.0 and m.counter_updates == 0
        assert m.uncertainty_j == pytest.approx(2 * 650.0 * NOMINAL_COUNTER_PERIOD_S)
        assert abs(m.energy_j - double.true_energy_j(0, t0, t1)) <= m.uncertainty_j
    finally:
        gen.close()


def test_a_counter_that_advanced_counts_at_least_one_update(monkeypatch):
    """A window shorter than the poller's period: the poller never looks inside it, but the edge
    reads differ, so the counter advanced at least once (it read 0 updates before)."""
    gen = installed(monkeypatch, [FakeGpu(power_w=200.0, step_s=0.0001)])
    next(gen)
    try:
        with EnergyMeter() as meter:
            windows = [timed_window(meter, f"w{i}", 0.002) for i in range(5)]
        advanced = [m for m in windows if m.energy_j > 0]
        assert advanced, "the simulated counter steps every 0.1 ms: 2 ms windows must see it advance"
        assert all(m.counter_updates >= 1 for m in advanced)
    finally:
        gen.close()


def test_all_methods_on_the_same_window(fake, clock):
    with EnergyMeter(methods=("counter", "sampled", "smi", "tdp"), clock=clock) as meter:
        m = timed_window(meter, "w", 1.2)
    e = m.energy_by_method
    assert set(e) == {"counter", "sampled", "smi", "tdp"}
    assert m.duration_s == pytest.approx(1.2, abs=1e-9)
    assert e["sampled"] == pytest.approx(200.0 * m.duration_s, rel=1e-9)  # constant power: exact
    assert e["smi"] == pytest.approx(200.0 * m.duration_s, rel=1e-6)  # constant power: exact
    assert e["tdp"] == pytest.approx(700.0 * m.duration_s, rel=1e-9)  # NVML default limit
    assert m.energy_j == e["counter"]


def test_smi_method_averages_one_hertz_readings(monkeypatch):
    """Power steps from 100 W to 300 W half-way: 1 Hz sampling sees few values (real time: the poller's)."""
    gen = installed(monkeypatch, [FakeGpu(power_w=200.0)])
    fake = next(gen)
    fake.set_power(0, 100.0)
    with EnergyMeter(methods=("counter", "smi", "sampled")) as meter:
        meter.begin_window("w")
        time.sleep(1.1)
        fake.set_power(0, 300.0)
        time.sleep(1.1)
        m = meter.end_window("w")
    counter, smi, sampled = (m.energy_by_method[k] for k in ("counter", "smi", "sampled"))
    assert sampled == pytest.approx(counter, rel=0.1)
    # smi saw 2-3 readings: its energy is a multiple of a reading times duration
    readings = smi / m.duration_s
    assert min(abs(readings - v) for v in (100.0, 200.0, 300.0, 500 / 3, 700 / 3)) < 1e-6
    gen.close()


def test_smi_without_reading_in_window_uses_last_and_warns(fake, clock):
    with EnergyMeter(methods=("smi",), clock=clock) as meter:
        clock.advance(0.05)
        m = timed_window(meter, "short", 0.2)
    assert m.energy_j == pytest.approx(200.0 * m.duration_s)
    assert any("no 1 Hz power reading" in w for w in m.warnings)
    assert m.counter_updates is None and math.isnan(m.uncertainty_j)


def test_counter_wrap_around(monkeypatch):
    clock = ManualClock()
    double = install(monkeypatch, FakeNvml([FakeGpu(power_w=300.0, counter_start_mj=2**64 - 40_000)], clock=clock))
    with EnergyMeter(clock=clock) as meter:
        m = timed_window(meter, "w", 0.5)
    assert 0 < m.energy_j < 300.0
    assert m.energy_j == pytest.approx(300.0 * 0.5, abs=m.uncertainty_j + 1)
    assert any("wrapped" in w for w in m.warnings)
    assert double.gpus[0].counter_mj(clock()) < 2**63  # it really wrapped


def test_idle_baseline_gives_energy_above_idle(fake, clock):
    fake.set_power(0, 70.0)
    with EnergyMeter(clock=clock) as meter:
        idle = meter.measure_idle(duration_s=1.0, sleep=clock.advance)
        assert idle.duration_s == pytest.approx(1.0, abs=1e-9)
        assert meter.idle_power_w[0] == pytest.approx(70.0, abs=15.0)
        fake.set_power(0, 270.0)
        m = timed_window(meter, "work", 2.0)
    assert idle.idle_kind.startswith("idle without a CUDA context")
    assert m.idle_power_w == pytest.approx(meter.idle_power_w[0])
    assert m.energy_above_idle_j == pytest.approx(m.energy_j - m.idle_power_w * m.duration_s)
    assert m.energy_above_idle_j == pytest.approx(200.0 * m.duration_s, abs=60.0)
    assert "without a CUDA context" in m.idle_kind
    assert not any("shorter" in w for w in m.warnings)


def test_without_idle_baseline_above_idle_is_nan(fake, clock):
    with EnergyMeter(clock=clock) as meter:
        m = timed_window(meter, "w", 0.1)
    assert math.isnan(m.idle_power_w) and math.isnan(m.energy_above_idle_j)


def test_window_keys(fake):
    with EnergyMeter() as meter:
        meter.begin_window("a")
        with pytest.raises(WindowError, match="already open"):
            meter.begin_window("a")
        meter.begin_window("a", restart=True)
        meter.begin_window("b")  # nested/overlapping windows are fine
        assert isinstance(meter.end_window("a"), Measurement)
        with pytest.raises(WindowError, match="no open window 'a'"):
            meter.end_window("a")
        meter.end_window("b")
    with pytest.raises(RuntimeError, match="closed"):
        meter.begin_window("c")


def test_window_context_manager(fake, clock):
    synced = []
    with EnergyMeter(clock=clock) as meter:
        with meter.window("block", sync=lambda: synced.append(clock())) as w:
            clock.advance(0.3)
        assert w.measurement.key == "block" and w.measurement.energy_j > 0
        assert w.duration_s == w.measurement.duration_s == pytest.approx(0.3, abs=1e-9)
        assert len(synced) == 2 and synced[1] - synced[0] == pytest.approx(0.3, abs=1e-9)  # before each edge
        with pytest.raises(KeyError):
            with meter.window("fails") as w2:
                raise KeyError("boom")
        assert "raised" in w2.measurement.warnings[-1]
        with pytest.raises(WindowError):
            meter.end_window("fails")  # was closed by the context manager


def test_two_gpus_are_summed(monkeypatch, clock):
    install(monkeypatch, FakeNvml([FakeGpu(power_w=100.0), FakeGpu(power_w=300.0)], clock=clock))
    with EnergyMeter(methods=("counter", "tdp"), tdp_w={0: 250.0, 1: 400.0}, clock=clock) as meter:
        m = timed_window(meter, "w", 1.0)
    assert m.gpu_energy_j.keys() == {0, 1}
    assert m.energy_j == pytest.approx(sum(m.gpu_energy_j.values()))
    assert m.gpu_energy_j[1] == pytest.approx(3 * m.gpu_energy_j[0], rel=0.35)
    assert m.energy_by_method["tdp"] == pytest.approx(650.0 * m.duration_s)
    assert m.edges["begin"].keys() == {0, 1} and m.edges["end"][1]["sm_clock_mhz"] == 1980.0


def test_gpu_indices_select_gpus(monkeypatch, clock):
    install(monkeypatch, FakeNvml([FakeGpu(power_w=100.0), FakeGpu(power_w=300.0)], clock=clock))
    with EnergyMeter(gpu_indices=[1], clock=clock) as meter:
        m = timed_window(meter, "w", 0.5)
    assert m.gpu_energy_j.keys() == {1}
    assert m.power_w == pytest.approx(300.0, rel=0.5)
    with pytest.raises(GpuEnergyUnavailable, match="out of range"):
        EnergyMeter(gpu_indices=[2], methods=("counter",))
    with EnergyMeter(gpu_indices=[2]) as meter:  # "auto": time only, saying why
        assert meter.methods == () and any("out of range" in note for note in meter.notes)


def test_no_nvml_auto_measures_time_only_with_nan(monkeypatch, clock):
    install(monkeypatch, FakeNvml(init_error=real_pynvml.NVML_ERROR_LIBRARY_NOT_FOUND))
    with EnergyMeter(clock=clock) as meter:  # the default is "auto"
        m = timed_window(meter, "w", 0.2)
        idle = meter.measure_idle(0.1, sleep=clock.advance)
    assert m.method == "none"
    assert m.duration_s == pytest.approx(0.2, abs=1e-9)
    assert math.isnan(m.energy_j) and math.isnan(m.power_w)  # never a silent zero
    assert any("GPU energy unavailable" in w and "NVML" in w for w in m.warnings)
    assert math.isnan(idle.energy_j) and meter.idle_power_w == {}
    assert m.edges == {}
    row = measurement_row(m)
    assert math.isnan(row["energy_j"]) and math.isnan(row["energy_counter_j"])


@pytest.mark.parametrize("method", ["counter", "sampled", "smi", "tdp"])
def test_no_nvml_explicit_gpu_method_raises_naming_cause(monkeypatch, method):
    install(monkeypatch, FakeNvml(init_error=real_pynvml.NVML_ERROR_DRIVER_NOT_LOADED))
    with pytest.raises(GpuEnergyUnavailable, match="NVIDIA driver"):
        EnergyMeter(methods=(method,))
    assert nvml._init_count == 0


def test_no_pynvml_at_all(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(GpuEnergyUnavailable, match="nvidia-ml-py"):
        EnergyMeter(methods=("counter",))
    with EnergyMeter() as meter:  # the default, "auto": time only, saying why
        assert meter.methods == () and meter.primary_method == "none"
        assert any("nvidia-ml-py" in note for note in meter.notes)


def test_gpu_without_counter(monkeypatch, clock):
    install(monkeypatch, FakeNvml([FakeGpu(power_w=150.0, has_counter=False)], clock=clock))
    with pytest.raises(GpuEnergyUnavailable, match="not supported on GPU 0"):
        EnergyMeter(methods=("counter",))
    with EnergyMeter(clock=clock) as meter:
        assert meter.methods == ("sampled",)
        m = timed_window(meter, "w", 0.5)
    assert m.energy_j == pytest.approx(150.0 * 0.5, rel=1e-9)  # constant power: the integral is exact
    assert any("no NVML energy counter" in w for w in m.warnings)
    assert math.isnan(m.uncertainty_j)


def test_gpu_lost_mid_window_raises_typed_error(fake):
    with EnergyMeter() as meter:
        meter.begin_window("w")
        fake.gpus[0].lost = True
        with pytest.raises(nvml.NvmlGpuLost):
            meter.end_window("w")


def test_polling_thread_failure_is_reported(fake):
    with EnergyMeter(methods=("sampled",)) as meter:
        meter.begin_window("w")
        fake.failing["nvmlDeviceGetPowerUsage"] = real_pynvml.NVML_ERROR_UNKNOWN
        time.sleep(0.1)
        with pytest.raises(GpuEnergyUnavailable, match="polling thread failed"):
            meter.end_window("w")


def test_power_limit_change_is_flagged(fake):
    with EnergyMeter() as meter:
        meter.begin_window("w")
        fake.gpus[0].limit_w = 300.0
        m = meter.end_window("w")
    assert m.edges["begin"][0]["power_limit_w"] == 700.0 and m.edges["end"][0]["power_limit_w"] == 300.0
    assert any("power limit changed" in w for w in m.warnings)


def test_invalid_arguments(fake):
    with pytest.raises(ValueError, match="unknown energy method"):
        EnergyMeter(methods=("joulemeter",))
    with pytest.raises(ValueError, match="sample_period_s"):
        EnergyMeter(sample_period_s=0)
    with pytest.raises(ValueError, match="tdp_w has no rated power"):
        EnergyMeter(methods=("tdp",), tdp_w={3: 100.0})
    assert nvml._init_count == 0  # a failed set-up releases NVML
    with pytest.raises(ValueError, match="distinct"):
        EnergyMeter(gpu_indices=[0, 0])
    assert nvml._init_count == 0
    with EnergyMeter(methods="sampled") as meter:  # a single name is accepted
        assert meter.methods == ("sampled",)


def test_measurement_row_is_flat(fake, clock):
    with EnergyMeter(methods=("counter", "tdp"), clock=clock) as meter:
        m = timed_window(meter, "epoch-1", 0.3)
    row = measurement_row(m)
    assert row["window"] == "epoch-1" and row["method"] == "counter"
    assert row["energy_counter_j"] == m.energy_j and math.isnan(row["energy_sampled_j"])
    assert row["gpu0_begin_temperature_c"] == 45.0 and "gpu0_end_power_limit_w" in row
    assert all(not isinstance(v, (dict, list)) for v in row.values())
    assert "shorter than 2 s" in row["warnings"]
    pd.DataFrame([row])  # one CSV row


def test_counter_updates_not_polled(fake, clock):
    with EnergyMeter(counter_poll_period_s=None, clock=clock) as meter:
        m = timed_window(meter, "w", 0.3)
    assert m.counter_updates is None and m.energy_j > 0
    assert m.uncertainty_j == pytest.approx(2 * m.power_w * NOMINAL_COUNTER_PERIOD_S)


def test_cpu_energy_from_rapl(fake, tmp_path):
    zone = tmp_path / "intel-rapl:0"
    (zone / "intel-rapl:0:0").mkdir(parents=True)  # a sub-zone, ignored
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text("1000000\n")
    (zone / "energy_uj").write_text("999000\n")
    with EnergyMeter(rapl_root=tmp_path) as meter:
        meter.begin_window("w")
        (zone / "energy_uj").write_text("4000\n")  # wrapped: 1000 + 1 + 4000 uJ
        m = meter.end_window("w")
    assert m.cpu_energy_j == pytest.approx(5001e-6)
    assert m.cpu_energy_note == ""


def test_cpu_energy_missing_is_nan_with_reason(fake, clock, tmp_path):
    with EnergyMeter(rapl_root=tmp_path / "absent", clock=clock) as meter:
        m = timed_window(meter, "w", 0.05)
    assert math.isnan(m.cpu_energy_j) and "no RAPL package zone" in m.cpu_energy_note
    zone = tmp_path / "intel-rapl:0"
    (zone / "energy_uj").mkdir(parents=True)  # unreadable as a number
    (zone / "name").write_text("package-0")
    (zone / "max_energy_range_uj").write_text("10")
    reader = RaplReader(tmp_path)
    assert not reader.available and "unreadable" in reader.reason
    assert math.isnan(reader.energy_j(reader.snapshot(), reader.snapshot()))


@pytest.mark.parametrize(
    "visible, expected",
    [(None, [0, 2]), ("2,0", [1, 0]), ("2", [0]), ("", []), ("GPU-abc", None)],
)
def test_torch_index_mapping(monkeypatch, visible, expected):
    if visible is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert torch_indices([0, 2]) == expected


def test_method_errors_and_summary():
    rows = pd.DataFrame(
        {
            "workload": ["a", "a", "b"],
            "duration_s": [1.0, 10.0, 10.0],
            "energy_counter_j": [100.0, 1000.0, 500.0],
            "energy_smi_j": [90.0, 950.0, 500.0],
            "energy_tdp_j": [700.0, 7000.0, 7000.0],
        }
    )
    errors = methods.method_errors(rows)
    assert set(errors["compared_method"]) == {"smi", "tdp"}
    smi = errors[errors.compared_method == "smi"]["relative_error"].to_numpy()
    np.testing.assert_allclose(smi, [-0.1, -0.05, 0.0])
    summary = methods.summarize_errors(errors, min_duration_s=5.0)
    a_tdp = summary[(summary.workload == "a") & (summary.compared_method == "tdp")].iloc[0]
    assert a_tdp["median"] == pytest.approx(6.0) and a_tdp["n"] == 1
    with pytest.raises(ValueError, match="reference"):
        methods.method_errors(rows.drop(columns="energy_counter_j"))
