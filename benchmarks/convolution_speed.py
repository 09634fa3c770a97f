"""How fast each recorded convolution runs for its shape: the operator times of ``results/raw/op_times_*``
beside each convolution's shape (CPU; no GPU).

The recorded rows (:func:`greenai.analysis.operators.load_operator_times`: one row per operator of one training
step, its GPU time by CUDA events) do not keep a convolution's kernel size, groups or channels. This script
rebuilds every timed model's step on PyTorch's ``meta`` device (:func:`greenai.operator_times.convolution_shapes`,
same batch, planes and classes), matches its convolutions to the recorded ones in order (only where their MACs
agree one by one) and writes:

- ``results/benchmarks/convolution_speed.csv``: one row per convolution operator (model, forward or backward,
  shape, MACs, bytes, GPU time, ps per MAC and per byte), with its ``.meta.json``;
- ``results/benchmarks/convolution_speed_modes.csv``: per kind (dense, depthwise, grouped 1x1, grouped kxk) and
  phase, the spread of time per byte and the share of operators in the slow mode
  (:func:`greenai.analysis.operators.grouped_pointwise_modes`).

Needs the optional model sources of the timed models (timm, pytorchcv). Usage::

    PYTHONPATH=. python benchmarks/convolution_speed.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from greenai import metadata, paths
from greenai.analysis import operators as opa


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=paths.REPO_ROOT / "results" / "benchmarks")
    args = parser.parse_args(argv)
    import pandas as pd
    import torch

    from greenai.operator_times import convolution_shapes

    torch.set_num_threads(2)
    ops = opa.load_operator_times()
    timed = ops.drop_duplicates("model")[["model", "batch_size", "in_channels", "num_classes"]]
    frames, skipped = [], []
    for r in tqdm(list(timed.itertuples(index=False)), desc="convolution shapes", unit="model"):
        try:
            rows = convolution_shapes(r.model, int(r.in_channels), int(r.num_classes), int(r.batch_size))
        except ImportError as exc:  # an optional model source missing
            skipped.append(f"{r.model}: {exc}")
            continue
        frames.append(pd.DataFrame(rows).assign(model=r.model))
    speed = opa.convolution_speed(ops, pd.concat(frames, ignore_index=True))
    unmatched = sorted(set(ops.loc[ops["name"] == "convolution", "model"]) - set(speed["model"]))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    cols = ["gpu_name", "model", "op_index", "phase", "kind", "pointwise", "batch", "in_channels", "height", "width",
            "out_channels", "in_channels_per_group", "out_channels_per_group", "kernel_h", "kernel_w", "stride",
            "groups", "macs", "bytes", "gpu_time_s", "ps_per_mac", "ps_per_byte"]
    csv_path = args.out_dir / "convolution_speed.csv"
    speed[cols].to_csv(csv_path, index=False, float_format="%.6g")
    metadata.write_meta(csv_path, campaign="convolution_speed",
                        description="recorded convolution operator times beside each convolution's shape, rebuilt on "
                                    "meta (derived from results/raw/op_times_*; no GPU)",
                        inputs=sorted(f.name for f in paths.RAW_DIR.glob(opa.OP_TIMES_GLOB)),
                        n_models=int(speed["model"].nunique()), n_operators=len(speed), unmatched=unmatched)
    modes = opa.grouped_pointwise_modes(speed)
    modes.to_csv(args.out_dir / "convolution_speed_modes.csv", index=False, float_format="%.6g")
    print(modes.round(3).to_string(index=False))
    print(f"{speed['model'].nunique()} models, {len(speed)} convolution operators; not matched: {unmatched or 'none'}"
          f"; skipped: {skipped or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
