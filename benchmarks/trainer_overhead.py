"""What the meter costs inside the package's own trainer: AlexNet epochs through
:meth:`greenai.train.Trainer.train_epoch` (``Trainer.window``, i.e. ``EnergyMeter.window``, CUDA-event
phase timing) with and without an :class:`~greenai.energy.EnergyMeter`.

``benchmarks/meter_overhead.py`` times a bare training step; this one times the
refactored trainer the campaign runs, one meter window per epoch. Configurations
``none`` (``meter=None``: the window only synchronises and times) and ``counter``
(the default meter) run in alternating order, ``--repeats`` times each. An "epoch"
is ``--steps`` steps at batch 256 over synthetic Fashion-MNIST-shaped data on the GPU
(default 234 steps: one 60k-image epoch). Writes ``meter_overhead_trainer.csv``,
``.md`` and ``.meta.json`` into ``--out-dir`` (default ``results/benchmarks``).

Usage (on a GPU; about 2 minutes on an H100/H200)::

    PYTHONPATH=. python3 benchmarks/trainer_overhead.py

CPU smoke test: ``--device cpu --steps 2 --epochs 1 --repeats 1 --image-size 64 --warmup-steps 1 --out-dir /tmp/x``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from meter_overhead import MAX_COUNTER_OVERHEAD_PCT, summarize  # noqa: E402

from greenai import data, metadata, models, paths, train  # noqa: E402
from greenai.energy import EnergyMeter  # noqa: E402

BATCH_SIZE = 256
CONFIGS = ("none", "counter")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=paths.BENCHMARKS_DIR)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=234, help="steps per epoch (= per meter window)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--warmup-steps", type=int, default=30)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("trainer_overhead: no GPU (CUDA not available); use --device cpu for a smoke test", file=sys.stderr)
        return 2

    torch.manual_seed(0)
    split = data.synthetic_split("fashion_mnist", train=True)
    batches = data.GpuBatches(split, BATCH_SIZE, device, image_size=args.image_size, shuffle=True, seed=0)
    model = models.build_model("alexnet", 1, 10).to(device)
    trainer = train.Trainer(model, batches, device)
    trainer.warmup(args.warmup_steps)
    stream = train.cycle_batches(batches)

    rows = []
    for repeat in range(args.repeats):
        order = CONFIGS[repeat % 2:] + CONFIGS[:repeat % 2]
        for config in order:
            meter = EnergyMeter(methods=("counter",)) if config == "counter" and device.type == "cuda" else None
            if config == "counter" and device.type != "cuda":
                meter = EnergyMeter(methods="auto")
            trainer.meter = meter
            try:
                train.synchronize(device)
                start = time.perf_counter()
                results = [trainer.train_epoch(e, max_steps=args.steps, batch_iter=stream) for e in range(args.epochs)]
                train.synchronize(device)
                duration_s = time.perf_counter() - start
            finally:
                trainer.meter = None
                if meter is not None:
                    meter.close()
            images = sum(r.samples for r in results)
            energy_j = sum(r.energy_j for r in results) if meter is not None else float("nan")
            rows.append({"config": config, "repeat": repeat, "epochs": args.epochs, "steps_per_epoch": args.steps,
                         "batch_size": BATCH_SIZE, "images": images, "duration_s": duration_s,
                         "throughput_img_s": images / duration_s, "metered_energy_j": energy_j,
                         "window_duration_s": sum(r.duration_s for r in results)})
            print(f"repeat {repeat} {config:>8}: {duration_s:.3f} s, {images / duration_s:.1f} img/s, "
                  f"{energy_j:.0f} J", flush=True)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    csv_path = args.out_dir / "meter_overhead_trainer.csv"
    table.to_csv(csv_path, index=False)
    summary = summarize(table)
    env = metadata.environment_metadata()
    gpu = env["gpus"][0]["name"] if env.get("gpus") else str(device)
    counter = float(summary[summary.config == "counter"].overhead_pct.iloc[0])
    lines = ["# Energy-meter overhead inside greenai's trainer (one window per epoch)", "",
             f"{gpu}, driver {env.get('driver')}, torch {env.get('torch')}, {env.get('date_utc')}. AlexNet, batch "
             f"{BATCH_SIZE}, 1×{args.image_size}×{args.image_size} synthetic data on the device, "
             f"`Trainer.train_epoch` ({args.epochs} epochs of {args.steps} steps per run), {args.repeats} alternating "
             f"repeats. Written by `benchmarks/trainer_overhead.py`.", "",
             "| configuration | runs | median img/s | min | max | overhead vs none |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.config} | {r.runs} | {r.median_img_s:.1f} | {r.min_img_s:.1f} | {r.max_img_s:.1f} | "
              f"{r.overhead_pct:+.2f} % |" for r in summary.itertuples(index=False)]
    lines += ["", f"Counter meter overhead {counter:+.2f} % "
                  f"({'within' if counter <= MAX_COUNTER_OVERHEAD_PCT else 'ABOVE'} the "
                  f"{MAX_COUNTER_OVERHEAD_PCT:g} % bar)."]
    md_path = args.out_dir / "meter_overhead_trainer.md"
    md_path.write_text("\n".join(lines) + "\n")
    metadata.write_meta(csv_path, campaign="meter_overhead_trainer", precision="fp32 (torch defaults)",
                        data_source="synthetic")
    print(md_path.read_text(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
