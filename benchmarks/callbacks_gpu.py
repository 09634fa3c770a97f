"""A short real run of each training callback on a GPU: rows with real energy.

Trains AlexNet (``greenai.models``, 1×``--image-size``², 10 classes, random
data from a pool of 256 images) for ``--epochs`` epochs of ``--steps`` steps
(batch ``--batch-size``) twice: once under PyTorch Lightning with
:class:`greenai.integrations.lightning.EnergyCallback`, once under the Hugging
Face ``Trainer`` with :class:`greenai.integrations.hf.EnergyCallback`, both
with a window per epoch and one every ``--every`` steps on CUDA-event edges.
Both callbacks append to one CSV, ``callbacks_gpu.csv`` in ``--out-dir``
(default ``results/benchmarks``), replaced at each run; ``callbacks_gpu.md``
summarises it. A framework that is not installed is skipped with a note.

Usage (on a GPU, ≈40 s)::

    PYTHONPATH=. python benchmarks/callbacks_gpu.py
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from greenai import metadata, paths
from greenai.models import build_model

POOL = 256  # distinct random images the datasets cycle through


class RandomImages(torch.utils.data.Dataset):
    """``length`` (image, label) pairs cycling through a pool of ``POOL`` random ones (CPU tensors)."""

    def __init__(self, length: int, image_size: int, as_dict: bool = False):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(POOL, 1, image_size, image_size, generator=g)
        self.y = torch.randint(0, 10, (POOL,), generator=g)
        self.length, self.as_dict = length, as_dict

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i):
        x, y = self.x[i % POOL], self.y[i % POOL]
        return {"x": x, "labels": y} if self.as_dict else (x, y)


def run_lightning(args, csv_path: Path, log_dir: Path) -> str:
    try:
        import lightning.pytorch as L
        from lightning.pytorch.loggers import CSVLogger
    except ImportError as exc:
        return f"skipped: lightning is not installed ({exc})"
    from greenai.integrations.lightning import EnergyCallback

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = build_model("alexnet", 1, 10)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01, momentum=0.9)

    data = RandomImages(args.steps * args.batch_size, args.image_size)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, num_workers=2,
                                         pin_memory=args.device == "cuda", persistent_workers=True)
    callback = EnergyCallback(csv_path=csv_path, every_n_steps=args.every, run="callbacks_gpu")
    trainer = L.Trainer(max_epochs=args.epochs, accelerator="gpu" if args.device == "cuda" else "cpu", devices=1, logger=CSVLogger(log_dir, name="lightning"),
                        callbacks=[callback], enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, log_every_n_steps=args.every)
    trainer.fit(Module(), loader)
    return f"{len(callback.energy_log.rows)} rows"


def run_hf(args, csv_path: Path, log_dir: Path) -> str:
    try:
        import transformers
    except ImportError as exc:
        return f"skipped: transformers is not installed ({exc})"
    from greenai.integrations.hf import EnergyCallback

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = build_model("alexnet", 1, 10)

        def forward(self, x, labels=None):
            logits = self.net(x)
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}

    targs = transformers.TrainingArguments(
        output_dir=str(log_dir / "hf"), num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
        learning_rate=1e-4, logging_steps=args.every, save_strategy="no", report_to=[], disable_tqdm=True,
        dataloader_num_workers=2, use_cpu=args.device == "cpu",
    )
    callback = EnergyCallback(csv_path=csv_path, every_n_steps=args.every, run="callbacks_gpu")
    data = RandomImages(args.steps * args.batch_size, args.image_size, as_dict=True)
    trainer = transformers.Trainer(model=Model(), args=targs, train_dataset=data, callbacks=[callback])
    trainer.train()
    logged = [h for h in trainer.state.log_history if any(k.startswith("energy/") for k in h)]
    return f"{len(callback.energy_log.rows)} rows, {len(logged)} energy entries in trainer.state.log_history"


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Per framework and scope: windows, method, energy [J], its uncertainty [J], duration [s], mean power [W]."""
    return (
        rows.groupby(["framework", "scope"], sort=False)
        .agg(windows=("window", "count"), method=("method", "first"),
             energy_j=("energy_j", lambda s: s.sum(min_count=len(s))),  # NaN if any window has none
             uncertainty_j=("uncertainty_j", lambda s: s.sum(min_count=len(s))), duration_s=("duration_s", "sum"),
             median_power_w=("power_w", "median"))
        .reset_index()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=paths.BENCHMARKS_DIR)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200, help="training steps per epoch")
    parser.add_argument("--every", type=int, default=20, help="a step window every this many steps")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--frameworks", nargs="+", default=["lightning", "hf"], choices=["lightning", "hf"])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: a smoke test of this script only")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp/greenai_callbacks_gpu"),
                        help="the frameworks' own logs (not kept)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: this benchmark needs a CUDA GPU (the CPU path is tested in tests/test_integrations.py)",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = args.out_dir / "callbacks_gpu.csv"
    csv_path.unlink(missing_ok=True)
    outcomes, walls = {}, {}
    runners = {"lightning": run_lightning, "hf": run_hf}
    for name in args.frameworks:
        t = time.perf_counter()
        outcomes[name] = runners[name](args, csv_path, args.log_dir)
        walls[name] = time.perf_counter() - t
        print(f"{name}: {outcomes[name]} ({walls[name]:.1f} s)", flush=True)

    env = metadata.environment_metadata()
    lines = [
        "# The training callbacks on a GPU",
        "",
        f"{env['gpus'][0]['name'] if env.get('gpus') else 'no GPU'}, driver {env.get('driver')}, "
        f"torch {env.get('torch')}, {env.get('date_utc')}. AlexNet, batch {args.batch_size}, "
        f"1×{args.image_size}×{args.image_size} random images, {args.epochs} epochs of {args.steps} steps under each "
        f"framework; one window per epoch and one every {args.every} steps, CUDA-event edges. "
        "Written by `benchmarks/callbacks_gpu.py`; rows in `callbacks_gpu.csv`.",
        "",
    ]
    lines += [f"- {name}: {outcome} ({walls[name]:.0f} s)" for name, outcome in outcomes.items()]
    if csv_path.exists():
        rows = pd.read_csv(csv_path)
        summary = summarize(rows)
        lines += ["", "| framework | scope | windows | method | energy [J] | ± [J] | time [s] | median power [W] |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in summary.itertuples(index=False):
            lines.append(f"| {r.framework} | {r.scope} | {r.windows} | {r.method} | {r.energy_j:.1f} | "
                         f"{r.uncertainty_j:.1f} | {r.duration_s:.2f} | {r.median_power_w:.1f} |")
        warned = sorted({w.split(":")[0] for ws in rows.warnings.dropna() for w in ws.split("; ")})
        lines += ["", "Step windows tile the run back to back (they also cover the time between epochs); "
                  "the epoch windows cover the epochs only.",
                  "", "Warnings seen: " + ("; ".join(warned) if warned else "none") + "."]
        metadata.write_meta(csv_path, campaign="callbacks_gpu", model="greenai.models.build_model('alexnet', 1, 10)",
                            precision="fp32 (torch defaults)", data_source="synthetic")
    md = "\n".join(lines) + "\n"
    (args.out_dir / "callbacks_gpu.md").write_text(md)
    print(md, flush=True)
    return 0 if csv_path.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
