"""Predict a training run's energy and duration from the shipped coefficients (no torch, no statsmodels at import).

:func:`predict_run` reads :func:`greenai.predict.coefficients.load_coefficients`
and evaluates :mod:`greenai.predict.model`; a model whose static features are
not shipped is counted on the spot (:mod:`greenai.predict.features`, torch) and
cached under the data folder. Every refusal is a :class:`PredictionError`.

>>> p = predict_run("resnet18", "cifar10", epochs=30, batch_size=256)
>>> p.energy_j, p.energy_low_j, p.energy_high_j   # joules, 90 % prediction interval
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from greenai import paths
from greenai.operators import BYTE_GROUPS
from greenai.predict.coefficients import jsonable, load_coefficients
from greenai.predict.model import (BATCH_NORM_CHANNEL_S, BATCH_NORM_WIDE_CHANNELS, DATASET_ALIASES, IMAGE_SIZE,
                                   J_PER_KWH, batch_norm_floor_share, feature_key,
                                   fitted_batch_norm_floor_share, gpu_fit_for, has_features, large_kernels, lineage,
                                   narrow_norms, predict_static, predict_thesis, regressors, scale_prediction,
                                   unpriced_widening)

__all__ = ["PredictionError", "UnknownModelError", "UnknownDatasetError", "UnknownGpuError",
           "UnmeasuredPrecisionError", "InvalidRunError", "YEAR_S", "LONG_RUN_S", "Prediction",
           "model_features", "predict_run"]

class PredictionError(ValueError):
    """A prediction cannot be made from these inputs; the message says why and what is valid."""


class UnknownModelError(PredictionError):
    """Neither a zoo model nor a torchvision classification model."""


class UnknownDatasetError(PredictionError):
    """A dataset without a known shape."""


class UnknownGpuError(PredictionError):
    """A GPU without fitted coefficients."""


class UnmeasuredPrecisionError(PredictionError):
    """A precision never measured (on this or any GPU)."""


class InvalidRunError(PredictionError):
    """Epochs or batch size below 1 (or not integers), or a batch larger than the dataset."""


#: one year [s] (365 days)
YEAR_S = 365 * 24 * 3600.0
#: a predicted run longer than this [s] gets a note to check its epochs (a year of training on one GPU)
LONG_RUN_S = YEAR_S


@dataclass
class Prediction:
    """A training run's predicted energy and duration, with 90 % prediction intervals.

    The per-epoch error of a model repeats every epoch (a model mispriced once is
    mispriced every epoch), so the run's interval is ``epochs`` times the
    epoch's interval, not narrower.

    Attributes
    ----------
    energy_j, energy_low_j, energy_high_j : float
        Whole run [J], with the 90 % prediction interval.
    duration_s, duration_low_s, duration_high_s : float
        Whole run [s] (training steps only; no evaluation, no start-up).
    epoch_energy_j, epoch_energy_low_j, epoch_energy_high_j : float
        One epoch [J].
    epoch_duration_s : float
        One epoch [s].
    thesis_energy_j : float
        The thesis' ``HC x MACs x N x epochs`` for the same run [J] (baseline).
    gpu, precision : str
        What the coefficients were fitted for (``gpu`` as NVML names it).
    features_source : str
        ``shipped`` (precomputed) or ``computed`` (static pass on the spot).
    notes : list of str
        How the prediction was derived where it is not a plain fit (GPU or precision factor).
    """

    model: str
    dataset: str
    epochs: int
    batch_size: int
    gpu: str
    precision: str
    energy_j: float
    energy_low_j: float
    energy_high_j: float
    duration_s: float
    duration_low_s: float
    duration_high_s: float
    epoch_energy_j: float
    epoch_energy_low_j: float
    epoch_energy_high_j: float
    epoch_duration_s: float
    thesis_energy_j: float
    samples_per_epoch: int
    features_source: str
    notes: list = field(default_factory=list)

    @property
    def energy_kwh(self) -> float:
        """Whole run [kWh]."""
        return self.energy_j / J_PER_KWH

    def as_dict(self) -> dict:
        return {**asdict(self), "energy_kwh": self.energy_kwh}


def _positive_int(name: str, value) -> int:
    try:
        ok = int(value) == value and int(value) >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok or isinstance(value, bool):
        raise InvalidRunError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _resolve_dataset(coeffs: dict, dataset: str) -> str:
    key = str(dataset).strip().lower().replace("-", "_")
    key = DATASET_ALIASES.get(key, key)
    if key not in coeffs["datasets"]:
        raise UnknownDatasetError(f"unknown dataset {dataset!r}; known datasets: {', '.join(coeffs['datasets'])}")
    return key


def _resolve_gpu(coeffs: dict, gpu: str | None) -> str:
    names = list(coeffs["fits"])
    if gpu is None:
        return coeffs["reference_gpu"]
    want = str(gpu).strip().lower()
    exact = [n for n in names if n.lower() == want]
    if exact:
        return exact[0]
    hits = [n for n in names if want and want in n.lower()]
    if len(hits) == 1:
        return hits[0]
    raise UnknownGpuError(f"unknown GPU {gpu!r}; coefficients exist for: {', '.join(names)}"
                          + (" (the name matches several; be more specific)" if hits else ""))


def _synthetic_names() -> tuple[str, ...]:
    """The synthetic training architectures (buildable by name, but not offered to users)."""
    try:
        from greenai.models.synthetic import ALL_SYNTHETIC_NAMES  # heavy: torch
    except ImportError:  # torch missing
        return ()
    return ALL_SYNTHETIC_NAMES


def _known_model_names(coeffs: dict) -> list[str]:
    names = sorted({k.split("|")[0] for k in coeffs["features"]} - set(_synthetic_names()))
    try:
        from greenai.models.torchvision_models import torchvision_names  # heavy: torch

        names = sorted(set(names) | set(torchvision_names()))
    except ImportError:
        pass
    return names


def model_features(model: str, dataset: str, image_size: int = IMAGE_SIZE, coefficients: dict | None = None):
    """``(features, source)`` of a model on a dataset's shape: shipped, else computed (torch) and cached."""
    coeffs = coefficients or load_coefficients()
    ds = coeffs["datasets"][_resolve_dataset(coeffs, dataset)]
    name = str(model).strip().lower().replace("-", "_")
    key = feature_key(name, ds["channels"], ds["num_classes"], image_size)
    if key in coeffs["features"]:
        return coeffs["features"][key], "shipped"
    cache = _cache_path()
    cached = _read_cache(cache)
    if has_features(cached.get(key)):
        return cached[key], "computed (cached)"
    try:
        from greenai import models  # heavy: torch
    except ImportError as exc:  # torch missing
        raise UnknownModelError(f"model {model!r} is not in the shipped features and torch is not importable "
                                f"({exc}); shipped: {', '.join(sorted({k.split('|')[0] for k in coeffs['features']}))}"
                                ) from None
    try:
        models.model_info(name)
    except models.SourceMissingError as exc:  # a timm:, pytorchcv:, vitpytorch:, mmpretrain: or monai: name, no package
        raise UnknownModelError(str(exc)) from None
    except models.UnknownModelError:
        from greenai.models.mmpretrain_models import MMPRETRAIN_HINT  # heavy: torch (greenai.models)
        from greenai.models.monai_models import MONAI_HINT  # heavy: torch (greenai.models)
        from greenai.models.pytorchcv_models import PYTORCHCV_HINT  # heavy: torch (greenai.models)
        from greenai.models.timm_models import TIMM_HINT  # heavy: torch (greenai.models)
        from greenai.models.vitpytorch_models import VITPYTORCH_HINT  # heavy: torch (greenai.models)

        raise UnknownModelError(f"unknown model {model!r}; known models: {', '.join(_known_model_names(coeffs))}; "
                                f"{TIMM_HINT}; {PYTORCHCV_HINT}; {VITPYTORCH_HINT}; {MMPRETRAIN_HINT}; {MONAI_HINT}"
                                ) from None
    from greenai.predict.features import feature_table  # heavy: torch (the static pass on meta)

    feats = feature_table([(name, ds["channels"], ds["num_classes"], image_size)])[key]
    cached[key] = feats
    _write_cache(cache, cached)
    return feats, "computed"


def _cache_path() -> Path:
    return paths.data_dir() / "cache" / "predict_features.json"


def _read_cache(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_cache(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(jsonable(data), sort_keys=True))
        tmp.replace(path)
    except OSError:
        pass  # a read-only data folder only costs recomputation


def predict_run(model: str, dataset: str, epochs: int, batch_size: int, gpu: str | None = None,
                precision: str | None = None) -> Prediction:
    """Predict the energy and duration of training ``model`` on ``dataset`` before it starts.

    Parameters
    ----------
    model : str
        A zoo model (:data:`greenai.models.MODEL_NAMES`), any torchvision
        classification model or ``timm:NAME`` (timm installed), adapted to the
        dataset's channels and classes.
    dataset : str
        ``fashion_mnist``, ``cifar10`` or ``cifar100`` (images resized to 224x224).
    epochs, batch_size : int
        At least 1; the batch at most the dataset's training samples. A run
        predicted to last more than a year gets a note.

    A model whose static pass met operators it cannot price (``unpriced_modules``
    of :func:`greenai.predict.features.static_features`) gets a note naming the
    modules that ran them, and the high end of both intervals (energy and time)
    x :func:`greenai.predict.model.unpriced_widening` of ``s``, their share of the bytes read and
    written (their work is priced only as bytes, if at all). Layer and group norms
    over fewer values than any fitted model's (:func:`~greenai.predict.model.narrow_norms`) are priced
    per byte at a price measured on wider ones: they get a note naming them and
    widen the high ends by the same rule, ``s`` their share of the bytes. Depthwise kernels of more taps than any
    fitted model's beyond 7 x 7 (:func:`~greenai.predict.model.large_kernels`) are priced per MAC as the fit
    learned from smaller ones, which a large kernel can undercut: a note names them and the low ends are divided
    by the same rule's factor, ``s`` the share of the MACs their taps beyond 49 do. Batch norms over few channels
    cost by the values a channel holds, which their bytes do not price: where their least time (values per channel
    x :data:`~greenai.predict.model.BATCH_NORM_CHANNEL_S`) is a larger share of the predicted time than in any
    fitted model (:func:`~greenai.predict.model.batch_norm_floor_share`), a note names them and the high ends
    widen by the same rule, ``s`` that share.
    gpu : str, optional
        A GPU with coefficients (case-insensitive, a unique part of the name
        such as ``h200`` suffices); default the GPU with the most zoo rows. A
        model outside the GPU's own fit, where another GPU's fit holds more
        models, is predicted by that widest fit times the card factor of the
        zoo runs both GPUs ran (``widest_fit`` of the GPU's coefficients), with
        a note saying so.
    precision : str, optional
        ``default`` (PyTorch's defaults), or a measured one (``fp32``, ``tf32``, ``bf16``).

    Returns
    -------
    Prediction

    Raises
    ------
    UnknownModelError, UnknownDatasetError, UnknownGpuError, UnmeasuredPrecisionError, InvalidRunError
        All :class:`PredictionError` (a ``ValueError``), with a message listing what is valid.
    """
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch size", batch_size)
    coeffs = load_coefficients()
    ds_key = _resolve_dataset(coeffs, dataset)
    gpu_name = _resolve_gpu(coeffs, gpu)
    prec = "default" if precision is None else str(precision).strip().lower()
    notes: list[str] = []
    factor = None
    if prec != "default":
        measured = {g: p for g, p in coeffs["precision_factors"].items() if prec in p}
        if not measured:
            known = sorted({"default"} | {p for f in coeffs["precision_factors"].values() for p in f})
            raise UnmeasuredPrecisionError(f"precision {precision!r} was never measured; measured precisions: "
                                           f"{', '.join(known)}")
        src = gpu_name if gpu_name in measured else coeffs["reference_gpu"] if coeffs["reference_gpu"] in measured \
            else sorted(measured)[0]
        factor = measured[src][prec]
        if prec == "tf32":
            notes.append("tf32: matrix products priced like dense convolutions (no FP32 premium); the thesis "
                         f"model x the tf32/default ratio measured on {src}")
        else:
            notes.append(f"{prec}: the default-precision prediction x {factor['energy_j']['factor']:.3f} (energy) "
                         f"and x {factor['duration_s']['factor']:.3f} (time), ratios measured on {src} "
                         f"({', '.join(factor['models'])})")
    feats, source = model_features(model, ds_key, coefficients=coeffs)
    model_name = str(model).strip().lower().replace("-", "_")
    n = coeffs["datasets"][ds_key]["n_train"]
    if batch_size > n:
        raise InvalidRunError(f"batch size {batch_size} is larger than the {int(n):,} training samples of {ds_key}: "
                              "an epoch would be one partial batch, a run nothing was measured on")
    x = {**regressors(feats, n, batch_size), "lineage": lineage(feats.get("family"))}
    fit, gpu_factor = gpu_fit_for(coeffs, gpu_name)
    if gpu_factor is not None:
        notes.append(f"{gpu_name}: too few zoo models for its own fit; {coeffs['fits'][gpu_name]['source']} "
                     f"{gpu_factor['factor']:.3f}")
    dur_factor = coeffs["fits"][gpu_name].get("gpu_factor", {}).get("duration_s")
    widest = coeffs["fits"][gpu_name].get("widest_fit")
    static_fit = fit
    if widest and model_name not in fit["models"]:
        static_fit, gpu_factor, dur_factor = coeffs["fits"][widest["gpu"]], widest["energy_j"], widest["duration_s"]
        notes.append(f"{model_name} is outside {gpu_name}'s own fit ({fit['n_models']} models): predicted by "
                     f"{widest['gpu']}'s static-feature model ({static_fit['n_models']} models) x "
                     f"{widest['energy_j']['factor']:.3f}, the card factor of the zoo runs both cards ran "
                     "(on fresh families it erred less than the narrower fit: docs/prediction.md)")
    unseen = model_name not in static_fit["models"]
    if unseen:
        rule = {"prospective": "the errors a fit made on each earlier held-out set, from the rows measured before it",
                "leave-one-family-out": "the errors on each family left out of the fit in turn"}
        how = rule.get(static_fit["static"]["energy_j"].get("q_unseen_method"),
                       "the errors on models left out of the fit")
        notes.append(f"{model_name} is not among the models the coefficients were fitted on: the interval is "
                     f"conformal over {how}, widened by how far its feature mix lies from the fitted rows")
    offset = static_fit["static"]["energy_j"].get("family_offsets", {}).get(x["lineage"])
    if unseen and offset and offset["log_offset"]:
        many = offset["models"] > 1
        notes.append(f"{model_name} is a variant of the {x['lineage']} family, {offset['models']} model"
                     f"{'s' if many else ''} of which the fit has: the static-feature model erred on "
                     f"{'them' if many else 'it'} by {math.expm1(-offset['mean_log_error']):+.1%}, so the estimate "
                     f"is x {math.exp(offset['log_offset']):.3f} (their "
                     "error, shrunken as a random effect; docs/prediction.md)")
    # tf32 differs from the default precision only in the matrix products (the static model prices that);
    # fp32 and bf16 change every operator: their measured ratio to the default scales the prediction
    fp32_matmuls = prec != "tf32"
    static_factor = factor if factor and prec != "tf32" else None
    energy = scale_prediction(scale_prediction(predict_static(static_fit["static"]["energy_j"], x, unseen,
                                                              fp32_matmuls), gpu_factor),
                              static_factor["energy_j"] if static_factor else None)
    duration = scale_prediction(scale_prediction(predict_static(static_fit["static"]["duration_s"], x, unseen,
                                                                fp32_matmuls), dur_factor),
                                static_factor["duration_s"] if static_factor else None)
    moved = sum(float(feats[f"bytes_{g}"]) for g in BYTE_GROUPS)
    unpriced = feats.get("unpriced_modules") or []
    if unpriced:
        share = float(feats.get("bytes_unpriced", 0.0)) / moved if moved > 0 else 0.0
        widen = unpriced_widening(share)
        energy, duration = (energy[0], energy[1], energy[2] * widen), (duration[0], duration[1], duration[2] * widen)
        notes.append(f"operators the static model cannot price ({share:.1%} of the bytes moved) ran in "
                     f"{'; '.join(unpriced)}: the intervals' high end x {widen:.2f}")
    narrow, fewest = narrow_norms(feats, coeffs["features"], static_fit["models"])
    if narrow:
        share = sum(a[1] for a in narrow) / moved if moved > 0 else 0.0
        widen = unpriced_widening(share)
        energy, duration = (energy[0], energy[1], energy[2] * widen), (duration[0], duration[1], duration[2] * widen)
        where = "; ".join(f"{a[3]}{f' and {a[2] - 1} more' if a[2] > 1 else ''} over {a[0]} values" for a in narrow)
        per_row = any(t["name"] == "norm_rows" for t in static_fit["static"]["energy_j"]["terms"])
        what = (f"norms over fewer values than any of the fit's (its fewest: {fewest})" if fewest is not None
                else "layer or group norms, which no model of the fit has,")
        if fewest is None:
            how = "priced per byte at the fitted norms' price, never measured on such a norm"
        elif per_row:
            how = "priced by their rows at the price the fit learned from wider norms (docs/prediction.md)"
        else:
            how = ("priced per byte at the fitted norms' price, which a norm this narrow exceeds: it costs by its "
                   "rows, not its bytes (docs/prediction.md)")
        notes.append(f"{what} ran in {where} ({share:.1%} of the bytes moved): {how}; the intervals' high end x "
                     f"{widen:.2f}")
    large, most = large_kernels(feats, coeffs["features"], static_fit["models"])
    if large:
        macs = float(feats["macs_total"])
        share = sum(a[1] for a in large) / macs if macs > 0 else 0.0
        widen = unpriced_widening(share)
        energy, duration = (energy[0], energy[1] / widen, energy[2]), (duration[0], duration[1] / widen, duration[2])
        where = "; ".join(f"{a[3]}{f' and {a[2] - 1} more' if a[2] > 1 else ''} of {a[0]} taps" for a in large)
        what = (f"depthwise kernels larger than any of the fit's (its largest: {most} taps)" if most is not None
                else "depthwise kernels larger than 7x7, which no model of the fit has,")
        notes.append(f"{what} ran in {where} ({share:.1%} of the MACs beyond 7x7 taps): each MAC priced as the fit "
                     f"learned from smaller kernels, which a large kernel can undercut (docs/prediction.md); the "
                     f"intervals' low end / {widen:.2f}")
    floor_share = batch_norm_floor_share(static_fit["static"]["duration_s"], feats, batch_size)
    fitted_share = fitted_batch_norm_floor_share(static_fit, coeffs["features"])
    if floor_share > fitted_share:
        widen = unpriced_widening(floor_share)
        energy, duration = (energy[0], energy[1], energy[2] * widen), (duration[0], duration[1], duration[2] * widen)
        most = sorted(feats["batch_norm_channels"], key=lambda a: -a[1] * (1 - a[0] / BATCH_NORM_WIDE_CHANNELS))[:2]
        where = "; ".join(f"{a[3]}{f' and {a[2] - 1} more' if a[2] > 1 else ''} over {a[0]} channel"
                          f"{'s' if a[0] > 1 else ''}" for a in most)
        per_channel = any(t["name"] == "batch_norm_channels" for t in static_fit["static"]["energy_j"]["terms"])
        how = ("priced by their values per channel at the price the fit learned" if per_channel
               else "priced by their bytes, though each channel's values are reduced in one pass")
        notes.append(f"batch norms over few channels ran in {where}: {how}; they take at least "
                     f"{BATCH_NORM_CHANNEL_S * 1e9:.1f} ns a value a channel holds, {floor_share:.0%} of the "
                     f"predicted time, more than in any fitted model (at most {fitted_share:.0%}; "
                     f"docs/prediction.md); the intervals' high end x {widen:.2f}")
    if duration[0] * epochs > LONG_RUN_S:
        notes.append(f"{epochs:,} epochs take about {duration[0] * epochs / YEAR_S:,.3g} years at the predicted "
                     "pace: check --epochs")
    own_hc = coeffs["fits"][gpu_name].get("thesis_by_precision", {}).get(prec)
    if own_hc is not None:  # HC fitted on this GPU in this precision
        thesis = predict_thesis(own_hc, float(feats["macs"]) * n)
    else:
        thesis = scale_prediction(predict_thesis(fit["thesis"], float(feats["macs"]) * n), factor["energy_j"] if factor else None)
    return Prediction(
        model=model_name, dataset=ds_key, epochs=epochs, batch_size=batch_size,
        gpu=gpu_name, precision=prec,
        energy_j=energy[0] * epochs, energy_low_j=energy[1] * epochs, energy_high_j=energy[2] * epochs,
        duration_s=duration[0] * epochs, duration_low_s=duration[1] * epochs, duration_high_s=duration[2] * epochs,
        epoch_energy_j=energy[0], epoch_energy_low_j=energy[1], epoch_energy_high_j=energy[2],
        epoch_duration_s=duration[0], thesis_energy_j=thesis[0] * epochs, samples_per_epoch=int(n),
        features_source=source, notes=notes)
