"""Whether a model's training step fits on a GPU: the peak memory of one step at the campaign's batch size.

A held-out set's models are screened on the CPU at batch 2 (``benchmarks/timm_heldout_screen.py``); an
encoder-decoder that keeps full-resolution maps may not fit a card at the campaign's batch of 256 at 224x224.
This script builds each model as the campaign does (:func:`greenai.models.build_model`, random weights), runs one
SGD step (forward, cross-entropy, backward, update) on random inputs, and records the peak memory PyTorch
allocated [GiB], or ``out of memory``. Nothing is timed and no energy is measured.

Writes ``results/benchmarks/step_memory.csv`` (one row per model, appended as each is measured and across runs) with
its ``.meta.json``; a CPU run only checks the script and must name another ``--out-dir``. Usage::

    PYTHONPATH=. python benchmarks/step_memory.py --models monai:unet monai:restormer          # on a GPU
    PYTHONPATH=. python benchmarks/step_memory.py --device cpu --batch 2 --models resnet18 --out-dir /some/dir
"""

from __future__ import annotations

import argparse
from pathlib import Path

from greenai import metadata, paths
from greenai.filelock import atomic_write, locked

#: where the record goes (a GPU run only)
DEFAULT_OUT_DIR = paths.REPO_ROOT / "results" / "benchmarks"
GIB = 2**30


def step_peak_gib(name: str, batch: int, image_size: int, device: str) -> float:
    """Peak memory PyTorch allocated during one SGD training step of ``name`` (1 plane, 10 classes) [GiB]; on a
    CPU 0 (the step only runs)."""
    import torch

    from greenai.models import build_model

    net = build_model(name, in_channels=1, num_classes=10).to(device).train()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 1, image_size, image_size, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    try:
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        return torch.cuda.max_memory_allocated(device) / GIB if cuda else 0.0
    finally:
        del net, optimizer, x, y
        if cuda:
            torch.cuda.empty_cache()


def append_row(csv_path: Path, row: dict) -> None:
    """Add ``row`` to the CSV as soon as it is measured, under the file's writer lock and atomically (a run killed
    later keeps it; the file is never left half written). The rows already there are kept byte for byte; a row
    whose columns differ from the file's is refused (``ValueError``)."""
    import pandas as pd

    with locked(csv_path, wait_s=60.0):
        frame = pd.DataFrame([row])
        if not csv_path.exists():
            atomic_write(csv_path, frame.to_csv(index=False))
            return
        columns = list(pd.read_csv(csv_path, nrows=0).columns)
        if sorted(columns) != sorted(frame.columns):
            raise ValueError(f"{csv_path.name} has the columns {columns}, the new row {list(frame.columns)}")
        text = csv_path.read_text()
        atomic_write(csv_path, text + ("" if text.endswith("\n") else "\n")
                     + frame[columns].to_csv(index=False, header=False))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", required=True, help="model names, as build_model takes them")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (a CPU run needs --out-dir)")
    parser.add_argument("--batch", type=int, default=256, help="samples per step (default 256, the campaign's)")
    parser.add_argument("--image-size", type=int, default=224, help="height and width [px] (default 224)")
    parser.add_argument("--out-dir", type=Path, default=None, help=f"default {DEFAULT_OUT_DIR} (GPU runs only)")
    args = parser.parse_args(argv)
    import torch

    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        parser.error("no GPU found: run it on a GPU, or pass --device cpu with --out-dir to check the script")
    if not cuda and args.out_dir is None:
        parser.error("a CPU run does not write the record: pass --out-dir")
    if args.batch < 1 or args.image_size < 1:
        parser.error("--batch and --image-size must be positive")
    gpu_name = torch.cuda.get_device_name(torch.device(args.device).index or 0) if cuda else "cpu"
    total_gib = torch.cuda.get_device_properties(torch.device(args.device)).total_memory / GIB if cuda else 0.0
    out_dir = args.out_dir or DEFAULT_OUT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "step_memory.csv"
    for i, name in enumerate(args.models):
        try:
            peak, outcome = step_peak_gib(name, args.batch, args.image_size, args.device), "fits"
        except torch.OutOfMemoryError:
            peak, outcome = float("nan"), "out of memory"
        append_row(csv_path, {"model": name, "batch_size": args.batch, "image_size": args.image_size,
                              "outcome": outcome, "peak_gib": peak, "gpu_total_gib": total_gib, "gpu_name": gpu_name})
        if i == 0:  # this run's provenance, with its first row
            metadata.write_meta(csv_path, campaign="step_memory", device=args.device,
                                description="peak memory PyTorch allocated in one SGD training step (random inputs, "
                                            "1 plane, 10 classes) per model, or out of memory")
        print(f"{name:32s} {outcome:14s} {peak:7.1f} GiB of {total_gib:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
