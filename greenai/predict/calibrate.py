"""``greenai predict --calibrate``: this card against the fitted card's model, from four zoo anchors.

Two cards of one kind differ by 5-8 % on the same runs (power limit, cooling, driver).
:func:`measure_card_factor` trains the held-out campaigns' anchors
(:data:`greenai.models.sets.HELDOUT_ANCHORS`) on the local CUDA GPU as their rows were
recorded (Fashion-MNIST shape, batch 256, default precision, warm-up, windows of >= 3 s),
divides each one's energy per epoch by the shipped model's prediction for the fitted
GPU, and keeps the geometric mean of the four ratios with its spread
(:func:`greenai.predict.fits.fit_factor`) in a JSON file keyed by the GPU's UUID
(:func:`default_calibration_path`). :func:`predict_on_this_card` predicts with the
calibration of the card it runs on (measured anew with ``calibrate=True``), the energy
and time times the factors, their intervals widened by the spread
(:func:`greenai.predict.model.scale_prediction`), and says so in a note.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from greenai import nvml, paths
from greenai.energy.meter import EnergyMeter
from greenai.filelock import atomic_write
from greenai.predict.coefficients import jsonable, load_coefficients
from greenai.predict.fits import fit_factor
from greenai.predict.model import scale_prediction
from greenai.predict.runtime import Prediction, PredictionError, predict_run

__all__ = ["CalibrationError", "ANCHOR_DATASET", "ANCHOR_BATCH_SIZE", "WARMUP_STEPS", "WINDOWS", "WINDOW_S",
           "CALIBRATION_FILE", "default_calibration_path", "fit_gpu_for", "anchor_predictions", "card_calibration",
           "measure_anchors", "measure_card_factor", "read_calibrations", "write_calibration", "current_card",
           "apply_calibration", "predict_on_this_card"]

#: the anchors' recorded conditions (``heldout5``'s windows: greenai.experiments.registry): dataset, batch
ANCHOR_DATASET = "fashion_mnist"
ANCHOR_BATCH_SIZE = 256
#: unmeasured steps before the windows (the first half warms up, the second times a step)
WARMUP_STEPS = 10
#: measured windows per anchor, and the shortest window [s] (steps sized from the warm-up's step time)
WINDOWS = 2
WINDOW_S = 3.0
#: the calibration file's name under :func:`greenai.paths.cache_dir`
CALIBRATION_FILE = "calibration.json"
#: relative change of an anchor's prediction past which a stored calibration is stale (the coefficients changed)
_STALE_REL = 1e-6


class CalibrationError(PredictionError):
    """A card calibration cannot be measured here (no CUDA GPU, no energy reading); the message says why."""


def default_calibration_path() -> Path:
    """Where calibrations are kept unless ``--calibration-file`` says otherwise (``<cache_dir>/calibration.json``)."""
    return paths.cache_dir() / CALIBRATION_FILE


def fit_gpu_for(gpu_name: str, gpu: str | None = None) -> tuple[str, str | None]:
    """``(fit GPU, note)``: the fit a card of ``gpu_name`` is calibrated against.

    ``gpu`` (``--gpu``) picks a fit; else the fit of the card's own kind (NVML's name equal to a fitted
    GPU's, case aside), else the reference GPU's, with a note saying that the factor then rescales it.
    """
    coeffs = load_coefficients()
    if gpu is not None:
        return _fit_named(gpu), None
    for name in coeffs["fits"]:
        if name.lower() == str(gpu_name).strip().lower():
            return name, None
    ref = coeffs["reference_gpu"]
    return ref, (f"{gpu_name} is of no fitted kind ({', '.join(coeffs['fits'])}): its factor is relative to the "
                 f"reference GPU's fit ({ref}) and rescales that one")


def _fit_named(gpu: str) -> str:
    """The fitted GPU that ``--gpu`` names (as :func:`~greenai.predict.runtime.predict_run` resolves it)."""
    return predict_run("resnet18", ANCHOR_DATASET, 1, ANCHOR_BATCH_SIZE, gpu=gpu).gpu


def anchor_predictions(fit_gpu: str, anchors) -> dict[str, tuple[float, float]]:
    """The shipped model's ``(energy [J], duration [s])`` of one epoch of each anchor on ``fit_gpu``
    (Fashion-MNIST, batch 256, default precision): what a calibration divides by."""
    out = {}
    for name in anchors:
        p = predict_run(name, ANCHOR_DATASET, 1, ANCHOR_BATCH_SIZE, gpu=fit_gpu)
        out[name] = (p.epoch_energy_j, p.epoch_duration_s)
    return out


def card_calibration(measured: dict, fit_gpu: str, **about) -> dict:
    """A calibration from anchors measured on a card: ``measured`` maps each anchor to its
    ``epoch_energy_j`` [J] and ``epoch_duration_s`` [s] (one epoch of 60,000 samples, as the fitted rows).

    Each is divided by :func:`anchor_predictions` on ``fit_gpu``: the shipped model's prediction, not
    the fitted card's recorded rows, because (1) the package ships the coefficients, not the rows, and
    (2) the factor then means *this card against the fitted card's model*: the prediction times it
    gives back this card's anchors (in geometric mean), so it takes out the card's difference and the
    model's own error on the four anchors together (models of the fit: their residuals are of the
    order of the fit's ``sigma_rel``); on the fitted card itself it is the mean of those residuals,
    near 1; and (3) a GPU of no fitted kind has no rows to compare to either: it is measured against
    the reference GPU's model. The factors (:func:`greenai.predict.fits.fit_factor`: geometric mean,
    95 % CI, log sd, n) of energy and of time are kept with every number behind them; ``about``
    (uuid, GPU name, date, data source, ...) is stored as given.
    """
    predicted = anchor_predictions(fit_gpu, measured)
    anchors = {}
    for name, m in measured.items():
        e, d = predicted[name]
        anchors[name] = {**m, "predicted_epoch_energy_j": e, "predicted_epoch_duration_s": d,
                         "energy_ratio": m["epoch_energy_j"] / e, "duration_ratio": m["epoch_duration_s"] / d}
    return {**about, "fit_gpu": fit_gpu, "anchors": anchors,
            "energy_factor": fit_factor([a["energy_ratio"] for a in anchors.values()]),
            "duration_factor": fit_factor([a["duration_ratio"] for a in anchors.values()])}


# --------------------------------------------------------------------------- measuring


def measure_anchors(anchors, split, device, meter, build: Callable | None = None, batch_size: int = ANCHOR_BATCH_SIZE,
                    image_size: int = 224, warmup_steps: int = WARMUP_STEPS, windows: int = WINDOWS,
                    window_s: float = WINDOW_S, log: Callable[[str], None] | None = None) -> dict:
    """Each anchor's energy [J] and duration [s] per epoch, measured as the anchors' rows were.

    A model built by ``build(name)`` (default :func:`greenai.models.build_model` with the split's
    channels and 10 classes) trains with SGD at PyTorch's default precision on ``split`` (batches
    resized to ``image_size`` on ``device``): ``warmup_steps`` unmeasured steps
    (:func:`greenai.train.timed_warmup`), then ``windows`` back-to-back windows of at least
    ``window_s`` seconds on ``meter`` (:meth:`greenai.train.Trainer.train_epoch`). Each window's
    energy is scaled to the epoch's samples as the rows' ``epoch_energy_j``: ``energy_j x n / samples``
    (``n`` the split's samples); an anchor's value is the mean over its windows.
    """
    import torch  # heavy: torch

    from greenai import data, train  # heavy: torch
    from greenai.models import build_model  # heavy: torch

    n = len(split)
    build = build or (lambda name: build_model(name, int(split.images.shape[1]), 10))
    out = {}
    for k, name in enumerate(anchors, 1):
        start = time.perf_counter()
        torch.manual_seed(0)
        batches = data.GpuBatches(split, batch_size, device, image_size=image_size, shuffle=True, seed=0)
        trainer = train.Trainer(build(name).to(device), batches, device, meter=meter)
        step_s = train.timed_warmup(trainer, warmup_steps)
        steps = train.steps_for_duration(step_s, window_s, min_steps=5)
        stream = train.cycle_batches(trainer.train_batches, start_epoch=0)
        results = [trainer.train_epoch(i, max_steps=steps, batch_iter=stream) for i in range(windows)]
        energy = [r.energy_j * n / r.samples for r in results]
        duration = [r.duration_s * n / r.samples for r in results]
        out[name] = {"epoch_energy_j": sum(energy) / len(energy), "epoch_duration_s": sum(duration) / len(duration),
                     "steps_per_window": steps, "window_energy_j": [r.energy_j for r in results],
                     "window_duration_s": [r.duration_s for r in results]}
        if log:
            log(f"  [{k}/{len(anchors)}] {name}: {windows} windows of {steps} steps "
                f"({sum(r.duration_s for r in results):.1f} s measured), {out[name]['epoch_energy_j']:,.0f} J per "
                f"epoch; {time.perf_counter() - start:.1f} s")
        del trainer, batches, results
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
    return out


def measure_card_factor(gpu: str | None = None, path: str | Path | None = None,
                        log: Callable[[str], None] | None = None, anchors=None, windows: int = WINDOWS,
                        window_s: float = WINDOW_S) -> dict:
    """Measure the anchors on the current CUDA GPU, store the calibration under its UUID, and return it.

    ``gpu`` (``--gpu``) names the fit to calibrate against (default: see :func:`fit_gpu_for`);
    ``path`` the calibration file (default :func:`default_calibration_path`). Real Fashion-MNIST
    where :func:`greenai.data.missing_files` finds it, else random inputs of its shape (the
    calibration's ``data_source`` says which). About a minute on an H200.

    Raises
    ------
    CalibrationError
        No CUDA GPU visible, or NVML gives no energy reading for it.
    """
    try:
        import torch  # heavy: torch
    except ImportError:
        raise CalibrationError("--calibrate measures on a CUDA GPU with torch; torch is not installed") from None
    if not torch.cuda.is_available():
        raise CalibrationError("--calibrate measures on a CUDA GPU; none is visible")
    from greenai import data  # heavy: torch
    from greenai.experiments.environment import nvml_index  # heavy: torch
    from greenai.models.sets import HELDOUT_ANCHORS  # heavy: torch (greenai.models)

    log = log or (lambda line: None)
    anchors = tuple(anchors or HELDOUT_ANCHORS)
    device = torch.device("cuda", torch.cuda.current_device())
    gpu_name = torch.cuda.get_device_name(device)
    fit_gpu, note = fit_gpu_for(gpu_name, gpu)
    missing = data.missing_files(ANCHOR_DATASET)
    split = data.load_dataset(ANCHOR_DATASET, train=True, synthetic=missing is not None)
    try:
        meter = EnergyMeter(gpu_indices=[nvml_index(device)])
    except nvml.NvmlError as exc:
        raise CalibrationError(f"--calibrate reads the GPU's energy through NVML, which fails here: {exc}") from None
    with meter:
        if not meter.methods:
            raise CalibrationError(f"--calibrate needs the GPU's energy; {'; '.join(meter.notes)}")
        card = meter.gpus[0]
        log(f"calibrating {gpu_name} ({card.uuid()}) against the {fit_gpu} fit: {len(anchors)} anchors "
            f"({', '.join(anchors)}), Fashion-MNIST shape, batch {ANCHOR_BATCH_SIZE}, {windows} windows of >= "
            f"{window_s:g} s each, about a minute")
        log("  data: real Fashion-MNIST" if missing is None else
            f"  data: random inputs of Fashion-MNIST's shape ({missing})")
        if note:
            log(f"  note: {note}")
        start = time.perf_counter()
        measured = measure_anchors(anchors, split, device, meter, windows=windows, window_s=window_s, log=log)
        about = {"uuid": card.uuid(), "gpu_name": gpu_name, "power_limit_w": card.power_limit_w(),
                 "driver": nvml.driver_version(), "energy_method": meter.primary_method,
                 "measured_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                 "data_source": "real" if missing is None else "synthetic", "fit_note": note,
                 "protocol": {"dataset": ANCHOR_DATASET, "batch_size": ANCHOR_BATCH_SIZE, "image_size": 224,
                              "precision": "default", "warmup_steps": WARMUP_STEPS, "windows": windows,
                              "window_s": window_s}}
    cal = card_calibration(measured, fit_gpu, **about)
    where = write_calibration(cal, path)
    f = cal["energy_factor"]
    log(f"  card factor {f['factor']:.3f} (energy; anchors {_ratio_range(cal)}), "
        f"{cal['duration_factor']['factor']:.3f} (time), in {time.perf_counter() - start:.0f} s; stored in {where}")
    return cal


# --------------------------------------------------------------------------- the stored calibrations


def read_calibrations(path: str | Path | None = None) -> dict:
    """The calibrations in ``path`` (default :func:`default_calibration_path`), by bare GPU UUID; {} if none.

    Raises
    ------
    CalibrationError
        The file exists but is not a calibration file.
    """
    path = Path(path) if path is not None else default_calibration_path()
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"cannot read the calibration file {path}: {exc}") from None
    cards = stored.get("cards") if isinstance(stored, dict) else None
    if not isinstance(cards, dict):
        raise CalibrationError(f"{path} is not a calibration file (no 'cards'); measure one with --calibrate")
    return {nvml.bare_uuid(k): _with_nan(v) for k, v in cards.items()}


def write_calibration(cal: dict, path: str | Path | None = None) -> Path:
    """Add (or replace) ``cal`` under its UUID in the calibration file; the other cards' stay. Returns the path."""
    path = Path(path) if path is not None else default_calibration_path()
    try:
        cards = read_calibrations(path)
    except CalibrationError:
        cards = {}
    cards[nvml.bare_uuid(cal["uuid"])] = cal
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(jsonable({"version": 1, "cards": cards}), indent=1, sort_keys=True) + "\n")
    return path


def _with_nan(obj):
    """JSON's null back to NaN in the factors (``t_pi`` of a single ratio)."""
    if isinstance(obj, dict):
        return {k: (math.nan if v is None and k in ("t_pi", "log_sd") else _with_nan(v)) for k, v in obj.items()}
    return obj


def current_card() -> tuple[str, str] | None:
    """``(uuid, name)`` of the GPU a CUDA program here would run on, through NVML; None without one.

    That is the first GPU ``CUDA_VISIBLE_DEVICES`` names (an NVML index, or a ``GPU-`` UUID), else
    NVML's GPU 0 (the order CUDA uses with ``CUDA_DEVICE_ORDER=PCI_BUS_ID``).
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    first = visible.split(",")[0].strip() if visible is not None else "0"
    if not first or first.startswith("-"):
        return None
    try:
        nvml.init()
    except nvml.NvmlError:
        return None
    try:
        if nvml.device_count() == 0:
            return None
        index = nvml.index_of_uuid(first) if first.lower().startswith("gpu-") else int(first)
        card = nvml.Gpu(index)
        return card.uuid(), card.name
    except (nvml.NvmlError, ValueError):
        return None
    finally:
        nvml.shutdown()


def _ratio_range(cal: dict) -> str:
    ratios = [a["energy_ratio"] for a in cal["anchors"].values()]
    return f"{min(ratios):.3f}-{max(ratios):.3f} x the predictions"


def apply_calibration(p: Prediction, cal: dict) -> Prediction:
    """``p`` (a prediction on ``cal``'s fit GPU) times the card's energy and time factors, the intervals widened
    by their spread (:func:`greenai.predict.model.scale_prediction`), with a note; the thesis' HC x MACs is left."""
    energy = scale_prediction((p.energy_j, p.energy_low_j, p.energy_high_j), cal["energy_factor"])
    epoch = scale_prediction((p.epoch_energy_j, p.epoch_energy_low_j, p.epoch_energy_high_j), cal["energy_factor"])
    duration = scale_prediction((p.duration_s, p.duration_low_s, p.duration_high_s), cal["duration_factor"])
    f = cal["energy_factor"]
    note = (f"calibrated to this card ({cal['gpu_name']}, {cal['uuid']}, measured {cal['measured_utc'][:10]}): the "
            f"{cal['fit_gpu']} fit x {f['factor']:.3f} (energy; {f['n']} anchors at {_ratio_range(cal)}) and x "
            f"{cal['duration_factor']['factor']:.3f} (time), at the default precision"
            + ("" if cal.get("data_source") == "real" else " on random inputs"))
    return replace(p, energy_j=energy[0], energy_low_j=energy[1], energy_high_j=energy[2],
                   epoch_energy_j=epoch[0], epoch_energy_low_j=epoch[1], epoch_energy_high_j=epoch[2],
                   duration_s=duration[0], duration_low_s=duration[1], duration_high_s=duration[2],
                   epoch_duration_s=duration[0] / p.epochs, notes=[*p.notes, note])


def _stored(path: Path, explicit: bool, gpu: str | None) -> tuple[dict | None, str | None]:
    """``(calibration to apply, note)`` for this card from ``path``: (None, None) where nothing is to say."""
    if not path.exists():
        if explicit:
            raise CalibrationError(f"no calibration file at {path}; measure one with --calibrate")
        return None, None
    cards = read_calibrations(path)
    card = current_card()
    if card is None:
        return None, (f"no GPU visible here: the calibration in {path} is not applied" if explicit else None)
    uuid, name = card
    cal = cards.get(nvml.bare_uuid(uuid))
    if cal is None:
        others = ", ".join(f"{c.get('gpu_name')} {c.get('uuid')}" for c in cards.values()) or "none"
        return None, (f"the calibration in {path} is of another card ({others}), not of this {name} ({uuid}): "
                      "ignored; --calibrate measures this one")
    if gpu is not None and _fit_named(gpu) != cal["fit_gpu"]:
        return None, (f"this card's calibration is against the {cal['fit_gpu']} fit; --gpu {gpu} asks for another "
                      "GPU's prediction: not applied")
    try:
        now = anchor_predictions(cal["fit_gpu"], cal["anchors"])
    except PredictionError:
        now = {}
    if any(a not in now or abs(now[a][0] / v["predicted_epoch_energy_j"] - 1) > _STALE_REL
           for a, v in cal["anchors"].items()):
        return None, (f"this card's calibration in {path} ({cal['measured_utc'][:10]}) was made with other "
                      "coefficients: not applied; --calibrate measures it again")
    return cal, None


def predict_on_this_card(model: str, dataset: str, epochs: int, batch_size: int, gpu: str | None = None,
                         precision: str | None = None, calibrate: bool = False, path: str | Path | None = None,
                         log: Callable[[str], None] | None = None) -> Prediction:
    """:func:`greenai.predict.runtime.predict_run` calibrated to the GPU here, where there is a calibration.

    ``calibrate``: measure it first (:func:`measure_card_factor`; the inputs are checked before the
    minute of measuring). Otherwise the calibration stored in ``path`` (default
    :func:`default_calibration_path`) for this card's UUID (:func:`current_card`) applies, its fit
    replacing the default GPU; one of another card, one made with other coefficients, or one against
    another fit than ``gpu`` asks for is not applied, with a note. No GPU and no ``path``: a plain prediction.
    """
    explicit = path is not None
    path = Path(path).expanduser() if explicit else default_calibration_path()
    if calibrate:
        predict_run(model, dataset, epochs, batch_size, gpu=gpu, precision=precision)  # bad input: before measuring
        cal, note = measure_card_factor(gpu=gpu, path=path, log=log), None
    else:
        cal, note = _stored(path, explicit, gpu)
    p = predict_run(model, dataset, epochs, batch_size, gpu=cal["fit_gpu"] if cal else gpu, precision=precision)
    if cal is None:
        return replace(p, notes=[*p.notes, note]) if note else p
    p = apply_calibration(p, cal)
    if cal.get("fit_note"):
        p.notes.append(cal["fit_note"])
    return p
