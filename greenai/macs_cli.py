"""``greenai models [--dataset NAME] [--image-size PX] [--ten-class-head] [--csv FILE]``

Prints the 20 models' MACs per sample three ways (:func:`greenai.macs.model_table`), their parameters, branch
count and depth, for one dataset's input shape; ``--csv`` also writes the table.
"""

from __future__ import annotations

import argparse

from greenai.cli import UsageError
from greenai.data import UnknownDatasetError
from greenai.macs import model_table
from greenai.models import DEFAULT_IMAGE_SIZE

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """``greenai models``: the 20 models with MACs and parameters for a dataset."""
    parser = subparsers.add_parser(
        "models",
        help="list the 20 models with MACs and parameters per sample",
        description="List the 20 thesis models with MACs per sample (thop; FlopCounterMode and ptflops' "
        "convention beside it), parameters, branch count and depth, for one dataset's input shape.",
    )
    parser.add_argument("--dataset", default="fashion_mnist", help="fashion_mnist (default), cifar10 or cifar100")
    parser.add_argument("--image-size", type=int, default=DEFAULT_IMAGE_SIZE, help="input height/width [px]")
    parser.add_argument("--ten-class-head", action="store_true", help="10 outputs whatever the dataset")
    parser.add_argument("--csv", help="also write the table to this CSV file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print (and with ``--csv`` write) the table; a bad dataset, size or file is a :class:`UsageError`."""
    if args.image_size <= 0:
        raise UsageError(f"--image-size must be a positive number of pixels, got {args.image_size}")
    try:
        table = model_table([args.dataset], image_size=args.image_size, head="ten" if args.ten_class_head else "dataset")
    except UnknownDatasetError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"--image-size {args.image_size} is too small: {exc}") from None
    show = table.assign(
        mmacs=(table["macs"] / 1e6).round(2),
        mmacs_flop_counter=(table["macs_flop_counter"] / 1e6).round(2),
        mmacs_ptflops=(table["macs_ptflops_convention"] / 1e6).round(2),
        params_m=(table["params"] / 1e6).round(3),
    )[["model", "mmacs", "mmacs_flop_counter", "mmacs_ptflops", "params_m", "branch_count", "weight_layers"]]
    print(f"{args.dataset}, {args.image_size}x{args.image_size}, per sample (MMAC = 1e6 MAC, params in millions)")
    print(show.to_string(index=False))
    if args.csv:
        try:
            table.to_csv(args.csv, index=False)
        except OSError as exc:
            raise UsageError(f"cannot write {args.csv}: {exc.strerror or exc}") from None
        print(f"wrote {args.csv}")
    return 0
