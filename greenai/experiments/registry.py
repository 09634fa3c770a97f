"""The experiments of the measurement campaign (thesis 2.3, 4.1, 4.2): :data:`EXPERIMENTS`.

Each :class:`Experiment` names its CSV, its kind of run and a function building
its grid (full, or shrunk by ``quick`` to a CPU smoke test);
:data:`DEFAULT_EXPERIMENTS` is what ``make measure`` runs and
:func:`run_experiment` runs one into ``<out>/<csv>.csv`` with its ``.meta.json``.
The command line is :mod:`greenai.campaign`; the table of experiments in
``docs/campaign.md`` is generated from this registry (:func:`markdown_table`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import time
from pathlib import Path
from typing import Callable, Sequence

from greenai import metadata, paths
from greenai.experiments.curve_sets import (ACCURACY_EPOCHS, ACCURACY_PRECISION, CURVE_ALEXNET_IMAGE_SIZE,
                                           CURVE_CIFAR10_LIMIT, CURVE_IMAGE_SIZE, CURVE_MODELS, FRESH2_CURVE_MODELS,
                                           FRESH3_CURVE_MODELS, FRESH4_CURVE_MODELS, FRESH5_CURVE_MODELS,
                                           FRESH6_CURVE_MODELS, FRESH7_CURVE_MODELS, FRESH_CURVE_MODELS)
from greenai.experiments.executors import InProcess
from greenai.experiments.grids import Grid, RunSpec, expand
from greenai.experiments.sweep import SweepSummary
from greenai.models.sets import (HELDOUT2_MODELS, HELDOUT3_MODELS, HELDOUT4_MODELS, HELDOUT5_MODELS, HELDOUT6_MODELS,
                                 HELDOUT7_MODELS, HELDOUT8_MODELS, HELDOUT9_MODELS, HELDOUT10_MODELS, HELDOUT11_MODELS,
                                 HELDOUT12_MODELS, HELDOUT13_MODELS, HELDOUT_ANCHORS, HELDOUT_MODELS,
                                 NEARFAMILY2_MODELS, NEARFAMILY3_MODELS, NEARFAMILY4_MODELS, NEARFAMILY5_MODELS,
                                 NEARFAMILY6_MODELS, NEARFAMILY_MODELS, REPEATED_MODELS)

FMNIST = "fashion_mnist"
CIFAR10 = "cifar10"
CIFAR100 = "cifar100"
#: the model of every ``--quick`` run (cheap on a CPU at 32x32)
QUICK_MODEL = "mobilenet_v1"


@dataclass(frozen=True)
class Experiment:
    """One experiment: where its rows go and how its grid is built."""

    name: str
    csv: str
    kind: str
    thesis: str
    description: str
    grids: Callable[[bool], list]
    quick_model: str = QUICK_MODEL

    def specs(self, quick: bool = False, models: Sequence[str] | None = None) -> list[RunSpec]:
        """The grid's runs (``quick``: the smoke grid); ``models`` (default all) keeps only those models' runs."""
        specs = expand(self.grids(quick))
        if quick:  # one small model for every smoke run, duplicates removed
            specs = list(dict.fromkeys(replace(s, model=self.quick_model) for s in specs))
        if models is not None:
            specs = [s for s in specs if s.model in models]
        return specs


def _all_models() -> list[str]:
    from greenai.models import MODEL_NAMES  # torch

    return list(MODEL_NAMES)


def _quick(opts: dict, quick: bool, **quick_opts) -> dict:
    """Options of a grid, shrunk for ``--quick`` (tiny synthetic CPU runs)."""
    if not quick:
        return opts
    out = {**opts, "image_size": 32, "warmup_steps": 1, "source": "synthetic", "limit": 16, **quick_opts}
    if out.get("max_steps") is None and out.get("window_s") is None and out.get("kind", "train") == "train":
        out["max_steps"] = 2
    if "window_s" in out:
        out["window_s"] = None
        out["max_steps"] = 2
    out["epochs"] = min(out.get("epochs", 1), 2)
    return out


def _layers(q):
    return [Grid("layers", ["alexnet"], [FMNIST], [4 if q else 128], repeats=1 if q else 2,
                    options=_quick({"kind": "layers", "max_steps": 469, "warmup_steps": 20}, q, max_steps=2))]


def _hardware(name):
    def grids(q):
        # Two repeats; the recorded ones ran in separate machine starts (a rerun adds the missing
        # repeat), so their spread within one GPU kind is the yardstick for the gap between kinds.
        return [Grid(name, ["alexnet"] if q else ["alexnet", "resnet18"], [FMNIST], [4 if q else 128],
                        repeats=1 if q else 2,
                        options=_quick({"epochs": 3, "warmup_steps": 20, "evaluate": True}, q, evaluate=False))]
    return grids


def _hardware_check(q):
    # One epoch of each hardware-grid run, one repeat: a short real GPU run whose numbers are
    # compared with the recorded hardware rows (kpi_hardware*.csv), e.g. after a code change.
    return [Grid("hardware_check", ["alexnet"] if q else ["alexnet", "resnet18"], [FMNIST], [4 if q else 128],
                    options=_quick({"epochs": 1, "warmup_steps": 20}, q))]


def _datasets(q):
    models = ["alexnet"] if q else ["alexnet", "resnet18"]
    b = 4 if q else 256
    return [Grid("datasets", models, [FMNIST], [b], options=_quick({"epochs": 2, "warmup_steps": 20}, q)),
            Grid("datasets", models, [CIFAR100], [b],
                    options=_quick({"epochs": 2, "warmup_steps": 20, "source": "synthetic"}, q))]


def _batch_size(q):
    sizes = [4, 8] if q else [64, 128, 256, 512, 1024, 2048]
    return [Grid("batch_size", ["alexnet"], [FMNIST], sizes, repeats=1 if q else 3,
                    options=_quick({"epochs": 2, "warmup_steps": 20, "evaluate": True}, q, evaluate=False))]


def _phases(q):
    return [Grid("phases", ["alexnet"] if q else ["alexnet", "resnet18"], [FMNIST], [4 if q else 256],
                    options=_quick({"kind": "phases", "epochs": 2, "window_s": 3.0, "warmup_steps": 20}, q))]


def _windows(experiment, dataset, source, models, repeats=1):
    return Grid(experiment, models, [dataset], [256], repeats=repeats,
                   options={"epochs": 2, "window_s": 3.0, "warmup_steps": 10, "source": source})


def _macs_part(datasets):
    def grids(q):
        if q:
            return [Grid("macs", ["alexnet"], list(datasets), [4], options=_quick({"epochs": 2, "window_s": 3.0}, q))]
        out = []
        if FMNIST in datasets:
            out.append(_windows("macs", FMNIST, "real", _all_models()))
        if CIFAR100 in datasets:
            out.append(_windows("macs", CIFAR100, "synthetic", _all_models()))
        if FMNIST in datasets:
            # repeats 1 and 2 of a subset (repeat 0 is in the grid above)
            extra = expand([_windows("macs", FMNIST, "real", list(REPEATED_MODELS), repeats=3)])
            out += [s for s in extra if s.repeat > 0]
        return out
    return grids


def _precision(q):
    return [Grid("precision", ["alexnet"] if q else ["alexnet", "resnet18", "vgg16"], [CIFAR100], [4 if q else 256],
                    precisions=["default", "fp32", "tf32", "bf16"],
                    options=_quick({"epochs": 2, "window_s": 3.0, "warmup_steps": 10, "source": "synthetic"}, q))]


def _cifar10(q):
    if q:
        return [Grid("cifar10", ["alexnet"], [CIFAR10], [4], options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("cifar10", CIFAR10, "real", _all_models())]


def _cifar10_pair(q):
    models = ["alexnet"] if q else ["alexnet", "resnet18"]
    if q:  # one synthetic grid: no real files are needed for the smoke test
        return [Grid("cifar10_pair", models, [CIFAR10], [4], options=_quick({"epochs": 2}, q))]
    return [Grid("cifar10_pair", models, [CIFAR10], [256], options={"epochs": 2, "warmup_steps": 20,
                                                                       "source": source})
            for source in ("real", "synthetic")]


def _heldout_set(name: str, models: tuple[str, ...]):
    """The grid of one held-out set: its models' Fashion-MNIST windows at batch 256 (smoke run: the
    experiment's ``quick_model``, which :meth:`Experiment.specs` puts in)."""
    def grids(q):
        if q:
            return [Grid(name, list(models[:1]), [FMNIST], [4], options=_quick({"epochs": 2, "window_s": 3.0}, q))]
        return [_windows(name, FMNIST, "real", list(models))]
    return grids


def _synthetic(part):
    """The synthetic architectures (:mod:`greenai.models.synthetic`): all, or the even / odd half."""
    def grids(q):
        from greenai.models.synthetic import SYNTHETIC_NAMES  # torch

        if q:
            return [Grid("synthetic", ["synthetic_39"], [FMNIST], [4],
                            options=_quick({"epochs": 2, "window_s": 3.0}, q))]
        names = [n for i, n in enumerate(SYNTHETIC_NAMES) if part is None or i % 2 == part]
        return [_windows("synthetic", FMNIST, "real", names)]
    return grids


def _synthetic_kinds(q):
    """The synthetic architectures led by the later block kinds (``synthetic_48`` ... ``synthetic_63``)."""
    from greenai.models.synthetic import KINDS_NAMES  # torch

    if q:
        return [Grid("synthetic_kinds", [KINDS_NAMES[8]], [FMNIST], [4],
                     options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("synthetic_kinds", FMNIST, "real", list(KINDS_NAMES))]


def _synthetic_grouped(q):
    """The synthetic architectures led by grouped convolutions of few groups (``synthetic_64`` ... ``synthetic_79``)."""
    from greenai.models.synthetic import GROUPED_NAMES  # torch

    if q:
        return [Grid("synthetic_grouped", [GROUPED_NAMES[8]], [FMNIST], [4],
                     options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("synthetic_grouped", FMNIST, "real", list(GROUPED_NAMES))]


def _synthetic_norms(q):
    """The synthetic architectures led by layer norms over few values (``synthetic_80`` ... ``synthetic_95``)."""
    from greenai.models.synthetic import NORMS_NAMES  # torch

    if q:
        return [Grid("synthetic_norms", [NORMS_NAMES[10]], [FMNIST], [4],
                     options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("synthetic_norms", FMNIST, "real", list(NORMS_NAMES))]


def _synthetic_kernels(q):
    """The synthetic architectures led by depthwise convolutions larger than 7x7 (``synthetic_96`` ...
    ``synthetic_111``)."""
    from greenai.models.synthetic import KERNEL_NAMES  # torch

    if q:
        return [Grid("synthetic_kernels", [KERNEL_NAMES[6]], [FMNIST], [4],
                     options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("synthetic_kernels", FMNIST, "real", list(KERNEL_NAMES))]


def _synthetic_batch_norms(q):
    """The synthetic architectures led by batch norms over 1-32 channels of a reshaped map (``synthetic_112`` ...
    ``synthetic_127``)."""
    from greenai.models.synthetic import BATCH_NORM_NAMES  # torch

    if q:
        return [Grid("synthetic_batch_norms", [BATCH_NORM_NAMES[4]], [FMNIST], [4],
                     options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("synthetic_batch_norms", FMNIST, "real", list(BATCH_NORM_NAMES))]


def _synthetic_dilated(q):
    """The synthetic architectures led by dilated and factorised convolutions (``synthetic_128`` ...
    ``synthetic_143``)."""
    from greenai.models.synthetic import DILATED_NAMES  # torch

    if q:
        return [Grid("synthetic_dilated", [DILATED_NAMES[3]], [FMNIST], [4],
                     options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("synthetic_dilated", FMNIST, "real", list(DILATED_NAMES))]


def _on_h200(name: str, grids_of: Callable) -> Callable:
    """The grids ``grids_of`` makes, under the experiment ``name``: another experiment repeated on an H200 into a
    CSV of its own (a committed file holds one GPU's rows), so that rows first measured on an H100 can join the
    H200's fit."""
    def grids(q):
        return [replace(g, experiment=name) for g in grids_of(q)]
    return grids


def _macs_h200(q):
    if q:
        return [Grid("macs_h200", ["alexnet"], [FMNIST], [4], options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("macs_h200", FMNIST, "real", _all_models())]


def _epochs(q):
    return [Grid("epochs", ["alexnet"], [FMNIST], [4 if q else 256],
                    options=_quick({"epochs": 10, "warmup_steps": 20, "evaluate": True}, q, evaluate=False))]


def _accuracy(dataset):
    """AlexNet and ResNet18 trained on real ``dataset`` for 30 full epochs, test accuracy after each."""
    def grids(q):
        return [Grid(f"accuracy_{dataset}", ["alexnet"] if q else ["alexnet", "resnet18"], [dataset],
                        [4 if q else 256], precisions=[ACCURACY_PRECISION],
                        options=_quick({"epochs": ACCURACY_EPOCHS, "warmup_steps": 20, "evaluate": True}, q,
                                       evaluate=False))]
    return grids


def _accuracy_curves(datasets, name="accuracy_curves", models=("alexnet",) + CURVE_MODELS):
    """Learning curves for energy to accuracy: ``models`` x ``datasets``, 30 full epochs, test accuracy after each
    (AlexNet at :data:`CURVE_ALEXNET_IMAGE_SIZE`, the others at :data:`CURVE_IMAGE_SIZE`)."""
    sizes = {}
    for m in models:
        sizes.setdefault(CURVE_ALEXNET_IMAGE_SIZE if m == "alexnet" else CURVE_IMAGE_SIZE, []).append(m)

    def grids(q):
        out = []
        for dataset in datasets:
            limit = {CIFAR10: CURVE_CIFAR10_LIMIT}.get(dataset)
            for size, at_size in sizes.items():
                out.append(Grid(name, [models[0]] if q else list(at_size), [dataset], [4 if q else 256],
                                precisions=[ACCURACY_PRECISION],
                                options=_quick({"epochs": ACCURACY_EPOCHS, "warmup_steps": 20, "evaluate": True,
                                                "image_size": size, "limit": limit}, q, evaluate=False)))
                if q:
                    break
        return out
    return grids


def _curve_set(name: str, description: str, models: Sequence[str] | None = None) -> list[Experiment]:
    """A set of learning curves (:func:`_accuracy_curves` of ``models``, default AlexNet and :data:`CURVE_MODELS`) as
    three experiments writing one CSV, ``name``: both datasets, and its Fashion-MNIST and CIFAR-10 halves."""
    kw = {} if models is None else {"name": name, "models": tuple(models)}
    thesis = "4.2.3 and beyond (energy to accuracy)"
    return [Experiment(name, name, "train", thesis, description, _accuracy_curves((FMNIST, CIFAR10), **kw)),
            Experiment(f"{name}_fmnist", name, "train", thesis, f"the Fashion-MNIST half of {name} (same CSV)",
                       _accuracy_curves((FMNIST,), **kw)),
            Experiment(f"{name}_cifar10", name, "train", thesis, f"the CIFAR-10 half of {name} (same CSV)",
                       _accuracy_curves((CIFAR10,), **kw))]


def _extrapolation(q):
    return [Grid("extrapolation", ["alexnet"] if q else ["vgg16", "mobilenet_v2", "googlenet", "googlenet_mod8"],
                    [FMNIST], [4 if q else 256], options=_quick({"epochs": 1, "warmup_steps": 10}, q))]


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in [
    Experiment("layers", "layer_profile", "layers", "2.3, Fig 2.2", "time and energy per layer type, AlexNet", _layers),
    Experiment("hardware", "kpi_hardware", "train", "4.1.1, Fig 4.1", "AlexNet and ResNet18 per epoch on this GPU",
               _hardware("hardware")),
    Experiment("hardware_h200", "kpi_hardware_h200", "train", "4.1.1, Fig 4.1", "the hardware grid on an H200",
               _hardware("hardware_h200")),
    Experiment("hardware_check", "kpi_hardware_check", "train", "4.1.1 (check)",
               "one epoch each of the hardware grid, to compare with the recorded rows", _hardware_check),
    Experiment("datasets", "kpi_datasets", "train", "4.1.2, Fig 4.2", "FMNIST vs CIFAR-100, full epochs",
               _datasets),
    Experiment("batch_size", "kpi_batch_size", "train", "4.1.3, Figs 4.3-4.6", "AlexNet, batch 64-2048",
               _batch_size),
    Experiment("phases", "phase_design", "phases", "2.2 phase energy", "phase energy by design windows", _phases),
    Experiment("macs", "kpi_macs", "train", "4.1.4-4.1.5, Figs 4.7, 4.9, 4.10",
               "20 models x FMNIST/CIFAR-100, windows", _macs_part((FMNIST, CIFAR100))),
    Experiment("macs_fmnist", "kpi_macs", "train", "4.1.4-4.1.5, Figs 4.7, 4.9",
               "the FMNIST half of macs (same CSV)", _macs_part((FMNIST,))),
    Experiment("macs_cifar100", "kpi_macs", "train", "4.1.4, Fig 4.10",
               "the CIFAR-100 half of macs (same CSV)", _macs_part((CIFAR100,))),
    Experiment("precision", "kpi_precision", "train", "beyond the thesis",
               "default / fp32 / tf32 / bf16 on CIFAR-100 synth., windows", _precision),
    Experiment("epochs", "kpi_epochs", "train", "4.1.3, Figs 4.5-4.6",
               "AlexNet, FMNIST, batch 256, 10 full epochs: is energy per epoch stationary?", _epochs),
    Experiment("extrapolation", "kpi_extrapolation", "train", "check of the macs windows",
               "full FMNIST epochs of 4 window-measured models (VGG16, MobileNetV2, GoogLeNet, mod8)", _extrapolation),
    Experiment("cifar10", "kpi_cifar10", "train", "4.1.4 / 4.2.2", "20 models on CIFAR-10, windows", _cifar10),
    Experiment("cifar10_pair", "kpi_cifar10_pair", "train", "data-source check",
               "real vs synthetic CIFAR-10, full epochs", _cifar10_pair),
    Experiment("heldout", "kpi_heldout", "train", "4.2 prediction (held-out test)",
               "11 torchvision models outside the zoo's families, FMNIST, batch 256, windows",
               _heldout_set("heldout", HELDOUT_MODELS), quick_model="squeezenet1_1"),
    Experiment("heldout2", "kpi_heldout2", "train", "4.2 prediction (fresh held-out test)",
               "13 more torchvision models outside the zoo's families, measured after the predictor was frozen",
               _heldout_set("heldout2", HELDOUT2_MODELS), quick_model="mnasnet0_5"),
    Experiment("heldout3", "kpi_heldout3", "train", "4.2 prediction (third held-out test)",
               "13 more torchvision models outside the zoo's families, predicted by the coefficients frozen "
               "before heldout2", _heldout_set("heldout3", HELDOUT3_MODELS), quick_model="squeezenet1_0"),
    Experiment("heldout4", "kpi_heldout4", "train", "4.2 prediction (fourth held-out test)",
               "16 timm models of families neither the zoo nor torchvision has (needs timm), FMNIST, batch 256, "
               "windows", _heldout_set("heldout4", HELDOUT_ANCHORS + HELDOUT4_MODELS),
               quick_model="timm:ese_vovnet19b_dw"),
    Experiment("heldout5", "kpi_heldout5", "train", "4.2 prediction (fifth held-out test)",
               "16 more timm models of families neither the zoo, torchvision nor heldout4 has (needs timm), "
               "FMNIST, batch 256, windows", _heldout_set("heldout5", HELDOUT_ANCHORS + HELDOUT5_MODELS),
               quick_model="timm:skresnet18"),
    Experiment("heldout6", "kpi_heldout6", "train", "4.2 prediction (sixth held-out test)",
               "16 more timm models of families neither the zoo, torchvision, heldout4 nor heldout5 has (needs "
               "timm), FMNIST, batch 256, windows", _heldout_set("heldout6", HELDOUT_ANCHORS + HELDOUT6_MODELS),
               quick_model="timm:legacy_seresnet18"),
    Experiment("nearfamily", "kpi_nearfamily", "train", "4.2 prediction (near-family test)",
               "12 unmeasured torchvision variants of families already fitted (zoo, heldout-heldout3), FMNIST, "
               "batch 256, windows", _heldout_set("nearfamily", HELDOUT_ANCHORS + NEARFAMILY_MODELS),
               quick_model="regnet_x_800mf"),
    Experiment("heldout7", "kpi_heldout7", "train", "4.2 prediction (seventh held-out test)",
               "16 more timm models of families neither the zoo, torchvision nor heldout4-heldout6 has (needs timm), "
               "FMNIST, batch 256, windows", _heldout_set("heldout7", HELDOUT_ANCHORS + HELDOUT7_MODELS),
               quick_model="timm:fasternet_t1"),
    Experiment("heldout8", "kpi_heldout8", "train", "4.2 prediction (eighth held-out test)",
               "16 more models of families neither the zoo, torchvision nor heldout4-heldout7 has: 1 timm, 15 "
               "pytorchcv (needs both), FMNIST, batch 256, windows",
               _heldout_set("heldout8", HELDOUT_ANCHORS + HELDOUT8_MODELS), quick_model="pytorchcv:peleenet"),
    Experiment("nearfamily2", "kpi_nearfamily2", "train", "4.2 prediction (second near-family test)",
               "12 pytorchcv variants of families already fitted (pre-activation, IBN, SE ResNets, ...; needs "
               "pytorchcv), FMNIST, batch 256, windows",
               _heldout_set("nearfamily2", HELDOUT_ANCHORS + NEARFAMILY2_MODELS), quick_model="pytorchcv:darknet19"),
    Experiment("heldout9", "kpi_heldout9", "train", "4.2 prediction (ninth held-out test)",
               "16 vit-pytorch configurations of families neither the zoo, torchvision nor heldout4-heldout8 has "
               "(needs vit-pytorch), FMNIST, batch 256, windows",
               _heldout_set("heldout9", HELDOUT_ANCHORS + HELDOUT9_MODELS),
               quick_model="vitpytorch:vit_patch_merger_s"),
    Experiment("nearfamily3", "kpi_nearfamily3", "train", "4.2 prediction (third near-family test)",
               "12 pytorchcv and timm variants of families already fitted (MENet, HarDNet, FishNet, ... of set 8; "
               "SE, IBN, pre-activation ResNets ...; needs both), FMNIST, batch 256, windows",
               _heldout_set("nearfamily3", HELDOUT_ANCHORS + NEARFAMILY3_MODELS),
               quick_model="pytorchcv:darknet_ref"),
    Experiment("heldout10", "kpi_heldout10", "train", "4.2 prediction (tenth held-out test)",
               "16 models of families no earlier set, the zoo nor torchvision has: 8 mmpretrain backbones, 1 timm, "
               "7 pytorchcv (needs all three), FMNIST, batch 256, windows",
               _heldout_set("heldout10", HELDOUT_ANCHORS + HELDOUT10_MODELS), quick_model="mmpretrain:van_b0"),
    Experiment("heldout11", "kpi_heldout11", "train", "4.2 prediction (eleventh held-out test)",
               "16 MONAI networks (encoder-decoders and others) of families no earlier set, the zoo nor torchvision "
               "has, with a pooled linear head (needs monai), FMNIST, batch 256, windows",
               _heldout_set("heldout11", HELDOUT_ANCHORS + HELDOUT11_MODELS), quick_model="monai:autoencoder"),
    Experiment("nearfamily4", "kpi_nearfamily4", "train", "4.2 prediction (fourth near-family test)",
               "12 unmeasured size variants of families heldout10 fitted: 6 mmpretrain (VAN, HorNet, RepMLPNet, ...), "
               "6 pytorchcv (BAM, CBAM, DIA ResNets, ...; needs both), FMNIST, batch 256, windows",
               _heldout_set("nearfamily4", HELDOUT_ANCHORS + NEARFAMILY4_MODELS), quick_model="mmpretrain:van_b1"),
    Experiment("nearfamily5", "kpi_nearfamily5", "train", "4.2 prediction (fifth near-family test)",
               "12 unmeasured variants of lineages the H200's fit has 2-10 models of: 6 timm (EfficientNet-Lite4, "
               "DenseNet-Blur, ConvNeXt-nano, ...), 6 pytorchcv (RegNetX-4.0GF, SE-PreResNet-34, ...; needs both), "
               "FMNIST, batch 256, windows",
               _heldout_set("nearfamily5", HELDOUT_ANCHORS + NEARFAMILY5_MODELS), quick_model="timm:darknet17"),
    Experiment("heldout12", "kpi_heldout12", "train", "4.2 prediction (twelfth held-out test)",
               "16 pytorchcv dense-prediction networks (real-time segmentation, face detection and reconstruction, "
               "pose) of families no earlier set, the zoo nor torchvision has, with a pooled linear head (needs "
               "pytorchcv), FMNIST, batch 256, windows",
               _heldout_set("heldout12", HELDOUT_ANCHORS + HELDOUT12_MODELS), quick_model="pytorchcv:enet_cityscapes"),
    Experiment("nearfamily6", "kpi_nearfamily6", "train", "4.2 prediction (sixth near-family test)",
               "12 unmeasured variants of lineages the H200's fit has 2-10 models of, drawn again by the fifth set's "
               "rule after it was measured (needs timm and pytorchcv), FMNIST, batch 256, windows",
               _heldout_set("nearfamily6", HELDOUT_ANCHORS + NEARFAMILY6_MODELS), quick_model="pytorchcv:hardnet39ds"),
    Experiment("heldout13", "kpi_heldout13", "train", "4.2 prediction (thirteenth held-out test)",
               "15 models of families no earlier set, the zoo nor torchvision has: 11 transformers dense-prediction, "
               "depth, matting, video and detection models, 3 pytorchcv, 1 MONAI, with a pooled "
               "linear head (needs transformers, pytorchcv and monai), FMNIST, batch 256, windows",
               _heldout_set("heldout13", HELDOUT_ANCHORS + HELDOUT13_MODELS), quick_model="hf:segformer_b0"),
    Experiment("synthetic", "kpi_synthetic", "train", "4.2 prediction (training rows)",
               "48 random architectures from common blocks, FMNIST, batch 256, windows", _synthetic(None),
               quick_model="synthetic_39"),
    Experiment("synthetic_even", "kpi_synthetic", "train", "4.2 prediction (training rows)",
               "the even half of synthetic (same CSV)", _synthetic(0), quick_model="synthetic_39"),
    Experiment("synthetic_odd", "kpi_synthetic", "train", "4.2 prediction (training rows)",
               "the odd half of synthetic (same CSV)", _synthetic(1), quick_model="synthetic_39"),
    Experiment("synthetic_kinds", "kpi_synthetic_kinds", "train", "4.2 prediction (training rows)",
               "16 random architectures led by recurrent (LSTM, GRU), windowed, pooled and linear attention, FFT, "
               "shift, pooling, gated-MLP, squeeze-excite and pre-activation blocks, FMNIST, batch 256, windows",
               _synthetic_kinds, quick_model="synthetic_56"),
    Experiment("synthetic_grouped", "kpi_synthetic_grouped", "train", "4.2 prediction (training rows)",
               "16 random architectures led by grouped convolutions of few groups: grouped 1x1 bottlenecks with 2, 3, "
               "4 or 8 groups and optional channel shuffle, 2x2, 3x3 and dilated 3x3 convolutions of 2 or 4 groups, "
               "FMNIST, batch 256, windows", _synthetic_grouped, quick_model="synthetic_72"),
    Experiment("synthetic_norms", "kpi_synthetic_norms", "train", "4.2 prediction (training rows)",
               "16 random architectures led by narrow norms: DeepViT's re-attention in 7x7 windows (LayerNorm over "
               "2-12 heads at every attention-map entry), window attention with LayerNorm over 8-32 channels on "
               "queries and keys, ConvNeXt-like blocks normalising groups of 2-32 channels, FMNIST, batch 256, "
               "windows", _synthetic_norms, quick_model="synthetic_90"),
    Experiment("synthetic_kernels", "kpi_synthetic_kernels", "train", "4.2 prediction (training rows)",
               "16 random architectures led by depthwise convolutions larger than 7x7: RepLKNet blocks (a k x k "
               "depthwise conv beside a 5x5 one) and ConvNeXt-like blocks, k of 9-31, FMNIST, batch 256, windows",
               _synthetic_kernels, quick_model="synthetic_102"),
    Experiment("synthetic_batch_norms", "kpi_synthetic_batch_norms", "train", "4.2 prediction (training rows)",
               "16 random architectures led by batch norms over 1-32 channels of a reshaped map (each channel "
               "holding many values, as RepMLPNet's): a norm over groups of channels before a 1x1 conv, RepMLPNet's "
               "partition perceptron in 7x7 partitions, FMNIST, batch 256, windows", _synthetic_batch_norms,
               quick_model="synthetic_116"),
    Experiment("synthetic_dilated", "kpi_synthetic_dilated", "train", "4.2 prediction (training rows)",
               "16 random architectures led by dilated and factorised convolutions: ERFNet's non-bottleneck-1D "
               "block (3x1 and 1x3 convolutions, the second pair dilated by 1-8) and basic blocks of two 3x3 "
               "convolutions dilated by 2-16, FMNIST, batch 256, windows", _synthetic_dilated,
               quick_model="synthetic_131"),
    Experiment("synthetic_dilated_h200", "kpi_synthetic_dilated_h200", "train", "4.2 prediction (training rows)",
               "synthetic_dilated repeated on an H200 (beside the fit's rows), FMNIST, batch 256, windows",
               _on_h200("synthetic_dilated_h200", _synthetic_dilated), quick_model="synthetic_131"),
    Experiment("synthetic_batch_norms_h200", "kpi_synthetic_batch_norms_h200", "train",
               "4.2 prediction (training rows)",
               "synthetic_batch_norms repeated on an H200 (beside the fit's rows), FMNIST, batch 256, windows",
               _on_h200("synthetic_batch_norms_h200", _synthetic_batch_norms), quick_model="synthetic_116"),
    Experiment("synthetic_kernels_h200", "kpi_synthetic_kernels_h200", "train", "4.2 prediction (training rows)",
               "synthetic_kernels repeated on an H200 (beside the fit's rows), FMNIST, batch 256, windows",
               _on_h200("synthetic_kernels_h200", _synthetic_kernels), quick_model="synthetic_102"),
    Experiment("synthetic_norms_h200", "kpi_synthetic_norms_h200", "train", "4.2 prediction (training rows)",
               "synthetic_norms repeated on an H200 (beside the fit's rows), FMNIST, batch 256, windows",
               _on_h200("synthetic_norms_h200", _synthetic_norms), quick_model="synthetic_90"),
    Experiment("heldout10_h200", "kpi_heldout10_h200", "train", "4.2 prediction (tenth held-out test)",
               "heldout10 repeated on an H200 (beside the fit's rows; needs mmpretrain, timm and pytorchcv), "
               "FMNIST, batch 256, windows",
               _on_h200("heldout10_h200", _heldout_set("heldout10", HELDOUT_ANCHORS + HELDOUT10_MODELS)),
               quick_model="mmpretrain:van_b0"),
    Experiment("heldout11_h200", "kpi_heldout11_h200", "train", "4.2 prediction (eleventh held-out test)",
               "heldout11 repeated on an H200 (beside the fit's rows; needs monai), FMNIST, batch 256, windows",
               _on_h200("heldout11_h200", _heldout_set("heldout11", HELDOUT_ANCHORS + HELDOUT11_MODELS)),
               quick_model="monai:autoencoder"),
    Experiment("heldout12_h200", "kpi_heldout12_h200", "train", "4.2 prediction (twelfth held-out test)",
               "heldout12 repeated on an H200 (beside the fit's rows; needs pytorchcv), FMNIST, batch 256, windows",
               _on_h200("heldout12_h200", _heldout_set("heldout12", HELDOUT_ANCHORS + HELDOUT12_MODELS)),
               quick_model="pytorchcv:enet_cityscapes"),
    Experiment("heldout13_h200", "kpi_heldout13_h200", "train", "4.2 prediction (thirteenth held-out test)",
               "heldout13 repeated on an H200 (beside the fit's rows; needs transformers, pytorchcv and monai), "
               "FMNIST, batch 256, windows",
               _on_h200("heldout13_h200", _heldout_set("heldout13", HELDOUT_ANCHORS + HELDOUT13_MODELS)),
               quick_model="hf:segformer_b0"),
    Experiment("nearfamily4_h200", "kpi_nearfamily4_h200", "train", "4.2 prediction (fourth near-family test)",
               "nearfamily4 repeated on an H200 (beside the fit's rows; needs mmpretrain and pytorchcv), FMNIST, "
               "batch 256, windows",
               _on_h200("nearfamily4_h200", _heldout_set("nearfamily4", HELDOUT_ANCHORS + NEARFAMILY4_MODELS)),
               quick_model="mmpretrain:van_b1"),
    Experiment("macs_h200", "kpi_macs_h200", "train", "4.1.4 / 4.2 on the second GPU kind",
               "the 20 models on FMNIST, batch 256, windows, on an H200 (beside heldout)", _macs_h200),
    Experiment("accuracy_fashion_mnist", "accuracy_fashion_mnist", "train", "4.2.3, Figs 4.17, 4.19",
               "AlexNet, ResNet18, real Fashion-MNIST, batch 256, bf16, 30 epochs with test accuracy",
               _accuracy(FMNIST)),
    Experiment("accuracy_cifar10", "accuracy_cifar10", "train", "4.2.3, Figs 4.18, 4.20 (CIFAR-10 for CIFAR-100)",
               "AlexNet, ResNet18, real CIFAR-10, batch 256, bf16, 30 epochs with test accuracy",
               _accuracy(CIFAR10)),
    *_curve_set("accuracy_curves", "8 models (6 zoo, 2 torchvision families outside it) x real FMNIST and CIFAR-10 "
                "(20,000 training images), 32 px (AlexNet 64 px), batch 256, bf16, 30 epochs with test accuracy"),
    *_curve_set("accuracy_curves_fresh", "4 models outside accuracy_curves, chosen before measuring (a fresh test of "
                "the population prior), x real FMNIST and CIFAR-10 (20,000 training images), 32 px, batch 256, bf16, "
                "30 epochs with test accuracy", FRESH_CURVE_MODELS),
    *_curve_set("accuracy_curves_fresh2", "4 models of families no recorded curve has, chosen before measuring (a "
                "fresh test of the prior of every curve recorded before), x real FMNIST and CIFAR-10 (20,000 training "
                "images), 32 px, batch 256, bf16, 30 epochs with test accuracy", FRESH2_CURVE_MODELS),
    *_curve_set("accuracy_curves_fresh3", "4 models of held-out families (VoVNet, PoolFormer, PVTv2, NF-ResNet; "
                "needs timm), chosen before measuring (a third fresh test of the prior and the yardstick), x real "
                "FMNIST and CIFAR-10 (20,000 training images), 32 px, batch 256, bf16, 30 epochs with test accuracy",
                FRESH3_CURVE_MODELS),
    *_curve_set("accuracy_curves_fresh4", "4 models of held-out families (SENet, StarNet, MambaOut, FasterNet; needs "
                "timm), chosen before measuring by the third set's rule (a fourth fresh test of the prior and the "
                "yardsticks), x real FMNIST and CIFAR-10 (20,000 training images), 32 px, batch 256, bf16, 30 epochs "
                "with test accuracy", FRESH4_CURVE_MODELS),
    *_curve_set("accuracy_curves_fresh5", "4 models of held-out families (QuickNAT, HighResNet, AttentionUNet, "
                "RegUNet; needs monai), chosen before measuring by the third set's rule (a fifth fresh test of the "
                "prior and the yardsticks), x real FMNIST and CIFAR-10 (20,000 training images), 32 px, batch 256, "
                "bf16, 30 epochs with test accuracy", FRESH5_CURVE_MODELS),
    *_curve_set("accuracy_curves_fresh6", "4 models of held-out families (SegResNet, VQ-VAE, AutoEncoder, BasicUNet; "
                "needs monai), chosen before measuring by the third set's rule (a sixth fresh test of the prior, the "
                "yardsticks and candidate C4), x real FMNIST and CIFAR-10 (20,000 training images), 32 px, batch 256, "
                "bf16, 30 epochs with test accuracy", FRESH6_CURVE_MODELS),
    *_curve_set("accuracy_curves_fresh7", "4 models of held-out families (UNet, DynUNet, LinkNet, CenterNet; needs "
                "monai and pytorchcv), chosen before measuring by the third set's rule (a seventh fresh test of the "
                "prior and the yardsticks, C4's second), x real FMNIST and CIFAR-10 (20,000 training images), 32 px, "
                "batch 256, bf16, 30 epochs with test accuracy", FRESH7_CURVE_MODELS),
    Experiment("accuracy_cifar100", "accuracy_cifar100", "train", "4.2.3, Figs 4.18, 4.20",
               "AlexNet, ResNet18, real CIFAR-100, batch 256, bf16, 30 epochs with test accuracy",
               _accuracy(CIFAR100)),
]}

#: what ``make measure`` runs when no experiment is named (hardware_h200 and macs_h200 need the other GPU)
DEFAULT_EXPERIMENTS: tuple[str, ...] = ("layers", "hardware", "datasets", "batch_size", "phases", "macs",
                                        "precision", "epochs", "extrapolation", "cifar10_pair", "cifar10",
                                        "heldout", "synthetic", "heldout2", "heldout3", "heldout4", "heldout5",
                                        "synthetic_kinds", "heldout6", "nearfamily", "heldout7", "heldout8",
                                        "synthetic_grouped", "nearfamily2", "heldout9", "nearfamily3",
                                        "synthetic_norms", "heldout10", "synthetic_kernels", "synthetic_batch_norms",
                                        "heldout11", "nearfamily4", "nearfamily5", "heldout12", "synthetic_dilated",
                                        "nearfamily6", "heldout13",
                                        "accuracy_fashion_mnist", "accuracy_cifar10")


def run_experiment(name: str, out_dir: str | Path | None = None, quick: bool = False, env=None,
                   data_root=None, models: Sequence[str] | None = None, checkpoint_dir=None,
                   progress: bool = True, log=print,
                   validate_first: bool = True, executor=None) -> SweepSummary:
    """Run one named experiment into ``<out_dir>/<csv>.csv`` and write its ``.meta.json``.

    ``out_dir`` defaults to ``results/raw`` (written only from a GPU), or ``results/scratch`` for a
    ``quick`` grid, which is never written into ``results/raw``
    (:class:`~greenai.experiments.store.ProtectedResultsError`).

    Its grid is validated once, here (``validate_first=False`` when the caller
    has already validated it, as the command line does for all experiments at once).
    ``executor`` (default in-process on ``env``) may spread the cells over Dask
    workers (:class:`~greenai.experiments.executors.DaskExecutor`); this process writes the rows either way.
    ``models`` (default all) keeps only those models' cells of the grid; the ``.meta.json`` names them, and a grid
    holding none of them is left alone (no CSV, no ``.meta.json``).
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[name]
    out_dir = Path(out_dir) if out_dir is not None else (paths.SCRATCH_DIR if quick else paths.RAW_DIR)
    csv_path = out_dir / f"{exp.csv}.csv"
    specs = exp.specs(quick, models)
    if models is not None and not specs:  # none of those models is in this grid: nothing to run, nothing to record
        return SweepSummary()
    kwargs = dict(env=env, data_root=data_root, progress=progress, log=log, validate_first=validate_first,
                  allow_raw=False if quick else None)  # a quick grid never writes into results/raw
    if exp.kind == "train":
        kwargs["checkpoint_dir"] = checkpoint_dir
    if exp.kind == "layers":
        kwargs["replay_window_s"] = 0.1 if quick else 3.0
    executor = executor or InProcess()
    described = dict(campaign=name, thesis=exp.thesis, description=exp.description, quick=quick,
                     idle_power_w=getattr(env, "idle_power_w", None), idle_kind=getattr(env, "idle_kind", None))
    if models is not None:
        described["models"] = list(models)
    rows_before, t0 = _rows_in(csv_path), time.perf_counter()
    try:
        summary = executor.run(specs, csv_path, **kwargs)
    except KeyboardInterrupt:  # the rows written so far are a measurement too: record what ran them
        written = _rows_in(csv_path) - rows_before
        if written:
            metadata.write_meta(csv_path, **described, rows_written=written,
                                seconds=round(time.perf_counter() - t0, 1),
                                stopped="interrupted (SIGINT) before the grid was done; a rerun measures the rest")
        raise
    placement = {"executor": executor.description}
    if getattr(executor, "workers", None):
        placement["workers"] = list(executor.workers.values())
        placement["cells_per_worker"] = summary.cells_per_worker
        placement.update(start_s=round(summary.start_s, 1), warmup_s=round(summary.warmup_s, 1), warmup=summary.warmup)
    if summary.failed:
        placement["failed_cells"] = [f.describe() for f in summary.failed]
    metadata.write_meta(csv_path, **described, rows_written=summary.written, rows_skipped=summary.skipped,
                        seconds=round(summary.seconds, 1), **placement)
    return summary


def _rows_in(csv_path: Path) -> int:
    """Data rows of a results CSV (0 when there is none yet, or it is no CSV: the store refuses such a file)."""
    if not csv_path.exists():
        return 0
    import pandas as pd  # heavy: pandas

    try:
        return len(pd.read_csv(csv_path, usecols=[0]))
    except (ValueError, UnicodeDecodeError):  # pandas' parser errors are ValueErrors
        return 0


def describe_grid(specs: list[RunSpec]) -> str:
    """One line saying what a grid measures: models, data, batch sizes, precisions, window and repeats."""
    models = list(dict.fromkeys(s.model for s in specs))
    data = list(dict.fromkeys(f"{s.dataset} ({s.source})" for s in specs))
    batches = sorted({s.batch_size for s in specs})
    precisions = list(dict.fromkeys(s.precision for s in specs))
    parts = [", ".join(models) if len(models) <= 4 else f"{len(models)} models", " and ".join(data),
             "batch " + ", ".join(map(str, batches))]
    if precisions != ["default"]:
        parts.append(" / ".join(precisions))
    for kind, epochs, steps, window_s in dict.fromkeys((s.kind, s.epochs, s.max_steps, s.window_s) for s in specs):
        if kind == "phases":
            parts.append(f"phase design windows of ≥ {window_s:g} s" if window_s else "phase design windows")
        elif kind == "layers":
            parts.append(f"{epochs} epoch of ≤ {steps} steps with per-layer hooks" if steps else "per-layer hooks")
        elif window_s:
            parts.append(f"{epochs} windows of ≥ {window_s:g} s")
        elif steps:
            parts.append(f"{epochs} windows of {steps} steps")
        else:
            parts.append(f"{epochs} full epoch{'s' if epochs > 1 else ''}")
    if any(s.evaluate for s in specs):
        parts.append("test accuracy after each epoch")
    repeats = max(s.repeat for s in specs) + 1
    if repeats > 1:
        parts.append(f"up to {repeats} repeats")
    return "; ".join(parts)


def markdown_table() -> str:
    """The table of every experiment (``*``: the default set) as Markdown, from :data:`EXPERIMENTS`."""
    lines = ["| experiment | thesis | CSV (`results/raw/`) | runs | grid | what it measures |",
             "|---|---|---|---:|---|---|"]
    for name, exp in EXPERIMENTS.items():
        specs = exp.specs()
        mark = " \\*" if name in DEFAULT_EXPERIMENTS else ""
        lines.append(f"| `{name}`{mark} | {exp.thesis} | `{exp.csv}.csv` | {len(specs)} | {describe_grid(specs)} "
                     f"| {exp.description} |")
    return "\n".join(lines) + "\n"
