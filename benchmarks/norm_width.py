"""What a layer norm costs by how many values it normalises together: time and energy per byte on a GPU.

The static-feature model prices norms per byte read and written, at a price fitted on norms over 24 values or
more; DeepViT's layer norm over 6 attention heads at every attention-map entry was under-predicted by 60 %. This
script times ``nn.LayerNorm(width)``'s forward and backward on a fixed number of elements laid out as
``[elements / width, width]``, for widths from 2 to 1024: if the cost follows the rows rather than the bytes,
time per byte rises as the width falls. Each width runs for at least ``--min-s`` seconds between CUDA events;
the GPU's energy counter (NVML, the whole card) is read around the same loop. Bytes are the static pass's count
of the two operators (:func:`greenai.operator_times.operator_recorder` on ``meta``).

Writes ``results/benchmarks/norm_width.csv`` (one row per width) with its ``.meta.json``; a CPU run only checks
the script and must name another ``--out-dir``. Usage::

    PYTHONPATH=. python benchmarks/norm_width.py                    # on a GPU
    PYTHONPATH=. python benchmarks/norm_width.py --device cpu --elements 65536 --min-s 0.05 --out-dir /some/dir
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from greenai import metadata, paths

#: the widths timed by default [values normalised together]
WIDTHS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 384, 768, 1024)
#: where the record goes (a GPU run only)
DEFAULT_OUT_DIR = paths.REPO_ROOT / "results" / "benchmarks"


def step_bytes(width: int, rows: int) -> int:
    """Bytes read and written by one forward and backward of ``nn.LayerNorm(width)`` on ``[rows, width]`` float32,
    as the static pass counts them (allocations not counted)."""
    import torch
    from torch import nn

    from greenai.operator_times import operator_recorder

    norm = nn.LayerNorm(width, device="meta")
    x = torch.empty(rows, width, device="meta", requires_grad=True)
    mode = operator_recorder()
    with mode:
        norm(x).backward(torch.empty(rows, width, device="meta"))
    return int(sum(op[3] + op[4] for op in mode.ops))


def time_width(width: int, elements: int, device: str, min_s: float, energy_mj=None) -> dict:
    """Time (and, with ``energy_mj``, a callable reading the card's energy counter [mJ], measure) the forward and
    backward of ``nn.LayerNorm(width)`` on ``elements`` float32 values for at least ``min_s`` seconds."""
    import torch
    from torch import nn

    from greenai import nvml

    rows = max(1, elements // width)
    norm = nn.LayerNorm(width, device=device)
    x = torch.randn(rows, width, device=device, requires_grad=True)
    grad = torch.randn(rows, width, device=device)
    cuda = device.startswith("cuda")

    def step():
        norm(x).backward(grad)

    for _ in range(3):  # warm-up: kernels chosen, memory allocated
        step()
    steps, elapsed_s, energy_j = 0, 0.0, float("nan")
    if cuda:
        torch.cuda.synchronize(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    before_mj = energy_mj() if energy_mj else None
    t0 = time.perf_counter()
    if cuda:
        start.record()
    while time.perf_counter() - t0 < min_s:
        for _ in range(10):
            step()
        steps += 10
        if cuda:
            torch.cuda.synchronize(device)
    if cuda:
        end.record()
        torch.cuda.synchronize(device)
        elapsed_s = start.elapsed_time(end) / 1e3
    else:
        elapsed_s = time.perf_counter() - t0
    if energy_mj:
        energy_j = nvml.energy_delta_mj(before_mj, energy_mj()) / 1e3
    moved = step_bytes(width, rows)
    per_step_s, per_step_j = elapsed_s / steps, energy_j / steps
    return {"width": width, "rows": rows, "elements": rows * width, "bytes": moved, "steps": steps,
            "time_per_step_s": per_step_s, "energy_per_step_j": per_step_j,
            "ps_per_byte": 1e12 * per_step_s / moved, "pj_per_byte": 1e12 * per_step_j / moved,
            "ns_per_row": 1e9 * per_step_s / rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (a CPU run needs --out-dir)")
    parser.add_argument("--elements", type=int, default=2**26, help="float32 values per tensor (default 2**26)")
    parser.add_argument("--min-s", type=float, default=2.0, help="seconds each width runs at least")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS))
    parser.add_argument("--out-dir", type=Path, default=None, help=f"default {DEFAULT_OUT_DIR} (GPU runs only)")
    args = parser.parse_args(argv)
    import pandas as pd
    import torch
    from tqdm import tqdm

    from greenai import nvml

    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        parser.error("no GPU found: run it on a GPU, or pass --device cpu with --out-dir to check the script")
    if not cuda and args.out_dir is None:
        parser.error("a CPU run does not write the record: pass --out-dir")
    if args.elements < 1 or args.min_s <= 0 or min(args.widths) < 1:
        parser.error("--elements, --min-s and every --widths value must be positive")
    out_dir = args.out_dir or DEFAULT_OUT_DIR
    gpu_name, energy_mj = "cpu", None
    if cuda:
        index = torch.device(args.device).index or 0
        gpu_name = torch.cuda.get_device_name(index)
        try:
            nvml.init()
            card = nvml.Gpu(nvml.index_of_uuid(str(torch.cuda.get_device_properties(index).uuid)))
            energy_mj = card.total_energy_mj
        except nvml.NvmlError as exc:  # times only
            print(f"no energy counter ({exc}): times only", file=sys.stderr)
    try:
        rows = [time_width(w, args.elements, args.device, args.min_s, energy_mj)
                for w in tqdm(sorted(set(args.widths)), desc="layer norm widths", unit="width")]
    finally:
        if energy_mj:
            nvml.shutdown()
    table = pd.DataFrame(rows).assign(gpu_name=gpu_name, device=args.device)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "norm_width.csv"
    table.to_csv(csv_path, index=False, float_format="%.6g")
    metadata.write_meta(csv_path, campaign="norm_width",
                        description="nn.LayerNorm(width) forward + backward on a fixed number of float32 values: "
                                    "time (CUDA events) and card energy (NVML counter) per step, per byte and per row",
                        device=args.device, elements=args.elements, min_s=args.min_s)
    print(table[["width", "rows", "bytes", "time_per_step_s", "ps_per_byte", "pj_per_byte", "ns_per_row"]]
          .round(4).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
