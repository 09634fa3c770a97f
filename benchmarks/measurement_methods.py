"""Record the same windows measured by all four energy methods at once (GPU).

For notebook 01 (thesis 2.1-2.2): one :class:`greenai.energy.EnergyMeter`
runs ``counter``, ``sampled`` (10 ms), ``smi`` (1 Hz, the thesis' method) and
``tdp`` (rated power × time, CodeCarbon's estimate) on identical windows of
three workloads, with the load running continuously across windows so every
window sees steady state:

- ``idle``: nothing runs, this process holds a CUDA context;
- ``matmul``: back-to-back 8192×8192 bf16 matrix multiplies;
- ``alexnet``: AlexNet training steps (batch 256, 1×224×224, SGD) on synthetic
  data resident on the GPU;
- ``alexnet_from_idle``: the same, but every window starts after 1.5 s of idle
  (outside the window), as an epoch that follows evaluation or data loading:
  the window contains the ramp-up that lagging power readings miss;
- ``bursty``: 30 ms of matrix multiplies then 70 ms of nothing, repeated: a load
  that changes faster than NVML's power average.

Window lengths go from 0.2 s to 60 s with repeats (more repeats for short
windows), in a shuffled order. Rows are appended to the CSV as they are
measured, and a ``.meta.json`` (GPU, driver, torch, CUDA, date) is written
beside it.

Usage (on a GPU)::

    PYTHONPATH=. python benchmarks/measurement_methods.py [--csv results/raw/measurement_methods.csv]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
import traceback
from pathlib import Path

import torch

from greenai import metadata, paths
from greenai.energy import METHODS, EnergyMeter, measurement_row

#: target window length [s] -> repeats, per workload
SCHEDULES: dict[str, dict[float, int]] = {
    "idle": {0.2: 5, 0.5: 5, 1.0: 5, 2.0: 3, 5.0: 3, 10.0: 2},
    "matmul": {0.2: 5, 0.5: 5, 1.0: 5, 2.0: 3, 5.0: 3, 10.0: 2, 30.0: 1},
    "alexnet": {0.2: 5, 0.5: 5, 1.0: 5, 2.0: 3, 5.0: 3, 10.0: 2, 30.0: 1, 60.0: 1},
    "alexnet_from_idle": {1.0: 3, 2.0: 2, 5.0: 2, 10.0: 1},
    "bursty": {2.0: 2, 5.0: 1, 10.0: 1},
}
#: idle time before each window of ``alexnet_from_idle`` [s]
IDLE_GAP_S = 1.5
#: on/off time of the ``bursty`` load [s]
BURST_ON_S, BURST_OFF_S = 0.030, 0.070
QUICK_SCHEDULE: dict[float, int] = {0.2: 2, 1.0: 1}
BATCH_SIZE = 256
IMAGE_SIZE = 224
MATMUL_N = 8192


def build_alexnet(device: str) -> tuple[torch.nn.Module, str]:
    """AlexNet with one input channel and 10 classes; says where it came from."""
    try:
        from greenai.models import build_model

        return build_model("alexnet", 1, 10).to(device), "greenai.models.build_model('alexnet', 1, 10)"
    except ImportError:
        import torchvision

        net = torchvision.models.alexnet(num_classes=10)
        model = torch.nn.Sequential(_RepeatChannels(3), net)
        return model.to(device), "torchvision.models.alexnet(num_classes=10) with 1->3 channel repeat"


class _RepeatChannels(torch.nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x.repeat(1, self.n, 1, 1)


def alexnet_step_fn(device: str, batch_size: int | None = None, image_size: int = IMAGE_SIZE):
    """A closure running one AlexNet training step on GPU-resident synthetic data."""
    batch_size = batch_size or BATCH_SIZE
    model, source = build_alexnet(device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(batch_size, 1, image_size, image_size, device=device, generator=gen)
    y = torch.randint(0, 10, (batch_size,), device=device, generator=gen)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step, source


def matmul_step_fn(device: str, n: int | None = None):
    n = n or MATMUL_N
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    out = torch.empty_like(a)

    def step() -> None:
        torch.matmul(a, b, out=out)

    return step, f"{n}x{n} {dtype} matmul"


def bursty_step_fn(device: str, on_s: float = BURST_ON_S, off_s: float = BURST_OFF_S):
    matmul, _ = matmul_step_fn(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def step() -> None:
        start = time.perf_counter()
        while time.perf_counter() - start < on_s:
            for _ in range(4):
                matmul()
            sync()
        time.sleep(off_s)

    return step, f"{on_s * 1000:g} ms of {MATMUL_N}x{MATMUL_N} bf16 matmuls, then {off_s * 1000:g} ms idle"


def run_for(step, seconds: float, sync) -> int:
    """Run ``step`` back to back for ``seconds`` [s]; returns the number of steps.

    The GPU queue is drained after every step so that the loop ends when the
    work ends, not when the CPU stopped queueing it.
    """
    deadline = time.perf_counter() + seconds
    steps = 0
    if step is None:
        time.sleep(seconds)
        return 0
    while time.perf_counter() < deadline:
        step()
        sync()
        steps += 1
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=paths.RAW_DIR / "measurement_methods.csv")
    parser.add_argument("--workloads", nargs="+", default=list(SCHEDULES), choices=list(SCHEDULES))
    parser.add_argument("--quick", action="store_true", help="tiny schedule (a smoke test)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--gpu", type=int, default=0, help="NVML index of the GPU to meter")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    device = args.device
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    if device.startswith("cuda"):
        torch.cuda.init()
        torch.zeros(1, device=device)  # hold a CUDA context from here on
    rng = random.Random(args.seed)
    started = time.time()
    meter = EnergyMeter(gpu_indices=[args.gpu], methods=METHODS, sample_period_s=0.010)
    print(f"meter methods {meter.methods}, GPUs {meter.gpus}", flush=True)
    idle = meter.measure_idle(3.0)
    print(f"idle baseline {idle.power_w:.1f} W ({idle.idle_kind})", flush=True)

    args.csv.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    f = args.csv.open("a", newline="")
    write_header = args.csv.stat().st_size == 0
    n_rows = 0
    failures = []
    try:
        for workload in args.workloads:
            try:
                if workload == "idle":
                    step, detail = None, "no work; CUDA context held"
                elif workload == "matmul":
                    step, detail = matmul_step_fn(device)
                elif workload == "bursty":
                    step, detail = bursty_step_fn(device)
                else:
                    step, detail = alexnet_step_fn(device)
                    if workload == "alexnet_from_idle":
                        detail = f"{IDLE_GAP_S:g} s idle before each window"
                run_for(step, 0.5 if args.quick else (2.0 if workload != "idle" else 0.0), sync)  # warm-up (cuDNN autotune, clocks)
                schedule = QUICK_SCHEDULE if args.quick else SCHEDULES[workload]
                windows = [(length, r) for length, repeats in schedule.items() for r in range(repeats)]
                rng.shuffle(windows)
                for order, (length, repeat) in enumerate(windows):
                    key = f"{workload}-{length:g}s-{repeat}"
                    if workload == "alexnet_from_idle":
                        time.sleep(IDLE_GAP_S)
                    meter.begin_window(key)
                    steps = run_for(step, length, sync)
                    m = meter.end_window(key)
                    row = {
                        "workload": workload,
                        "workload_detail": detail,
                        "target_window_s": length,
                        "repeat": repeat,
                        "order": order,
                        "steps": steps,
                        "batch_size": BATCH_SIZE if workload.startswith("alexnet") else "",
                        "gpu_name": meter.gpus[0].name,
                        "sample_period_s": meter.sample_period_s,
                        "data_source": "synthetic" if workload.startswith("alexnet") else "",
                        **measurement_row(m),
                    }
                    if writer is None:
                        writer = csv.DictWriter(f, fieldnames=list(row))
                        if write_header:
                            writer.writeheader()
                    writer.writerow(row)
                    f.flush()
                    n_rows += 1
                    e = m.energy_by_method
                    print(
                        f"{key:>18}: {m.duration_s:6.2f} s  counter {e['counter']:8.1f} J  sampled {e['sampled']:8.1f}"
                        f"  smi {e['smi']:8.1f}  tdp {e['tdp']:8.1f}  updates {m.counter_updates}",
                        flush=True,
                    )
            except Exception:  # keep the other workloads' rows
                failures.append(workload)
                traceback.print_exc()
    finally:
        f.close()
        meter.close()
    metadata.write_meta(
        args.csv,
        campaign="measurement_methods",
        description="same windows measured by counter, sampled@10ms, smi@1Hz and tdp; see benchmarks/measurement_methods.py",
        rows_written=n_rows,
        failed_workloads=failures,
        duration_s=round(time.time() - started, 1),
        precision="alexnet fp32 (torch defaults: cuDNN conv TF32 allowed, matmul TF32 off); matmul bf16",
        alexnet_model=_model_source(),
        idle_baseline_w=idle.power_w,
        idle_kind=idle.idle_kind,
        quick=args.quick,
        warmup_s="4 s before each workload up to commit 0a1c71b, 2 s after; none for idle",
    )
    print(f"{n_rows} rows -> {args.csv}; failures: {failures or 'none'}", flush=True)
    return 1 if failures else 0


def _model_source() -> str:
    try:
        import greenai.models  # noqa: F401

        return "greenai.models.build_model('alexnet', 1, 10)"
    except ImportError:
        return "torchvision.models.alexnet(num_classes=10) with 1->3 channel repeat"


if __name__ == "__main__":
    sys.exit(main())
