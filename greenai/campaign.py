"""The measurement campaign of thesis sections 2.3 and 4.1, on a GPU.

``python -m greenai.campaign [--experiment NAME ...] [--out DIR] [--quick]``
(``make measure``) runs the experiments below and appends rows to
``<out>/<csv>.csv`` (default ``results/raw/``; ``results/scratch/`` for a
``--quick`` run or one on a CPU, which never writes into ``results/raw/``) with
a ``.meta.json`` beside each. Ctrl-C stops it (exit code 130) keeping the rows
written so far. Every experiment is resumable: rerun the same command after an
interruption and only missing rows are measured. ``--gpus all`` (``make measure
GPUS=all``) spreads the cells over one Dask worker per local GPU, ``--scheduler
ADDRESS`` over the workers of a running Dask cluster (e.g. Slurm through
dask-jobqueue); this process still writes every row
(:mod:`greenai.experiments.executors`).

=================  ======================================  =====================================
experiment         thesis                                  grid
=================  ======================================  =====================================
layers             2.3, Fig 2.2                            AlexNet, Fashion-MNIST, batch 128: one
                                                           epoch with forward hooks, 2 repeats;
                                                           each layer type replayed 3 s
hardware           4.1.1, Fig 4.1 (this GPU)               AlexNet, ResNet18, FMNIST, batch 128,
                                                           3 full epochs, 2 repeats
hardware_h200      4.1.1 on the second GPU kind            the same grid, its own CSV
hardware_check     4.1.1 (a short check on a GPU)          AlexNet, ResNet18, FMNIST, batch 128,
                                                           1 full epoch, 1 repeat (not in the
                                                           default set: compare its rows with the
                                                           recorded ``kpi_hardware*.csv``)
datasets           4.1.2, Fig 4.2                          AlexNet, ResNet18 on FMNIST vs
                                                           CIFAR-100 (synthetic), batch 256,
                                                           2 full epochs (the 20-model windows of
                                                           ``macs`` add GoogLeNet and VGG11)
batch_size         4.1.3, Figs 4.3-4.6                     AlexNet, FMNIST, batch 64…2048,
                                                           2 full epochs, 3 repeats
phases             2.2/4.1 phase energy                    AlexNet, ResNet18, FMNIST, batch 256:
                                                           design windows, 2 repeats
macs               4.1.4-4.1.5, Figs 4.7, 4.9, 4.10        20 models × {FMNIST, CIFAR-100 synth.}
                                                           batch 256: 2 windows of ≥ 3 s after
                                                           warm-up (per-epoch energy extrapolated
                                                           by samples, flagged); 3 repeats of 7
                                                           models on FMNIST (``macs_fmnist`` and
                                                           ``macs_cifar100`` run either half)
precision          beyond the thesis                       AlexNet, ResNet18, VGG16, CIFAR-100
                                                           synth., batch 256, default / fp32 /
                                                           tf32 / bf16, 2 windows of ≥ 3 s
epochs             4.1.3, Figs 4.5-4.6                     AlexNet, FMNIST, batch 256, 10 full
                                                           epochs with test accuracy
extrapolation      check of the windows                    VGG16, MobileNetV2, GoogLeNet, _mod8 on
                                                           FMNIST, batch 256, one full epoch
cifar10            4.2.2 data, 4.1.4 on CIFAR-10           20 models, CIFAR-10 real, batch 256,
                                                           2 windows of ≥ 3 s
cifar10_pair       real vs synthetic pixels                AlexNet, ResNet18 on CIFAR-10 real and
                                                           synthetic, 2 full epochs each
heldout            4.2 prediction, held-out test           11 torchvision models of families not
                                                           in the zoo (DenseNet, EfficientNet,
                                                           RegNet, ShuffleNet, SqueezeNet,
                                                           MnasNet, ConvNeXt, ResNeXt, MobileNetV3,
                                                           ViT, Swin), FMNIST, batch 256: the
                                                           windows of ``macs``
heldout2           4.2 prediction, fresh held-out test     13 more torchvision models outside the
                                                           zoo's families (MaxViT, RegNetX/Y,
                                                           EfficientNet(V2), DenseNet169, ...),
                                                           chosen before the predictor was frozen
heldout3           4.2 prediction, third held-out test     13 more (DenseNet201, EfficientNet-B1/B3,
                                                           RegNets, Swin-S, ConvNeXt-B, EfficientNetV2
                                                           -M, ...), predicted by the same frozen
                                                           coefficients as ``heldout2``
heldout4           4.2 prediction, fourth held-out test    16 timm models (``timm:NAME``, needs
                                                           ``pip install 'greenai[timm]'``), one per
                                                           timm family that neither the zoo nor
                                                           torchvision has (RepVGG, CSPNet, DLA,
                                                           HRNet, DPN, Xception, ResNeSt, VoVNet,
                                                           ReXNet, MLP-Mixer, PoolFormer, LeViT,
                                                           MobileViT, EfficientFormer, EdgeNeXt,
                                                           FastViT): :data:`HELDOUT4_MODELS`;
                                                           first 4 zoo anchors on the same card
                                                           (:data:`HELDOUT_ANCHORS`)
heldout5           4.2 prediction, fifth held-out test     16 more timm models, one per timm family
                                                           that neither the zoo, torchvision, set 4
                                                           nor timm's ViT variants have (PVTv2, CoaT,
                                                           NFNet, InceptionNeXt, TinyViT, GCViT,
                                                           HGNet, RepViT, SelecSLS, SKNet, Res2Net,
                                                           ConViT, Visformer, XCiT, DaViT, FocalNet):
                                                           :data:`HELDOUT5_MODELS`; the same 4 zoo
                                                           anchors first
synthetic          4.2 prediction, training rows           48 random architectures from common
                                                           blocks (:mod:`greenai.models.synthetic`),
                                                           FMNIST, batch 256, the windows of
                                                           ``macs`` (``synthetic_even`` and
                                                           ``synthetic_odd`` run either half)
macs_h200          the zoo beside ``heldout`` on an H200   the FMNIST half of ``macs`` (20 models,
                                                           one repeat), its own CSV: the fit on the
                                                           GPU kind the held-out rows come from
accuracy_fashion_  4.2.3, Figs 4.17, 4.19                  AlexNet, ResNet18, real FMNIST, batch
mnist                                                      256, bf16, 30 full epochs with test
                                                           accuracy after each (checkpointed)
accuracy_cifar10   4.2.3, Figs 4.18, 4.20 (CIFAR-10        the same grid on real CIFAR-10
                   stands in for CIFAR-100)
accuracy_cifar100  4.2.3, Figs 4.18, 4.20                  the same grid on real CIFAR-100 (only
                                                           where its files exist; not a default)
accuracy_curves    4.2.3 and beyond: energy to accuracy     8 models (AlexNet, ResNet18/34, VGG11,
                                                           MobileNetV2, GoogLeNet; ShuffleNetV2,
                                                           RegNetY-400MF) x real FMNIST and
                                                           CIFAR-10 (first 20,000 training
                                                           images), 32 px (AlexNet 64 px), batch
                                                           256, bf16, 30 epochs with test accuracy
                                                           (``accuracy_curves_fmnist`` and
                                                           ``_cifar10`` run either half)
=================  ======================================  =====================================

Full epochs of all 20 models take long (VGG16: ~50-100 s per epoch on an
H100), hence the windows of ``macs`` and ``cifar10``: each is a
fixed number of steps (≥ 3 s, chosen from the warm-up step time), and the row's
``epoch_energy_j`` is the window energy scaled by n_train / samples, with
``epoch_energy_extrapolated = True``. ``datasets`` measures full epochs of two
models on the same grid, which checks that extrapolation.

``--quick`` shrinks every grid to a CPU-sized smoke test (tiny images,
synthetic data, a few steps); it is what the tests run. ``--list`` lists every
experiment ``--experiment`` accepts (those of the default set marked).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from greenai import experiments as ex
from greenai import paths

FMNIST = "fashion_mnist"
CIFAR10 = "cifar10"
CIFAR100 = "cifar100"
#: models whose ``macs`` runs are repeated 3 times (spread; multi-branch comparison)
#: the model of every ``--quick`` run (cheap on a CPU at 32x32)
QUICK_MODEL = "mobilenet_v1"
REPEATED_MODELS = ("alexnet", "vgg11", "resnet18", "googlenet", "googlenet_mod1", "googlenet_mod8",
                   "googlenet_mod12")
#: torchvision models of families outside the zoo, measured only to test energy prediction
#: (:mod:`greenai.predict`); none of them enters a fit
HELDOUT_MODELS = ("densenet121", "efficientnet_b0", "regnet_y_800mf", "shufflenet_v2_x1_0", "squeezenet1_1",
                  "mnasnet1_0", "convnext_tiny", "resnext50_32x4d", "mobilenet_v3_large", "vit_b_16", "swin_t")
#: a second, fresh held-out set: chosen, and the predictor's coefficients committed, before any of these was
#: measured (the first set's residuals had been seen when the synthetic training rows were designed)
HELDOUT2_MODELS = ("maxvit_t", "regnet_x_1_6gf", "regnet_y_400mf", "efficientnet_v2_s", "efficientnet_b2",
                   "densenet169", "shufflenet_v2_x2_0", "mnasnet0_5", "convnext_small", "swin_v2_t", "vit_b_32",
                   "resnext101_32x8d", "mobilenet_v3_small")
#: a third held-out set: more architectures outside the zoo, predicted by the same frozen coefficients as the
#: second (nothing of the static-feature model changed after the second set was measured)
HELDOUT3_MODELS = ("densenet201", "efficientnet_b1", "efficientnet_b3", "mnasnet1_3", "regnet_x_400mf",
                   "regnet_y_1_6gf", "regnet_x_3_2gf", "resnext101_64x4d", "shufflenet_v2_x1_5", "squeezenet1_0",
                   "swin_s", "convnext_base", "efficientnet_v2_m")
#: a fourth held-out set, of architecture families that neither the zoo nor torchvision covers: timm models
#: (``timm:NAME``, timm 1.0.31, ``pip install 'greenai[timm]'``; random weights, timm's own 1-channel stem).
#: Rule (benchmarks/timm_heldout_screen.py, CPU): walk these candidates in this order of preference and take
#: the first 16 that pass, keeping the order -- ghostnet_100, repvgg_a2, cspresnet50, dla34,
#: hrnet_w18_small_v2, dpn68, xception41, resnest26d, ese_vovnet19b_dw, rexnet_100, lcnet_100, mixer_s16_224,
#: resmlp_12_224, poolformer_s12, levit_128, mobilevit_s, efficientformer_l1, edgenext_small, fastvit_t8,
#: pvt_v2_b1, coat_lite_tiny, nf_resnet26, inception_next_tiny, tiny_vit_5m_224, gcvit_xxtiny, hgnetv2_b0,
#: repvit_m1, mobileone_s1. A candidate passes when (1) its family (the timm module defining it,
#: :func:`greenai.models.model_info`) is no zoo or torchvision family (ignoring underscores) and not taken
#: before, (2) its forward MACs per sample (thop, 1x224x224, 10 classes) lie in 0.3-10 GMAC, (3) the
#: predictor's static features build on ``meta`` (``compute_model_features``, ``step_operators`` at batch
#: 256), (4) one CPU training step at batch 2, 1x224x224 (forward, cross-entropy, backward) is finite.
#: Dropped: ghostnet_100 (0.150 GMAC < 0.3), lcnet_100 (family ``mobilenetv3`` = torchvision's
#: ``mobilenet_v3``), resmlp_12_224 (family ``mlp_mixer``, taken by mixer_s16_224); not needed after 16 (all
#: pass): pvt_v2_b1, coat_lite_tiny, nf_resnet26, inception_next_tiny, tiny_vit_5m_224, gcvit_xxtiny,
#: hgnetv2_b0, repvit_m1; mobileone_s1 would be dropped (family ``byobnet``, taken by repvgg_a2).
#:
#: ======================  ================  ==========
#: model                   family            GMAC/sample
#: ======================  ================  ==========
#: timm:repvgg_a2          byobnet           5.700
#: timm:cspresnet50        cspnet            3.414
#: timm:dla34              dla               3.001
#: timm:hrnet_w18_small_v2 hrnet             2.618
#: timm:dpn68              dpn               2.372
#: timm:xception41         xception_aligned  5.055
#: timm:resnest26d         resnest           3.658
#: timm:ese_vovnet19b_dw   vovnet            1.340
#: timm:rexnet_100         rexnet            0.420
#: timm:mixer_s16_224      mlp_mixer         3.732
#: timm:poolformer_s12     metaformer        1.810
#: timm:levit_128          levit             0.408
#: timm:mobilevit_s        mobilevit         1.561
#: timm:efficientformer_l1 efficientformer   1.315
#: timm:edgenext_small     edgenext          0.961
#: timm:fastvit_t8         fastvit           0.538
#: ======================  ================  ==========
HELDOUT4_MODELS = ("timm:repvgg_a2", "timm:cspresnet50", "timm:dla34", "timm:hrnet_w18_small_v2", "timm:dpn68",
                   "timm:xception41", "timm:resnest26d", "timm:ese_vovnet19b_dw", "timm:rexnet_100",
                   "timm:mixer_s16_224", "timm:poolformer_s12", "timm:levit_128", "timm:mobilevit_s",
                   "timm:efficientformer_l1", "timm:edgenext_small", "timm:fastvit_t8")

#: a fifth held-out set, built like the fourth (timm 1.0.31, random weights, timm's own 1-channel stem), of 16
#: more timm families. Rule (benchmarks/timm_heldout_screen.py --set 5, CPU): walk these candidates in this order
#: and take the first 16 that pass, keeping the order -- pvt_v2_b1, coat_lite_tiny, nf_resnet26,
#: inception_next_tiny, tiny_vit_5m_224, gcvit_xxtiny, hgnetv2_b0, repvit_m1, selecsls42b, skresnet18,
#: res2net50_26w_4s, cait_xxs24_224, convit_tiny, twins_svt_small, nest_tiny, visformer_tiny,
#: xcit_nano_12_p16_224, davit_tiny, focalnet_tiny_srf, efficientvit_b1, ghostnetv2_160, starnet_s2, rdnet_tiny,
#: pit_ti_224, tnt_s_patch16_224, volo_d1_224, efficientvit_m5, mambaout_femto, hiera_tiny_224, tresnet_m. The
#: checks of set 4, with its family check widened: the family is also no family of set 4 (those of
#: :data:`HELDOUT4_MODELS`), no ViT-equivalent timm family (vision_transformer, deit, beit, eva,
#: vision_transformer_hybrid: torchvision has ViT) and no name of the synthetic architectures' blocks; and the
#: whole screen runs with huggingface_hub, safetensors and yaml unimportable (the GPU machine has only the timm
#: wheel), the model first built with 1 input plane and 10 classes; the CPU training step is at 1x224x224.
#: Dropped: cait_xxs24_224 and pit_ti_224 (thop's MAC count fails: torch's module tracker in
#: :func:`greenai.macs.count_macs` raises "Expected gradient function to be set"), twins_svt_small and
#: nest_tiny (static features on ``meta`` fail: a reshape / a permute of the meta tensors); not needed after
#: 16: efficientvit_b1, ghostnetv2_160, starnet_s2, rdnet_tiny, tnt_s_patch16_224, volo_d1_224,
#: efficientvit_m5, mambaout_femto, tresnet_m (all pass), hiera_tiny_224 (would be dropped: static features
#: on ``meta`` fail, a broadcast).
#:
#: ========================  ==============  ==========
#: model                     family          GMAC/sample
#: ========================  ==============  ==========
#: timm:pvt_v2_b1            pvt_v2          2.098
#: timm:coat_lite_tiny       coat            1.590
#: timm:nf_resnet26          nfnet           2.263
#: timm:inception_next_tiny  inception_next  4.189
#: timm:tiny_vit_5m_224      tiny_vit        1.273
#: timm:gcvit_xxtiny         gcvit           2.120
#: timm:hgnetv2_b0           hgnet           0.324
#: timm:repvit_m1            repvit          0.841
#: timm:selecsls42b          selecsls        2.982
#: timm:skresnet18           sknet           1.748
#: timm:res2net50_26w_4s     res2net         4.227
#: timm:convit_tiny          convit          1.237
#: timm:visformer_tiny       visformer       1.253
#: timm:xcit_nano_12_p16_224 xcit            0.554
#: timm:davit_tiny           davit           4.506
#: timm:focalnet_tiny_srf    focalnet        4.407
#: ========================  ==============  ==========
HELDOUT5_MODELS = ("timm:pvt_v2_b1", "timm:coat_lite_tiny", "timm:nf_resnet26", "timm:inception_next_tiny",
                   "timm:tiny_vit_5m_224", "timm:gcvit_xxtiny", "timm:hgnetv2_b0", "timm:repvit_m1",
                   "timm:selecsls42b", "timm:skresnet18", "timm:res2net50_26w_4s", "timm:convit_tiny",
                   "timm:visformer_tiny", "timm:xcit_nano_12_p16_224", "timm:davit_tiny", "timm:focalnet_tiny_srf")

#: zoo models measured first in ``heldout4`` and in ``heldout5``, on the same card in the same run as that
#: set: their ratio to the zoo rows the predictor was fitted on (``macs_h200``, same conditions) measures
#: that card against the fitted one (two H200s differed by 8 % on the same runs of ``hardware_h200``); they
#: are not held-out rows
HELDOUT_ANCHORS = ("resnet18", "mobilenet_v2", "vgg11", "googlenet")


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

    def specs(self, quick: bool = False) -> list[ex.RunSpec]:
        specs = ex.expand(self.grids(quick))
        if quick:  # one small model for every smoke run, duplicates removed
            specs = list(dict.fromkeys(replace(s, model=self.quick_model) for s in specs))
        return specs


def _all_models() -> list[str]:
    from greenai.models import MODEL_NAMES

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
    return [ex.Grid("layers", ["alexnet"], [FMNIST], [4 if q else 128], repeats=1 if q else 2,
                    options=_quick({"kind": "layers", "max_steps": 469, "warmup_steps": 20}, q, max_steps=2))]


def _hardware(name):
    def grids(q):
        # Two repeats; the recorded ones ran in separate machine starts (a rerun adds the missing
        # repeat), so their spread within one GPU kind is the yardstick for the gap between kinds.
        return [ex.Grid(name, ["alexnet"] if q else ["alexnet", "resnet18"], [FMNIST], [4 if q else 128],
                        repeats=1 if q else 2,
                        options=_quick({"epochs": 3, "warmup_steps": 20, "evaluate": True}, q, evaluate=False))]
    return grids


def _hardware_check(q):
    # One epoch of each hardware-grid run, one repeat: a short real GPU run whose numbers are
    # compared with the recorded hardware rows (kpi_hardware*.csv), e.g. after a code change.
    return [ex.Grid("hardware_check", ["alexnet"] if q else ["alexnet", "resnet18"], [FMNIST], [4 if q else 128],
                    options=_quick({"epochs": 1, "warmup_steps": 20}, q))]


def _datasets(q):
    models = ["alexnet"] if q else ["alexnet", "resnet18"]
    b = 4 if q else 256
    return [ex.Grid("datasets", models, [FMNIST], [b], options=_quick({"epochs": 2, "warmup_steps": 20}, q)),
            ex.Grid("datasets", models, [CIFAR100], [b],
                    options=_quick({"epochs": 2, "warmup_steps": 20, "source": "synthetic"}, q))]


def _batch_size(q):
    sizes = [4, 8] if q else [64, 128, 256, 512, 1024, 2048]
    return [ex.Grid("batch_size", ["alexnet"], [FMNIST], sizes, repeats=1 if q else 3,
                    options=_quick({"epochs": 2, "warmup_steps": 20, "evaluate": True}, q, evaluate=False))]


def _phases(q):
    return [ex.Grid("phases", ["alexnet"] if q else ["alexnet", "resnet18"], [FMNIST], [4 if q else 256],
                    options=_quick({"kind": "phases", "epochs": 2, "window_s": 3.0, "warmup_steps": 20}, q))]


def _windows(experiment, dataset, source, models, repeats=1):
    return ex.Grid(experiment, models, [dataset], [256], repeats=repeats,
                   options={"epochs": 2, "window_s": 3.0, "warmup_steps": 10, "source": source})


def _macs_part(datasets):
    def grids(q):
        if q:
            return [ex.Grid("macs", ["alexnet"], list(datasets), [4], options=_quick({"epochs": 2, "window_s": 3.0}, q))]
        out = []
        if FMNIST in datasets:
            out.append(_windows("macs", FMNIST, "real", _all_models()))
        if CIFAR100 in datasets:
            out.append(_windows("macs", CIFAR100, "synthetic", _all_models()))
        if FMNIST in datasets:
            # repeats 1 and 2 of a subset (repeat 0 is in the grid above)
            extra = ex.expand([_windows("macs", FMNIST, "real", list(REPEATED_MODELS), repeats=3)])
            out += [s for s in extra if s.repeat > 0]
        return out
    return grids


def _precision(q):
    return [ex.Grid("precision", ["alexnet"] if q else ["alexnet", "resnet18", "vgg16"], [CIFAR100], [4 if q else 256],
                    precisions=["default", "fp32", "tf32", "bf16"],
                    options=_quick({"epochs": 2, "window_s": 3.0, "warmup_steps": 10, "source": "synthetic"}, q))]


def _cifar10(q):
    if q:
        return [ex.Grid("cifar10", ["alexnet"], [CIFAR10], [4], options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("cifar10", CIFAR10, "real", _all_models())]


def _cifar10_pair(q):
    models = ["alexnet"] if q else ["alexnet", "resnet18"]
    if q:  # one synthetic grid: no real files are needed for the smoke test
        return [ex.Grid("cifar10_pair", models, [CIFAR10], [4], options=_quick({"epochs": 2}, q))]
    return [ex.Grid("cifar10_pair", models, [CIFAR10], [256], options={"epochs": 2, "warmup_steps": 20,
                                                                       "source": source})
            for source in ("real", "synthetic")]


def _heldout_set(name: str, models: tuple[str, ...]):
    """The grid of one held-out set: its models' Fashion-MNIST windows at batch 256 (smoke run: the
    experiment's ``quick_model``, which :meth:`Experiment.specs` puts in)."""
    def grids(q):
        if q:
            return [ex.Grid(name, list(models[:1]), [FMNIST], [4], options=_quick({"epochs": 2, "window_s": 3.0}, q))]
        return [_windows(name, FMNIST, "real", list(models))]
    return grids


def _synthetic(part):
    """The synthetic architectures (:mod:`greenai.models.synthetic`): all, or the even / odd half."""
    def grids(q):
        from greenai.models.synthetic import SYNTHETIC_NAMES

        if q:
            return [ex.Grid("synthetic", ["synthetic_39"], [FMNIST], [4],
                            options=_quick({"epochs": 2, "window_s": 3.0}, q))]
        names = [n for i, n in enumerate(SYNTHETIC_NAMES) if part is None or i % 2 == part]
        return [_windows("synthetic", FMNIST, "real", names)]
    return grids


def _macs_h200(q):
    if q:
        return [ex.Grid("macs_h200", ["alexnet"], [FMNIST], [4], options=_quick({"epochs": 2, "window_s": 3.0}, q))]
    return [_windows("macs_h200", FMNIST, "real", _all_models())]


def _epochs(q):
    return [ex.Grid("epochs", ["alexnet"], [FMNIST], [4 if q else 256],
                    options=_quick({"epochs": 10, "warmup_steps": 20, "evaluate": True}, q, evaluate=False))]


#: measured epochs of each ``accuracy_*`` run (learning curves, thesis 4.2.3)
ACCURACY_EPOCHS = 30
#: precision of the ``accuracy_*`` runs: bf16 autocast, the fastest mode the trainer has (1.6x faster than
#: ``default`` for AlexNet, 1.1x for ResNet18 on an H100, ``kpi_precision``), so that 2 models x 30 epochs
#: of one dataset fit in about 6-7 minutes of one H200; recorded in every row's ``precision``
ACCURACY_PRECISION = "bf16"


def _accuracy(dataset):
    """AlexNet and ResNet18 trained on real ``dataset`` for 30 full epochs, test accuracy after each."""
    def grids(q):
        return [ex.Grid(f"accuracy_{dataset}", ["alexnet"] if q else ["alexnet", "resnet18"], [dataset],
                        [4 if q else 256], precisions=[ACCURACY_PRECISION],
                        options=_quick({"epochs": ACCURACY_EPOCHS, "warmup_steps": 20, "evaluate": True}, q,
                                       evaluate=False))]
    return grids


#: models of the ``accuracy_curves`` grid: six zoo models and two torchvision families outside the zoo
CURVE_MODELS = ("resnet18", "resnet34", "vgg11", "mobilenet_v2", "googlenet", "shufflenet_v2_x1_0",
                "regnet_y_400mf")
#: AlexNet's 11x11/4 stem and three poolings need at least 64 px; it trains at this size in ``accuracy_curves``
CURVE_ALEXNET_IMAGE_SIZE = 64
#: image size [px] of the other ``accuracy_curves`` runs: CIFAR-10's own, Fashion-MNIST's 28 px resized up
#: (224 px, as the thesis, costs ~49x the work per epoch; 16 runs x 30 epochs would not fit a campaign slot)
CURVE_IMAGE_SIZE = 32
#: CIFAR-10 training images of the ``accuracy_curves`` runs: the first two of its five training batches (the
#: test set is whole); Fashion-MNIST trains on all 60,000
CURVE_CIFAR10_LIMIT = 20_000


def _accuracy_curves(datasets):
    """Learning curves for energy to accuracy: 8 models x ``datasets``, 30 full epochs, test accuracy after each."""
    def grids(q):
        out = []
        for dataset in datasets:
            limit = {CIFAR10: CURVE_CIFAR10_LIMIT}.get(dataset)
            for models, size in ((("alexnet",), CURVE_ALEXNET_IMAGE_SIZE), (CURVE_MODELS, CURVE_IMAGE_SIZE)):
                out.append(ex.Grid("accuracy_curves", ["alexnet"] if q else list(models), [dataset],
                                   [4 if q else 256], precisions=[ACCURACY_PRECISION],
                                   options=_quick({"epochs": ACCURACY_EPOCHS, "warmup_steps": 20, "evaluate": True,
                                                   "image_size": size, "limit": limit}, q, evaluate=False)))
        return out
    return grids


def _extrapolation(q):
    return [ex.Grid("extrapolation", ["alexnet"] if q else ["vgg16", "mobilenet_v2", "googlenet", "googlenet_mod8"],
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
    Experiment("synthetic", "kpi_synthetic", "train", "4.2 prediction (training rows)",
               "48 random architectures from common blocks, FMNIST, batch 256, windows", _synthetic(None),
               quick_model="synthetic_39"),
    Experiment("synthetic_even", "kpi_synthetic", "train", "4.2 prediction (training rows)",
               "the even half of synthetic (same CSV)", _synthetic(0), quick_model="synthetic_39"),
    Experiment("synthetic_odd", "kpi_synthetic", "train", "4.2 prediction (training rows)",
               "the odd half of synthetic (same CSV)", _synthetic(1), quick_model="synthetic_39"),
    Experiment("macs_h200", "kpi_macs_h200", "train", "4.1.4 / 4.2 on the second GPU kind",
               "the 20 models on FMNIST, batch 256, windows, on an H200 (beside heldout)", _macs_h200),
    Experiment("accuracy_fashion_mnist", "accuracy_fashion_mnist", "train", "4.2.3, Figs 4.17, 4.19",
               "AlexNet, ResNet18, real Fashion-MNIST, batch 256, bf16, 30 epochs with test accuracy",
               _accuracy(FMNIST)),
    Experiment("accuracy_cifar10", "accuracy_cifar10", "train", "4.2.3, Figs 4.18, 4.20 (CIFAR-10 for CIFAR-100)",
               "AlexNet, ResNet18, real CIFAR-10, batch 256, bf16, 30 epochs with test accuracy",
               _accuracy(CIFAR10)),
    Experiment("accuracy_curves", "accuracy_curves", "train", "4.2.3 and beyond (energy to accuracy)",
               "8 models (6 zoo, 2 torchvision families outside it) x real FMNIST and CIFAR-10 (20,000 training "
               "images), 32 px (AlexNet 64 px), batch 256, bf16, 30 epochs with test accuracy",
               _accuracy_curves((FMNIST, CIFAR10))),
    Experiment("accuracy_curves_fmnist", "accuracy_curves", "train", "4.2.3 and beyond (energy to accuracy)",
               "the Fashion-MNIST half of accuracy_curves (same CSV)", _accuracy_curves((FMNIST,))),
    Experiment("accuracy_curves_cifar10", "accuracy_curves", "train", "4.2.3 and beyond (energy to accuracy)",
               "the CIFAR-10 half of accuracy_curves (same CSV)", _accuracy_curves((CIFAR10,))),
    Experiment("accuracy_cifar100", "accuracy_cifar100", "train", "4.2.3, Figs 4.18, 4.20",
               "AlexNet, ResNet18, real CIFAR-100, batch 256, bf16, 30 epochs with test accuracy",
               _accuracy(CIFAR100)),
]}

#: what ``make measure`` runs when no experiment is named (hardware_h200 and macs_h200 need the other GPU)
DEFAULT_EXPERIMENTS: tuple[str, ...] = ("layers", "hardware", "datasets", "batch_size", "phases", "macs",
                                        "precision", "epochs", "extrapolation", "cifar10_pair", "cifar10",
                                        "heldout", "synthetic", "heldout2", "heldout3", "heldout4", "heldout5",
                                        "accuracy_fashion_mnist", "accuracy_cifar10")


def run_experiment(name: str, out_dir: str | Path | None = None, quick: bool = False, env=None,
                   data_root=None, checkpoint_dir=None, progress: bool = True, log=print,
                   validate_first: bool = True, executor=None) -> ex.SweepSummary:
    """Run one named experiment into ``<out_dir>/<csv>.csv`` and write its ``.meta.json``.

    Its grid is validated once, here (``validate_first=False`` when the caller
    has already validated it, as :func:`main` does for all experiments at once).
    ``executor`` (default in-process on ``env``) may spread the cells over Dask
    workers (:class:`greenai.experiments.DaskExecutor`); this process writes the rows either way.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)}")
    from greenai import metadata

    exp = EXPERIMENTS[name]
    out_dir = Path(out_dir) if out_dir is not None else paths.RAW_DIR
    csv_path = out_dir / f"{exp.csv}.csv"
    specs = exp.specs(quick)
    kwargs = dict(env=env, data_root=data_root, progress=progress, log=log, validate_first=validate_first)
    if exp.kind == "train":
        kwargs["checkpoint_dir"] = checkpoint_dir
    if exp.kind == "layers":
        kwargs["replay_window_s"] = 0.1 if quick else 3.0
    executor = executor or ex.InProcess()
    summary = executor.run(specs, csv_path, **kwargs)
    placement = {"executor": executor.description}
    if getattr(executor, "workers", None):
        placement["workers"] = list(executor.workers.values())
        placement["cells_per_worker"] = summary.cells_per_worker
        placement.update(start_s=round(summary.start_s, 1), warmup_s=round(summary.warmup_s, 1), warmup=summary.warmup)
    if summary.failed:
        placement["failed_cells"] = [f.describe() for f in summary.failed]
    metadata.write_meta(csv_path, campaign=name, thesis=exp.thesis, description=exp.description,
                        quick=quick, rows_written=summary.written, rows_skipped=summary.skipped,
                        seconds=round(summary.seconds, 1), idle_power_w=getattr(env, "idle_power_w", None),
                        idle_kind=getattr(env, "idle_kind", None), **placement)
    return summary


def register(subparsers) -> None:
    """``greenai campaign ...``: the command line of :mod:`greenai.campaign_cli`."""
    from greenai import campaign_cli

    campaign_cli.register(subparsers)


def main(argv: list[str] | None = None) -> int:
    """``python -m greenai.campaign ...``: the same command line; returns its exit code."""
    from greenai import campaign_cli

    return campaign_cli.main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
