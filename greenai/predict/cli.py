"""``greenai predict``: a training run's energy, time, euros and CO2 before it starts.

The command line of :mod:`greenai.predict`; every number comes from
:func:`greenai.predict.runtime.predict_run`, calibrated to the GPU here where a
calibration is stored or ``--calibrate`` measures one (:mod:`greenai.predict.calibrate`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from greenai.cli import UsageError
from greenai.predict.coefficients import jsonable
from greenai.predict.model import DATASET_ALIASES, J_PER_KWH, PI_LEVEL
from greenai.predict.calibrate import predict_on_this_card
from greenai.predict.runtime import PredictionError

# --------------------------------------------------------------------------- command line

#: assumed electricity price [EUR/kWh] when none is given (order of an EU household tariff; override it)
DEFAULT_PRICE_EUR_PER_KWH = 0.30
#: assumed grid carbon intensity [gCO2/kWh] when none is given (order of the EU mix; override it)
DEFAULT_GCO2_PER_KWH = 250.0


def register(subparsers) -> None:
    """``greenai predict``: a training run's energy, time, cost and CO2 before it starts."""
    p = subparsers.add_parser(
        "predict", help="predict a training run's energy, time, cost and CO2 before it starts",
        description="Predict the energy (J, kWh), time, cost and CO2 of training a model (one of the 20 zoo "
                    "models, any torchvision classification model, or timm:NAME, pytorchcv:NAME, "
                    "vitpytorch:NAME, mmpretrain:NAME, monai:NAME, hf:NAME with that extra installed) on a dataset, "
                    "with 90 % "
                    "prediction intervals, from coefficients fitted on recorded GPU runs (notebook 05).")
    p.add_argument("--model", default=None,
                   help="zoo or torchvision name, or timm:NAME, pytorchcv:NAME, vitpytorch:NAME, mmpretrain:NAME, "
                        "monai:NAME, hf:NAME, e.g. resnet18, densenet121, timm:dla34, vitpytorch:cvt_13, "
                        "mmpretrain:van_b0, monai:unet, hf:segformer_b0")
    p.add_argument("--dataset", default=None, help="fashion_mnist, cifar10 or cifar100")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (>= 1); optional with --target-accuracy")
    p.add_argument("--batch-size", default=None, type=int, help="samples per step (>= 1)")
    p.add_argument("--gpu", default=None, help="GPU with coefficients (e.g. h100, h200); default: the most measured")
    p.add_argument("--precision", default=None, help="default (PyTorch's), fp32, tf32 or bf16")
    p.add_argument("--price-eur-per-kwh", type=float, default=DEFAULT_PRICE_EUR_PER_KWH,
                   help=f"electricity price [EUR/kWh] (default {DEFAULT_PRICE_EUR_PER_KWH}, an assumption)")
    p.add_argument("--gco2-per-kwh", type=float, default=DEFAULT_GCO2_PER_KWH,
                   help=f"grid carbon intensity [gCO2/kWh] (default {DEFAULT_GCO2_PER_KWH:g}, an assumption)")
    p.add_argument("--target-accuracy", type=float, default=None,
                   help="test accuracy to reach (fraction, e.g. 0.9): the epochs come from the learning curve "
                        "recorded for this model and dataset (greenai.accuracy), where one exists")
    p.add_argument("--observed", default=None, metavar="CSV",
                   help="your run's first epochs (columns epoch, accuracy and optionally energy_j per epoch; at "
                        f"least {MIN_OBSERVED} epochs): with --target-accuracy, the epoch and energy at which your "
                        "run reaches it, from a prior learned from the recorded learning curves (greenai.curve_prior)")
    p.add_argument("--calibrate", action="store_true",
                   help="first measure this GPU's card factor (four zoo anchors, about a minute; "
                        "greenai.predict.calibrate) and store it; later predictions on this card use it")
    p.add_argument("--calibration-file", default=None, metavar="PATH",
                   help="where card calibrations are stored and read (default ~/.cache/greenai/calibration.json, "
                        "or under $GREENAI_CACHE_DIR)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    if args.observed is not None:
        if args.calibrate:
            raise UsageError("--calibrate scales a prediction from --model/--dataset/--epochs, not an --observed run")
        return _observed_cli(args)
    missing = [f"--{n.replace('_', '-')}" for n in ("model", "dataset", "batch_size") if getattr(args, n) is None]
    if missing:
        raise UsageError(f"give {', '.join(missing)} (or --observed CSV --target-accuracy A for your own run)")
    for name in ("price_eur_per_kwh", "gco2_per_kwh"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value >= 0):
            raise UsageError(f"--{name.replace('_', '-')} must be a number >= 0, got {value}")
    curve = None
    if args.target_accuracy is not None:
        try:
            curve = _epochs_to_accuracy(args.model, args.dataset, args.target_accuracy)
        except (ValueError, FileNotFoundError) as exc:
            raise UsageError(str(exc)) from None
        if args.epochs is None:
            args.epochs = curve.epoch
    if args.epochs is None:
        raise UsageError("give --epochs N (or --target-accuracy A to take the epochs from a learning curve)")
    try:
        p = predict_on_this_card(args.model, args.dataset, args.epochs, args.batch_size, gpu=args.gpu,
                                 precision=args.precision, calibrate=args.calibrate, path=args.calibration_file,
                                 log=lambda line: print(line, file=sys.stderr, flush=True))
    except (PredictionError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    if curve is not None:
        p.notes.append(
            f"target accuracy {curve.target_accuracy:.4f}: the learning curve of the recorded {curve.model} run on "
            f"{curve.dataset} (batch {curve.batch_size}, {curve.precision}, {curve.gpu_name}, "
            f"{curve.recorded_epochs} epochs) reaches it after {curve.epoch} epochs; that run spent "
            f"{curve.energy_j:,.0f} J until then{' (extrapolated)' if curve.energy_extrapolated else ''}; "
            "another batch size or precision may need other epochs")
    kwh = [v / J_PER_KWH for v in (p.energy_j, p.energy_low_j, p.energy_high_j)]
    eur = [k * args.price_eur_per_kwh for k in kwh]
    co2 = [k * args.gco2_per_kwh for k in kwh]
    if args.json:
        extra = {} if curve is None else {"target_accuracy": curve.target_accuracy, "epochs_to_target": curve.epoch,
                                          "curve_run_energy_to_target_j": curve.energy_j}
        print(json.dumps(jsonable({**p.as_dict(), **extra, "energy_low_kwh": kwh[1], "energy_high_kwh": kwh[2],
                                    "cost_eur": eur[0], "cost_low_eur": eur[1], "cost_high_eur": eur[2],
                                    "co2_g": co2[0], "co2_low_g": co2[1], "co2_high_g": co2[2],
                                    "price_eur_per_kwh": args.price_eur_per_kwh,
                                    "gco2_per_kwh": args.gco2_per_kwh, "pi_level": PI_LEVEL}), indent=1))
        return 0
    print(f"{p.model} on {p.dataset}, {p.epochs} epochs x {p.samples_per_epoch} samples, batch {p.batch_size}, "
          f"{p.gpu}, precision {p.precision} (90 % prediction intervals)")
    print(f"  energy   {p.energy_j:,.0f} J  [{p.energy_low_j:,.0f}, {p.energy_high_j:,.0f}]"
          f"  = {kwh[0]:.4f} kWh  [{kwh[1]:.4f}, {kwh[2]:.4f}]")
    print(f"  time     {_hms(p.duration_s)}  [{_hms(p.duration_low_s)}, {_hms(p.duration_high_s)}]"
          "  (training steps only)")
    print(f"  cost     {eur[0]:.4f} EUR  [{eur[1]:.4f}, {eur[2]:.4f}]  at {args.price_eur_per_kwh} EUR/kWh")
    print(f"  CO2      {co2[0]:.1f} g  [{co2[1]:.1f}, {co2[2]:.1f}]  at {args.gco2_per_kwh:g} gCO2/kWh")
    print(f"  per epoch {p.epoch_energy_j:,.0f} J, {p.epoch_duration_s:.1f} s; the thesis' HC x MACs model says "
          f"{p.thesis_energy_j:,.0f} J for the run")
    for note in p.notes:
        print(f"  note: {note}")
    return 0


def _epochs_to_accuracy(model: str, dataset: str, target: float):
    """The recorded learning curve's answer (:func:`greenai.accuracy.energy_to_accuracy`), or a clear error."""
    if not (math.isfinite(target) and 0 < target < 1):
        raise PredictionError(f"--target-accuracy must be a fraction in (0, 1), got {target:g}")
    try:
        from greenai.accuracy import energy_to_accuracy  # heavy: numpy
    except ImportError:
        raise PredictionError("--target-accuracy needs greenai.accuracy (learning curves), which this "
                              "installation lacks") from None
    name = str(model).strip().lower().replace("-", "_")
    key = str(dataset).strip().lower().replace("-", "_")
    return energy_to_accuracy(name, DATASET_ALIASES.get(key, key), target_accuracy=target)


#: fewest observed epochs ``--observed`` accepts (the ensemble's forms have up to 4 parameters)
MIN_OBSERVED = 5


def _observed_cli(args: argparse.Namespace) -> int:
    """``--observed CSV --target-accuracy A``: when the user's own run reaches A (greenai.curve_prior)."""
    import pandas as pd  # heavy: pandas

    from greenai import accuracy, curve_prior, learning_curves  # heavy: numpy

    target = args.target_accuracy
    if target is None:
        raise UsageError("--observed needs --target-accuracy A (a fraction, e.g. 0.9)")
    if not (math.isfinite(target) and 0 < target < 1):
        raise UsageError(f"--target-accuracy must be a fraction in (0, 1), got {target:g}")
    try:
        obs = pd.read_csv(args.observed)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read --observed {args.observed}: {exc}") from None
    lacking = [c for c in ("epoch", "accuracy") if c not in obs]
    if lacking:
        raise UsageError(f"--observed {args.observed} lacks the column(s) {', '.join(lacking)} (need epoch, accuracy "
                         f"and optionally energy_j; it has {', '.join(map(str, obs.columns)) or 'none'})")
    try:
        obs = obs.assign(**{c: pd.to_numeric(obs[c], errors="raise") for c in obs.columns
                            if c in ("epoch", "accuracy", "energy_j")}).dropna(subset=["epoch", "accuracy"])
    except ValueError as exc:
        raise UsageError(f"--observed {args.observed}: epoch, accuracy and energy_j must be numbers ({exc})") from None
    if len(obs) < MIN_OBSERVED:
        raise UsageError(f"--observed {args.observed} has {len(obs)} epoch(s); give at least {MIN_OBSERVED}")
    if ((obs.accuracy < 0) | (obs.accuracy > 1)).any():
        raise UsageError("--observed accuracy must be fractions in [0, 1] (divide percentages by 100)")
    if "energy_j" in obs and not (obs.energy_j.notna().all() and (obs.energy_j >= 0).all()):
        raise UsageError("--observed energy_j must be a number >= 0 on every epoch (or leave the column out)")
    try:
        p = curve_prior.predict_observed(obs, target)
    except accuracy.AccuracyError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(p.as_dict(), indent=1))
        return 0
    print(f"target accuracy {p.target_accuracy:.4f} from {p.observed_epochs} observed epochs "
          f"({p.level:.0%} interval; {p.calibration})")
    if not p.reachable:
        print(f"  unreachable: {1 - p.p_reach:.0%} of the learning curves' posterior never reaches it within "
              f"{learning_curves.HORIZON:g} x the observed epochs (ensemble plateau {p.plateau:.4f})")
        return 0
    print(f"  epoch    {p.epoch:.0f}  [{p.epoch_low:.0f}, {p.epoch_high:.0f}]")
    if math.isfinite(p.energy_j):
        print(f"  energy   {p.energy_j:,.0f} J  [{p.energy_low_j:,.0f}, {p.energy_high_j:,.0f}]  = "
              f"{p.energy_j / J_PER_KWH:.4f} kWh (observed epochs, then their mean energy per epoch)")
    print(f"  plateau  {p.plateau:.4f}; forms " + ", ".join(f"{m.form} {m.weight:.2f}" for m in p.curve.members
                                                          if m.weight >= 0.01))
    return 0


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


