"""What the meter costs: AlexNet training throughput with and without it (GPU).

Three configurations, run in alternating order, ``--repeats`` times each:

- ``none``: no meter;
- ``counter``: the default :class:`~greenai.energy.EnergyMeter` (``counter``
  method and its background thread counting counter updates), one window per
  epoch;
- ``counter_nopoll``: the same without that thread (``counter_poll_period_s=None``);
- ``sampled``: the ``sampled`` method polling power every 10 ms, one window
  per epoch.

An "epoch" is ``--steps`` training steps (batch 256, 1×224×224, synthetic data
on the GPU); the default 234 steps are one 60k-image Fashion-MNIST epoch.
Shorter epochs make the window edges weigh more. Writes ``meter_overhead.csv`` (one row per
run) and ``meter_overhead.md`` (the summary) into ``--out-dir``
(default ``results/benchmarks``).

Usage (on a GPU)::

    PYTHONPATH=. python benchmarks/meter_overhead.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measurement_methods import BATCH_SIZE, _model_source, alexnet_step_fn  # noqa: E402

from greenai import metadata, paths  # noqa: E402
from greenai.energy import EnergyMeter  # noqa: E402

#: configuration -> EnergyMeter keyword arguments (None: no meter)
CONFIGS: dict[str, dict | None] = {
    "none": None,
    "counter": dict(methods=("counter",)),  # the default meter, with its counter-update poller
    "counter_nopoll": dict(methods=("counter",), counter_poll_period_s=None),
    "sampled": dict(methods=("sampled",), sample_period_s=0.010),
}
#: the issue's bar for the counter method [%]
MAX_COUNTER_OVERHEAD_PCT = 1.0


def run_epochs(step, sync, epochs: int, steps: int, meter: EnergyMeter | None, tag: str) -> tuple[float, float]:
    """Train ``epochs`` × ``steps`` steps; returns (duration [s], metered energy [J])."""
    energy_j = 0.0
    sync()
    start = time.perf_counter()
    for epoch in range(epochs):
        if meter is not None:
            meter.begin_window(f"{tag}-epoch-{epoch}")
        for _ in range(steps):
            step()
        if meter is not None:
            energy_j += meter.end_window(f"{tag}-epoch-{epoch}").energy_j  # end_window synchronises
    sync()
    return time.perf_counter() - start, (energy_j if meter is not None else float("nan"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=paths.BENCHMARKS_DIR)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=234, help="training steps per epoch (= per meter window); 234 x 256 = one 60k-image epoch")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    args = parser.parse_args(argv)
    if "none" not in args.configs:
        parser.error("the 'none' configuration is the baseline and must be included")

    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    step, _ = alexnet_step_fn(args.device)
    for _ in range(30):  # warm-up: cuDNN autotune, clocks
        step()
    sync()
    nvml_timings = time_nvml_calls() if args.device.startswith("cuda") else {}

    rows = []
    for repeat in range(args.repeats):
        k = repeat % len(args.configs)
        order = args.configs[k:] + args.configs[:k]  # rotate so no config always runs first
        for config in order:
            meter = None
            if CONFIGS[config] is not None:
                meter = EnergyMeter(**CONFIGS[config])
            try:
                duration_s, energy_j = run_epochs(step, sync, args.epochs, args.steps, meter, f"{config}-{repeat}")
            finally:
                if meter is not None:
                    meter.close()
            images = args.epochs * args.steps * BATCH_SIZE
            rows.append(
                {
                    "config": config,
                    "repeat": repeat,
                    "epochs": args.epochs,
                    "steps_per_epoch": args.steps,
                    "batch_size": BATCH_SIZE,
                    "images": images,
                    "duration_s": duration_s,
                    "throughput_img_s": images / duration_s,
                    "metered_energy_j": energy_j,
                }
            )
            print(f"repeat {repeat} {config:>8}: {duration_s:.3f} s, {images / duration_s:.1f} img/s, {energy_j:.0f} J",
                  flush=True)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    csv_path = args.out_dir / "meter_overhead.csv"
    table.to_csv(csv_path, index=False)
    summary = summarize(table)
    md_path = args.out_dir / "meter_overhead.md"
    md_path.write_text(render_markdown(summary, args, metadata.environment_metadata(), nvml_timings))
    metadata.write_meta(csv_path, campaign="meter_overhead", model=_model_source(), precision="fp32 (torch defaults)",
                        data_source="synthetic")
    print(md_path.read_text(), flush=True)
    return 0


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Median throughput per configuration and its change against ``none`` [%]."""
    base = table[table.config == "none"]["throughput_img_s"]
    base_median = statistics.median(base)
    out = []
    for config, group in table.groupby("config", sort=False):
        t = group["throughput_img_s"]
        out.append(
            {
                "config": config,
                "runs": len(t),
                "median_img_s": statistics.median(t),
                "min_img_s": t.min(),
                "max_img_s": t.max(),
                "overhead_pct": 100.0 * (base_median - statistics.median(t)) / base_median,
            }
        )
    return pd.DataFrame(out)


def time_nvml_calls(repeats: int = 50) -> dict[str, float]:
    """Median wall time of the NVML reads the meter makes [ms] (GPU 0, idle)."""
    from greenai import nvml

    nvml.init()
    try:
        gpu = nvml.Gpu(0)
        calls = {
            "total_energy_mj (counter read)": gpu.total_energy_mj,
            "power_w": gpu.power_w,
            "edge_state (temperature, SM clock, power limit)": gpu.edge_state,
        }
        out = {}
        for name, call in calls.items():
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                call()
                times.append(time.perf_counter() - t)
            out[name] = 1000.0 * statistics.median(times)
        return out
    finally:
        nvml.shutdown()


def render_markdown(summary: pd.DataFrame, args, env: dict, nvml_timings: dict | None = None) -> str:
    gpu = env["gpus"][0]["name"] if env.get("gpus") else "no GPU"
    base = summary[summary.config == "none"].iloc[0]
    noise_pct = 100.0 * (base.max_img_s - base.min_img_s) / base.median_img_s
    lines = [
        "# Energy-meter overhead on AlexNet training throughput",
        "",
        f"{gpu}, driver {env.get('driver')}, torch {env.get('torch')}, {env.get('date_utc')}. "
        f"AlexNet, batch {BATCH_SIZE}, 1×224×224 synthetic data on the GPU, FP32 (torch defaults); "
        f"{args.epochs} epochs of {args.steps} steps per run, one meter window per epoch; "
        f"{args.repeats} alternating repeats per configuration. Written by `benchmarks/meter_overhead.py`.",
        "",
        "| configuration | runs | median img/s | min | max | overhead vs none |",
        "|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples(index=False):
        lines.append(
            f"| {r.config} | {r.runs} | {r.median_img_s:.1f} | {r.min_img_s:.1f} | {r.max_img_s:.1f} | {r.overhead_pct:+.2f} % |"
        )
    counter = summary[summary.config == "counter"]
    verdict = ""
    if len(counter):
        pct = float(counter.overhead_pct.iloc[0])
        verdict = (
            f"Counter method overhead {pct:+.2f} % "
            f"({'within' if pct <= MAX_COUNTER_OVERHEAD_PCT else 'ABOVE'} the {MAX_COUNTER_OVERHEAD_PCT:g} % bar); "
        )
    lines += ["", verdict + f"run-to-run spread without a meter: {noise_pct:.2f} % (max−min over median).", ""]
    if nvml_timings:
        lines += ["Median wall time of one NVML read (GPU 0, 50 calls):", ""]
        lines += [f"- {name}: {ms:.2f} ms" for name, ms in nvml_timings.items()]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
