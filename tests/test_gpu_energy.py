"""The meter on a real NVIDIA GPU (``pytest -m gpu``); skipped on CPU CI.

Read-only: these tests never change the GPU's power limit, clocks or modes.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

from greenai import nvml, paths  # noqa: E402
from greenai.energy import EnergyMeter  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA"),
]


@pytest.fixture(scope="module")
def matmul():
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)

    def load(seconds: float) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(10):
                a @ b
            torch.cuda.synchronize()

    load(1.0)  # warm-up
    return load


def test_auto_picks_the_counter_on_this_gpu():
    with EnergyMeter(gpu_indices=[0], methods="auto") as meter:
        assert meter.methods == ("counter",)
        print(f"GPU 0: {meter.gpus[0].name}")


def test_counter_under_load_is_plausible_and_agrees_with_sampling(matmul):
    with EnergyMeter(gpu_indices=[0], methods=("counter", "sampled", "smi", "tdp")) as meter:
        meter.begin_window("load")
        matmul(4.0)
        m = meter.end_window("load")
    e = m.energy_by_method
    print(f"4 s bf16 matmul: {m.duration_s:.2f} s, counter {e['counter']:.0f} J ({m.power_w:.0f} W), "
          f"sampled {e['sampled']:.0f} J, smi {e['smi']:.0f} J, tdp {e['tdp']:.0f} J, "
          f"{m.counter_updates} updates, ±{m.uncertainty_j:.0f} J, edges {m.edges}")
    assert m.method == "counter"
    assert 150.0 < m.power_w < 800.0
    # NVML power is a lagging average covering part of the time: expect agreement within 25 %
    assert e["sampled"] == pytest.approx(e["counter"], rel=0.25)
    assert e["smi"] == pytest.approx(e["counter"], rel=0.35)
    # ~100 ms counter period on H100 (allow 20-200 ms)
    assert m.duration_s / 0.2 <= m.counter_updates <= m.duration_s / 0.02
    assert 0 < m.uncertainty_j < 0.2 * m.energy_j
    for edge in ("begin", "end"):
        state = m.edges[edge][0]
        assert 5.0 < state["temperature_c"] < 100.0
        assert state["sm_clock_mhz"] > 100.0
        assert 50.0 < state["power_limit_w"] < 1500.0
    assert not any("shorter" in w for w in m.warnings)


def test_idle_baseline_and_energy_above_idle(matmul):
    with EnergyMeter(gpu_indices=[0]) as meter:
        idle = meter.measure_idle(2.0)
        print(f"idle {idle.power_w:.1f} W ({idle.idle_kind})")
        assert 20.0 < idle.power_w < 400.0
        assert "holding a CUDA context" in idle.idle_kind
        with meter.window("load") as w:
            matmul(2.5)
    m = w.measurement
    assert m.energy_above_idle_j > 0
    assert m.energy_above_idle_j == pytest.approx(m.energy_j - idle.power_w * m.duration_s)


def test_end_window_waits_for_queued_gpu_work():
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.float32)
    torch.cuda.synchronize()
    with EnergyMeter(gpu_indices=[0]) as meter:
        meter.begin_window("queued")
        start, done = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(60):  # ~1 s of FP32 work queued in a few ms
            a @ a
        done.record()
        m = meter.end_window("queued")
        assert done.query(), "end_window returned before the GPU finished the queued work"
    gpu_s = start.elapsed_time(done) / 1000.0
    print(f"queued work {gpu_s:.3f} s on the GPU, window {m.duration_s:.3f} s")
    assert m.duration_s >= gpu_s * 0.98


def test_nvml_reads_are_read_only_and_in_units():
    nvml.init()
    try:
        gpu = nvml.Gpu(0)
        limit_before = gpu.power_limit_w()
        e0 = gpu.total_energy_mj()
        time.sleep(0.3)
        e1 = gpu.total_energy_mj()
        assert nvml.energy_delta_mj(e0, e1) > 0  # idle draw alone advances it
        assert 100.0 < gpu.default_power_limit_w() < 1500.0
        assert 10.0 < gpu.power_w() < 1500.0
        assert gpu.power_limit_w() == limit_before
    finally:
        nvml.shutdown()


def test_cli_measures_a_gpu_command(tmp_path):
    code = "import torch,time; a=torch.randn(4096,4096,device='cuda'); t=time.time()\n" \
           "while time.time()-t<2: a@a; torch.cuda.synchronize()"
    proc = subprocess.run(
        [sys.executable, "-m", "greenai", "measure", "--csv", str(tmp_path / "m.csv"), "--", sys.executable, "-c", code],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)},
    )
    print(proc.stderr)
    assert proc.returncode == 0
    assert "method: counter" in proc.stderr and "Wh" in proc.stderr
    import pandas as pd

    row = pd.read_csv(tmp_path / "m.csv").iloc[0]
    assert row["energy_j"] > 0 and not math.isnan(row["power_w"])


def test_non_blocking_window_returns_before_the_gpu_finishes_and_matches_a_blocking_one():
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    out = torch.empty_like(a)

    def queue_work(n: int) -> None:
        for _ in range(n):
            torch.matmul(a, a, out=out)

    queue_work(20)
    torch.cuda.synchronize()
    with EnergyMeter(gpu_indices=[0]) as meter:
        meter.begin_window("whole")
        meter.begin_window("part-0", block=False)
        pending = []
        t = time.perf_counter()
        for i in range(4):
            queue_work(400)  # ≈0.5 s of GPU work each, queued in far less
            pending.append(meter.end_window(f"part-{i}", block=False, begin_next=f"part-{i + 1}" if i < 3 else None))
        queued_s = time.perf_counter() - t
        assert not pending[-1].done()  # the GPU is still working through the queue
        whole = meter.end_window("whole")
        parts = [p.result(timeout=60) for p in pending]
    total_s = sum(p.duration_s for p in parts)
    print(f"queued in {queued_s:.3f} s, GPU took {total_s:.2f} s; parts {[round(p.energy_j) for p in parts]} J, "
          f"sum {sum(p.energy_j for p in parts):.1f} J, whole {whole.energy_j:.1f} ± {whole.uncertainty_j:.1f} J")
    assert queued_s < total_s
    assert total_s == pytest.approx(whole.duration_s, abs=0.05)
    # shared edges: the parts add up to the whole within one counter step at each of its edges
    assert abs(sum(p.energy_j for p in parts) - whole.energy_j) <= whole.uncertainty_j
