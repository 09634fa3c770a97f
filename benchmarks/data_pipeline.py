"""Does the GPU-resident data pipeline keep the GPU fed? (issue #3)

ResNet18 at 224x224, batch 256, one epoch of Fashion-MNIST's 60,000 training
images through :class:`greenai.data.GpuBatches` (uint8 split on the GPU,
per-epoch shuffle, per-batch bilinear resize 28->224 and normalisation on the
GPU), against the same number of steps with the same batch sizes on a float
tensor that already sits on the GPU at 224x224 (the upper bound: no data work
at all). Target: the pipeline reaches >= 95% of that throughput.

Runs alternate (resident, pipeline, resident, pipeline, ...), each with a fresh
model and optimiser from the same seed, FP32 with PyTorch's default TF32
settings (recorded). For each run the epoch time is reported twice: whole
(the first steps include cuDNN/allocator warm-up) and with the first
``--warmup-steps`` steps excluded. The host-to-device copy of the whole split
(the thesis' "time to device") is timed on its own, and the data work alone
(an epoch of batches without the model) too.

Writes ``data_pipeline.csv`` (one row per run) with ``data_pipeline.meta.json``
and ``data_pipeline.md`` (summary) into ``--out-dir`` (default
``results/benchmarks``).

Usage (on a GPU, real data under ``$GREENAI_DATA_DIR``)::

    PYTHONPATH=. python benchmarks/data_pipeline.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from greenai import metadata, paths
from greenai.data import GpuBatches, load_dataset
from greenai.models import build_model

#: the issue's bar: pipeline throughput / resident-tensor throughput
TARGET_RATIO = 0.95


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_epoch(model, optimizer, batches, device: torch.device, warmup_steps: int) -> dict:
    """One pass over ``batches`` (iterable of ``(x, y)``); returns timings [s]."""
    model.train()
    _sync(device)
    start = time.perf_counter()
    warm_start = None
    steps = samples = warm_samples = 0
    for x, y in batches:
        if steps == warmup_steps:
            _sync(device)
            warm_start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        steps += 1
        samples += int(y.shape[0])
        if warm_start is not None:
            warm_samples += int(y.shape[0])
    _sync(device)
    end = time.perf_counter()
    return {
        "steps": steps,
        "samples": samples,
        "duration_s": end - start,
        "samples_per_s": samples / (end - start),
        "warm_steps": steps - min(warmup_steps, steps),
        "warm_duration_s": (end - warm_start) if warm_start is not None else float("nan"),
        "warm_samples_per_s": warm_samples / (end - warm_start) if warm_start is not None else float("nan"),
        "final_loss": float(loss.detach()),
    }


class ResidentBatches:
    """The same batch sizes as ``template``, all from one float tensor on the device."""

    def __init__(self, template: GpuBatches, device: torch.device, in_channels: int, image_size: int, classes: int):
        gen = torch.Generator(device="cpu").manual_seed(0)
        self.x = torch.randn(template.batch_size, in_channels, image_size, image_size, generator=gen).to(device)
        self.y = torch.randint(0, classes, (template.batch_size,), generator=gen).to(device)
        n, bs = template.num_samples, template.batch_size
        self.sizes = [min(bs, n - i * bs) for i in range(len(template))]

    def __iter__(self):
        for size in self.sizes:
            yield self.x[:size], self.y[:size]


def data_only_epoch(batches: GpuBatches, device: torch.device) -> float:
    """Seconds to produce one epoch of batches without any model [s]."""
    _sync(device)
    start = time.perf_counter()
    for x, _ in batches:
        pass
    _sync(device)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--pairs", type=int, default=2, help="(resident, pipeline) pairs of epochs")
    parser.add_argument("--warmup-steps", type=int, default=10)
    parser.add_argument("--synthetic", action="store_true", help="synthetic stand-in instead of real Fashion-MNIST")
    parser.add_argument("--root", type=Path, default=None, help="dataset root (default $GREENAI_DATA_DIR)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images (smoke tests)")
    parser.add_argument("--out-dir", type=Path, default=paths.BENCHMARKS_DIR)
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    t0 = time.perf_counter()
    split = load_dataset("fashion_mnist", train=True, root=args.root, synthetic=args.synthetic, limit=args.limit)
    load_s = time.perf_counter() - t0
    print(f"loaded {len(split)} images ({split.source}) in {load_s:.2f} s", flush=True)
    spec = split.spec
    batches = GpuBatches(split, args.batch_size, device, image_size=args.image_size, shuffle=True, seed=0)
    print(f"host->device copy of the split: {batches.h2d_s * 1e3:.1f} ms ({batches.h2d_bytes / 2**20:.1f} MiB)")
    resident = ResidentBatches(batches, device, spec.channels, args.image_size, spec.num_classes)

    rows = []
    run = 0
    for pair in range(args.pairs):
        for config in ("resident", "pipeline"):
            torch.manual_seed(0)
            model = build_model(args.model, in_channels=spec.channels, num_classes=spec.num_classes).to(device)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            source = resident if config == "resident" else batches
            timing = train_epoch(model, optimizer, source, device, args.warmup_steps)
            rows.append(
                {
                    "run": run,
                    "pair": pair,
                    "config": config,
                    "model": args.model,
                    "dataset": "fashion_mnist",
                    "data_source": split.source if config == "pipeline" else "resident_random",
                    "batch_size": args.batch_size,
                    "image_size": args.image_size,
                    **timing,
                }
            )
            print(
                f"run {run} {config:9s} {timing['duration_s']:.2f} s ({timing['samples_per_s']:.0f}/s), "
                f"after {args.warmup_steps} warm-up steps {timing['warm_samples_per_s']:.0f}/s",
                flush=True,
            )
            run += 1
            del model, optimizer
    data_s = data_only_epoch(batches, device)
    print(f"data work alone, one epoch: {data_s:.3f} s")

    table = pd.DataFrame(rows)
    table["h2d_s"] = batches.h2d_s
    table["h2d_bytes"] = batches.h2d_bytes
    table["data_only_epoch_s"] = data_s
    table["cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
    table["matmul_allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
    table["device_name"] = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"

    summary = summarize(table)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = args.out_dir / "data_pipeline.csv"
    table.to_csv(csv_path, index=False)
    metadata.write_meta(
        csv_path,
        campaign="data_pipeline",
        description="ResNet18 epoch: GpuBatches (real Fashion-MNIST on GPU) vs resident tensor",
        data_source=split.source,
        load_s=load_s,
        **{k: v for k, v in summary.items() if not isinstance(v, str)},
    )
    (args.out_dir / "data_pipeline.md").write_text(render(summary, table) + "\n")
    print(render(summary, table))
    return 0


def summarize(table: pd.DataFrame) -> dict:
    """Throughput ratios pipeline / resident, whole epoch and after warm-up.

    ``all_pairs``: over every pair; ``after_first_pair``: without the first
    pair (whose resident run also absorbs process-level warm-up).
    """
    out: dict = {}
    for scope, sub in (("all_pairs", table), ("after_first_pair", table[table["pair"] > 0])):
        if sub.empty:
            continue
        for col, name in (("samples_per_s", "whole_epoch"), ("warm_samples_per_s", "warmup_excluded")):
            pipe = statistics.mean(sub.loc[sub.config == "pipeline", col])
            res = statistics.mean(sub.loc[sub.config == "resident", col])
            out[f"ratio_{name}_{scope}"] = pipe / res
    out["target_ratio"] = TARGET_RATIO
    out["h2d_s"] = float(table["h2d_s"].iloc[0])
    out["data_only_epoch_s"] = float(table["data_only_epoch_s"].iloc[0])
    return out


def render(summary: dict, table: pd.DataFrame) -> str:
    lines = [
        f"# GPU data pipeline vs resident tensor ({table['model'].iloc[0]}, batch {table['batch_size'].iloc[0]}, "
        f"{table['image_size'].iloc[0]}x{table['image_size'].iloc[0]}, one Fashion-MNIST epoch of "
        f"{table['samples'].iloc[0]} images)",
        "",
        f"device: {table['device_name'].iloc[0]}; data: {table.loc[table.config == 'pipeline', 'data_source'].iloc[0]}; "
        f"cudnn TF32 {bool(table['cudnn_allow_tf32'].iloc[0])}, matmul TF32 {bool(table['matmul_allow_tf32'].iloc[0])}",
        "",
        "| run | config | steps | epoch [s] | samples/s | samples/s after warm-up |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.run} | {r.config} | {r.steps} | {r.duration_s:.2f} | {r.samples_per_s:.0f} | {r.warm_samples_per_s:.0f} |"
        )
    lines += ["", f"target: pipeline >= {TARGET_RATIO:.0%} of resident throughput", ""]
    for key, value in summary.items():
        if key.startswith("ratio_"):
            verdict = "meets" if value >= TARGET_RATIO else "MISSES"
            lines.append(f"- {key}: {value:.3f} ({verdict} target)")
    lines.append(f"- host-to-device copy of the split: {summary['h2d_s'] * 1e3:.1f} ms")
    lines.append(f"- data work alone for one epoch: {summary['data_only_epoch_s']:.3f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
