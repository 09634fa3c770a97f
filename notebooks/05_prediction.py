# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 — Predicting a training run's energy before it starts (thesis 4.2.1–4.2.2, Figs 4.14–4.16)
#
# The thesis proposes `E = HC × MACs` (Eq. 4.1): the energy of an epoch is a hardware
# coefficient HC (≈ 5.9e-11 J per MAC on an RTX 4090) times the forward MACs of one sample
# times the samples of an epoch. It fits HC on Fashion-MNIST and CIFAR-100 runs of its 20
# models and checks it on CIFAR-10 runs of the *same* models — never on an architecture
# the fit has not seen. Figs 4.10–4.13 (the inputs: MACs vs energy per epoch, time to
# device, forward and backward energy) are drawn from our rows in notebook 04.
#
# Here, with `greenai.predict`:
#
# 1. **The thesis' model** fitted through the origin per GPU (statsmodels OLS, 95 % CI on
#    HC), and its log-log regression — the baseline.
# 2. **A static-feature model** (ours): the epoch's energy as a sum of costs a static pass
#    over any `torch.nn.Module` counts on PyTorch's `meta` device, without a GPU — MACs of
#    convolutions, their MACs divided by the narrow side of each convolution's matrix
#    product per group (`min(C_out/groups, C_in/groups·kh·kw)`: a tensor core amortises
#    its work over that side, so depthwise and narrow grouped convolutions cost more per
#    MAC, wide ones whatever their number of groups little more than dense ones), MACs of
#    matrix products, bytes read and written by elementwise operators, by normalisations and
#    by all other operators, the bytes of grouped 1×1 convolutions once more (their price above
#    other bytes: many run in a kernel that streams memory tens of times slower), operators
#    launched per step, and a fixed cost per sample (input pipeline, loss). Fitted by weighted least squares (relative errors), every coefficient
#    with a unit and an interval; 90 % prediction intervals. Beside the zoo it learns from
#    48 **synthetic architectures** (`greenai.models.synthetic`, `kpi_synthetic`: random
#    stacks of plain, bottleneck, grouped, inverted-residual, ConvNeXt-like, densely
#    connected and attention blocks, so that each kind of work varies on its own) and from
#    the architectures of the **earlier held-out sets**.
# 3. **Validation**: the thesis' split (fit FMNIST + CIFAR-100, predict CIFAR-10),
#    leave-one-model-out over the zoo, leave-one-out over the synthetic architectures,
#    leave-one-family-out over the earlier held-out sets, and a **fresh held-out set**.
#    Each held-out set was chosen, and the coefficients committed, before it was measured;
#    once measured and reported it joined the fit and a new set was chosen:
#    - sets 1 to 3 (`kpi_heldout`, `kpi_heldout2`, `kpi_heldout3`, 37 torchvision models of
#      families outside the zoo: DenseNet, EfficientNet(V2), RegNet, ShuffleNet, MnasNet,
#      SqueezeNet, ConvNeXt, ResNeXt, MobileNetV3, ViT, Swin, MaxViT);
#    - set 4 (`kpi_heldout4`, 16 timm models, one per timm family that neither the zoo nor
#      torchvision has: RepVGG, CSPNet, DLA, HRNet, DPN, Xception, ResNeSt, VoVNet, ReXNet,
#      MLP-Mixer, PoolFormer, LeViT, MobileViT, EfficientFormer, EdgeNeXt, FastViT);
#    - set 5 (`kpi_heldout5`, 16 more timm families: PVTv2, CoaT, NFNet, InceptionNeXt,
#      TinyViT, GCViT, HGNetV2, RepViT, SelecSLS, SKNet, Res2Net, ConViT, Visformer, XCiT,
#      DaViT, FocalNet);
#    - set 6 (`kpi_heldout6`, timm families none of the above has, chosen to exercise the
#      layer kinds added to the static pass: recurrent mixers, pooled, windowed and linear
#      attention, squeeze-excite, pre-activation) and beside it the **near-family split**
#      (`kpi_nearfamily`: new torchvision variants of fitted families);
#    - set 7 (`kpi_heldout7`, 16 more timm families: RepGhost, Inception-v4,
#      Inception-ResNet-v2, HardCoReNAS, SHViT, FasterNet, CrossViT, Xception, LambdaNet,
#      EfficientViM, LowFormer, iFormer, ViTamin, CPUBone, Hiera (SAM 2), ConvMixer);
#    - set 8 (`kpi_heldout8`): after seven sets timm had few families left, so beside one
#      (Twins-PCPVT) it took 15 pytorchcv families none of the above has (`pytorchcv:NAME`,
#      `greenai.models.pytorchcv_models`): HarDNet, PeleeNet, IGCV3, FishNet, DiracNet, DARTS,
#      NASNet-A mobile, MENet, ChannelNet, SqueezeNext, ESPNetv2, MSDNet, Residual Attention,
#      SCNet, iSQRT-COV ResNet; beside it the second near-family set (`kpi_nearfamily2`: 12
#      pytorchcv variants of fitted families);
#    - set 9 (`kpi_heldout9`): 16 transformer families of a third source, vit-pytorch
#      (`vitpytorch:NAME`, `greenai.models.vitpytorch_models`: CvT, CrossFormer, ScalableViT,
#      SepViT, CCT, T2T-ViT, LookViT, JetViT, RvT, DeepViT, nViT, U-ViT, Looped ViT, ViT for
#      small datasets, patch-merger ViT, parallel ViT), and beside it the third near-family set
#      (`kpi_nearfamily3`: 12 variants of fitted families, most of them set 8's);
#    - set 10 (`kpi_heldout10_h200`, its repeat on an H200; its first measurement, `kpi_heldout10`,
#      was on an H100, whose fit is the zoo's): 16 families none of the above has, 8 of them from
#      a fourth source, mmpretrain
#      (`mmpretrain:NAME`, `greenai.models.mmpretrain_models`: VAN, HorNet, RepLKNet, RepMLPNet,
#      Conformer, HiViT, ViG, RevViT), one from timm (LCNetV2) and 7 from pytorchcv (AirNet, BAM-,
#      CBAM- and DIA-ResNet, PyramidNet, SparseNet, ShaResNet);
#    - set 11 (`kpi_heldout11`), the fresh test, never fitted: 16 families of a fifth source,
#      MONAI (`monai:NAME`, `greenai.models.monai_models`: encoder–decoder and multi-scale
#      networks of medical imaging, made classifiers by a pooled linear head). It was chosen,
#      and the coefficients frozen, before it was measured;
#    - the fourth near-family set (`kpi_nearfamily4`), also never fitted: 12 new sizes of set 10's
#      families, each of which the fit holds one model of. It was chosen, and the coefficients
#      (with the family offsets of their own section) frozen, after set 11 was read and before it
#      was measured;
#    - set 12 (`kpi_heldout12`), a second fresh test, never fitted: 16 families of a sixth source,
#      pytorchcv's dense-prediction networks (real-time segmentation encoder–decoders, a face detector,
#      a face-reconstruction net, pose and keypoint nets; `greenai.models.pytorchcv_models.DENSE`, made
#      classifiers by a pooled linear head), chosen and frozen after the fifth near-family set was read
#      and before it was measured;
#    - the sixth near-family set (`kpi_nearfamily6`), never fitted: 12 more variants of lineages the
#      fit holds several models of, by the fifth set's rule drawn again, chosen after set 12 was read
#      and before it was measured, the coefficients unchanged;
#    - set 13 (`kpi_heldout13`), a third fresh test, never fitted: 15 families, eleven of a seventh
#      source, Hugging Face transformers (dense-prediction, depth, matting, video and detection models,
#      `greenai.models.hf_models`), with three pytorchcv networks and MONAI's patch discriminator, chosen
#      after the sixth near-family set was read and before it was measured, the coefficients unchanged.
#
#    Each of sets 4 to 13 and the fourth to sixth near-family sets is measured after four zoo
#    **anchors** on the same card; their ratio to the fitted rows of the same runs measures the
#    card, since two H200s differed by 8 % on the same runs (`kpi_hardware_h200`).
#
#    Before set 6 was measured, 16 more synthetic architectures (`kpi_synthetic_kinds`) of
#    the block kinds the fit had not seen (bidirectional LSTM and GRU mixers, windowed
#    attention with a relative-position bias, pooled and linear attention, FFT, shift and
#    pooling token mixers, gating, pre-activation) joined the fit; before set 9 was chosen,
#    16 of grouped 1×1 and few-group convolutions (`kpi_synthetic_grouped`), measured after
#    set 8 showed those underpriced, joined it by a rule fixed before they were measured; before
#    set 10 was chosen a term per norm row (`norm_rows`), tried after set 9, joined the same way;
#    before set 11 was chosen a pair of terms for depthwise kernels beyond 7×7 and a term for
#    batch norms over few channels, tried after set 10, joined with 32 synthetic architectures
#    that exercise them, measured on an H200 (`kpi_synthetic_kernels_h200`,
#    `kpi_synthetic_batch_norms_h200`); before the fourth near-family set was chosen, a family
#    offset per lineage (its section below), adopted after the first three near-family sets.
#
#    The splits `heldout` … `heldout10` show what a fit on the zoo and the synthetic
#    architectures alone does on the earlier sets; the interval's section shows how a fit of
#    the rows measured before each set met it (`git log -- greenai/data_files` gives the
#    commits each set was predicted from).
#
# The coefficients are written to `greenai/data_files/predict_coefficients.json`, which
# `greenai predict` and `greenai.predict.predict_run` read (no torch needed for the zoo).

# %% tags=["parameters"]
MEASURE = False
QUICK = False

# %%
import pandas as pd

from greenai import claims, paths
from greenai import predict as pr
from greenai.predict import prospective as pp
from greenai.predict import validation as pv
from greenai.figures import ch4, save_figure, use_style
from greenai.tables import save_table

use_style()
NOTEBOOK = "05_prediction"

# %% [markdown]
# ## Measuring (GPU only)
# With `MEASURE=True` on a GPU, the synthetic architectures, the held-out sets and the
# zoo's Fashion-MNIST windows on this GPU kind are measured first (the campaign's
# `synthetic`, `synthetic_kinds`, `heldout` … `heldout6`, `nearfamily`, `heldout7`, `heldout8`,
# `synthetic_grouped`, `nearfamily2`, `heldout9`, `nearfamily3`, `synthetic_norms`, `heldout10`,
# `synthetic_kernels`, `synthetic_batch_norms`, `heldout11`, `nearfamily4`, `nearfamily5`, `heldout12`,
# `synthetic_dilated`, `nearfamily6`, `heldout13` and, on an H200,
# `macs_h200`,
# `synthetic_kernels_h200`, `synthetic_batch_norms_h200` and `heldout10_h200` experiments; resumable, rows
# appended to `results/raw/`).

# %%
if MEASURE:
    from greenai import campaign

    names = ["synthetic", "synthetic_kinds", "heldout", "heldout2", "heldout3", "heldout4", "heldout5",
             "heldout6", "nearfamily", "heldout7", "heldout8", "synthetic_grouped", "nearfamily2", "heldout9",
             "nearfamily3", "synthetic_norms", "heldout10", "synthetic_kernels", "synthetic_batch_norms",
             "macs_h200", "synthetic_kernels_h200", "synthetic_batch_norms_h200", "heldout10_h200", "heldout11",
             "nearfamily4", "nearfamily5", "heldout12", "synthetic_dilated", "nearfamily6", "heldout13"]
    on_h200 = "H200" in campaign.ex.make_environment().gpu_name
    names = [name for name in names if on_h200 or not name.endswith("_h200")]  # those repeat others on an H200
    for name in names:
        campaign.run_experiment(name, quick=QUICK)
else:
    print("measurement skipped (MEASURE=False): using the rows recorded in results/raw/")

# %% [markdown]
# ## Fitting both models on the recorded rows
# Every zoo run, synthetic run and run of an earlier held-out set (one row per model,
# dataset, batch size, precision and repeat; windows of one run averaged) enters the
# static-feature fit of its GPU; the thesis' HC is fitted on the zoo runs alone (the thesis'
# model on the thesis' models); the rows of the fresh held-out set never enter a fit. A GPU with fewer than
# eight zoo models (so far the H200: AlexNet and ResNet18 only, unless `macs_h200` was
# measured) is predicted by the H100 model times a GPU factor measured on the models both
# ran. Precisions other than `default` scale the default prediction by factors measured in
# `kpi_precision`.

# %%
coeffs = pr.build_coefficients()
shipped = pr.load_coefficients()
same = pr.portable_coefficients(coeffs) == shipped
if QUICK:
    print("refit equals the shipped coefficients:", same)
else:
    pr.write_coefficients(coeffs)
    print(f"wrote {pr.COEFFICIENTS_PATH.relative_to(paths.REPO_ROOT)} (it {'was' if same else 'was NOT'} "
          "up to date)")
features = coeffs["features"]
runs = pr.load_runs()
print({csv: int(n) for csv, n in runs.groupby("csv").size().items()})

# %% [markdown]
# ## HC per GPU and precision (the thesis' Eq. 4.1) and the static-feature coefficients
# HC is fitted through the origin on each GPU's zoo rows of each precision, MACs counted by
# thop (the thesis used ptflops; notebook 03 compares the two). The static-feature
# coefficients say what one unit of each counted quantity costs. On the H100 (zoo only) the
# only matrix products are the classifier heads of AlexNet and VGG, too few to price a
# matrix-product MAC apart: it is priced like a dense-convolution MAC (TF32 in PyTorch's
# default precision) plus the FP32 premium measured by switching matrix products to TF32
# (`kpi_precision`, default vs tf32) — which is what decides ViT, Swin and ConvNeXt. On the
# H200 the synthetic rows (attention and ConvNeXt-like blocks) price matrix products,
# depthwise and grouped convolutions on their own.

# %%
table = pr.coefficient_table(coeffs)
save_table(table, "prediction_coefficients")
hc = table[table["model"] == "thesis"][["gpu_name", "precision", "coef", "ci_low", "ci_high", "n_runs"]].rename(
    columns={"coef": "hc_j_per_mac", "ci_low": "hc_ci_low", "ci_high": "hc_ci_high"})
save_table(hc, "hc_per_gpu")
display(hc)  # noqa: F821
display(table[table["model"] != "thesis"])  # noqa: F821
ref = coeffs["reference_gpu"]
ref_fit = coeffs["fits"][ref]
for t in ref_fit["static"]["energy_j"]["terms"]:
    print(f"{ref}: {t['coef']:.3g} {t['unit']} [{t['ci_low']:.3g}, {t['ci_high']:.3g}] per {t['per']}"
          f" (terms: {' + '.join(t['components'])})")
prem = ref_fit["static"]["energy_j"]["matmul_premium"]
if prem:
    print(f"{ref}: + {prem['coef']:.3g} {prem['unit']} [{prem['ci'][0]:.3g}, {prem['ci'][1]:.3g}] per {prem['per']}"
          f" ({', '.join(prem['models'])})")
print("merged (term -> the term it joined):", ref_fit["static"]["energy_j"]["merged"],
      "; dropped:", ref_fit["static"]["energy_j"]["dropped"])

# %% [markdown]
# ## Figs 4.14–4.16 from our rows (H100, batch 256)
# 4.14: a line through the origin per dataset; 4.15: the HC model fitted on FMNIST +
# CIFAR-100 beside the CIFAR-10 rows it predicts; 4.16: free log-log regressions per dataset.
# On log-log axes a line through the origin has slope 1; the measured points do not follow
# one — small and depthwise models cost far more per MAC than VGG.

# %%
shown = pr.thesis_figure_runs(runs, features, ref)
shown_fits = pr.thesis_figure_fits(shown)
save_figure(ch4.fig_4_14_hc_fits_per_dataset(shown, shown_fits, ref), "fig_4_14_hc_fits_per_dataset")
save_figure(ch4.fig_4_15_hc_model_vs_cifar10(shown, shown_fits, ref), "fig_4_15_hc_model_vs_cifar10")
save_figure(ch4.fig_4_16_loglog_per_dataset(shown, shown_fits, ref), "fig_4_16_loglog_per_dataset")

# %% [markdown]
# ## Validation: predicted vs measured energy per epoch
# `cifar10`: the thesis' check. `leave_one_model_out` / `leave_one_synthetic_out`: each zoo
# or synthetic model predicted by a fit without it (its interval is then the
# leave-one-model-out spread of the others, as for any new architecture).
# `leave_one_family_out`: each family of the earlier held-out sets predicted by a fit
# without any of its models. `heldout` … `heldout10`: the earlier sets predicted by a fit on
# the zoo and the synthetic architectures alone. `heldout11` (the fresh set) and `nearfamily4` (the fresh
# near-family set): predicted by the shipped coefficients, committed before their rows were measured;
# `*_card_adjusted`: the same times its card's factor from the anchors; `*_via_reference_gpu`: by the H100's
# model times the GPU factor; `*_via_widest_fit`: rows measured on a card other than the H200, by the H200's model
# (the fit with the synthetic and earlier held-out rows) times the card factor.

# %%
predictions = pv.cross_validate(runs, features)
validation = pv.validation_table(predictions)
save_table(validation, "prediction_validation")
save_table(predictions, "prediction_runs")
display(validation.round(2))  # noqa: F821
# the fresh set of new families, the fourth near-family set (lineages fitted once), the fifth (fitted several times),
# the second fresh set of new families, the sixth near-family set, the third fresh set
FRESH_CSV, NEAR_CSV, NEAR5_CSV, SET12_CSV, NEAR6_CSV, SET13_CSV = pr.HELDOUT_CSVS
FRESH, NEAR, NEAR5, SET12, NEAR6, SET13 = (pr.HELDOUT_SPLITS[csv] for csv in pr.HELDOUT_CSVS)
H200 = "NVIDIA H200"


def test_split(split):
    """``(test, gpu)``: on rows measured on an H200 its own fit, on another card the H200's fit x the card factor."""
    measured = split in set(validation["split"])
    if not measured:
        print(f"no rows of {split} yet (results/raw/kpi_{split}.csv): measure them on a GPU with "
              f"`python -m greenai campaign -e {split}`")
        return split, H200
    on_h200 = bool(((validation["split"] == split) & (validation["gpu_name"] == H200)).any())
    gpu = str(validation.loc[validation["split"] == split, "gpu_name"].iloc[0])
    return (split if on_h200 else f"{split}_via_widest_fit"), (H200 if on_h200 else gpu)


FRESH_TEST, FRESH_GPU = test_split(FRESH)
NEAR_TEST, NEAR_GPU = test_split(NEAR)
NEAR5_TEST, NEAR5_GPU = test_split(NEAR5)
NEAR6_TEST, NEAR6_GPU = test_split(NEAR6)
SET12_TEST, SET12_GPU = test_split(SET12)
SET13_TEST, SET13_GPU = test_split(SET13)

# %% [markdown]
# ## The targets on the fresh set
# Per model (its runs averaged): the static-feature model's error and how far the measured
# energy lies outside the 90 % interval. Targets on set 11: MAPE <= 8 %, worst model <= 25 %,
# the interval covering >= 90 % and no model outside it by more than 10 %. Raw: as a user on
# another card of the fitted kind gets it; card-adjusted: times the card factor of the anchors
# measured beside the set. The set is measured after the freeze, with the frozen code
# (`git_commit` of its `.meta.json`).

# %%
TARGET_SPLITS = {f"{split}{route}": "fresh" for split in (FRESH, SET12, SET13)
                 for route in ("", "_card_adjusted", "_via_widest_fit")}
targets = pv.target_table(predictions, TARGET_SPLITS)
save_table(targets, "prediction_targets")
display(targets.round(2).T)  # noqa: F821

# %% [markdown]
# **Per model.** Each model of the fresh set: its error, how far it lies outside the interval,
# and the share of its bytes that normalisation layers move (`share`; `heavy`: at least 10 %,
# the cut used for grouped work).

# %%
BYTE_KINDS = ("bytes_elementwise", "bytes_norm", "bytes_other")
fresh_by_model = pv.errors_by_share(predictions, coeffs, FRESH_TEST, numerator="bytes_norm", denominator=BYTE_KINDS)
save_table(fresh_by_model, "prediction_fresh_by_model")
display(fresh_by_model.round(3))  # noqa: F821

# %% [markdown]
# **Reading set 11.** It was chosen, and the fit frozen, at `7cc15e0` (the two terms and the rows of
# the last section joined then), and measured afterwards on an H100, with `7cc15e0` for the first
# fourteen models and `75f179f` for the two that replaced Restormer and MedNeXt, whose training step
# does not fit the card at batch 256 (`results/benchmarks/step_memory.csv`; the next two in the
# screen's order took their places). Its sixteen MONAI networks, most of them encoder–decoders
# that up-sample back to the input's size, are a shape no fitted row has. Through the H200's model
# times the card factor (`heldout11_via_widest_fit`, the route `greenai predict --gpu h100` takes):
#
# * **MAPE 7.7 % (target ≤ 8 %), median 5.5 %; worst model 17.4 % (≤ 25 %); all 16 inside the
#   interval (≥ 90 %), none outside (≤ 10 %).** All four targets are met, for the first time on a
#   fresh set. The H100's own zoo-only fit gives 26.2 % (27.3 % times the anchors' card factor),
#   and the thesis' HC × MACs 72.3 %.
# * **The errors lean low**: 13 of 16 models are predicted too low; the mean signed error is −6.7 %. The
#   largest, −17 %, are MONAI's three stacks of residual units (Classifier, AutoEncoder, UNet:
#   convolutions with instance norm and PReLU); UNet++, Quicknat and the KL autoencoder follow at
#   −11 to −13 %. The other ten lie between −8 % and +6 % (Swin-UNETR).
# * **The mended count of transposed convolutions** touches eleven of the sixteen: counted by their
#   outputs, as before the mend, their steps' MACs would have been 1.4–42 % higher (AHNet's, whose
#   pyramid pooling up-samples by 8 and 16, the most).
# * `greenai predict` names operators it cannot price in two models (Quicknat's max-unpooling,
#   VQ-VAE's histogram of codes and its MSE loss, under 1 % of their bytes); both lie inside.
#
# One set is one test: sixteen models of one source, measured on one H100. The targets are met
# with room on the worst model and none on the MAPE (7.7 against 8 %).

# %% [markdown]
# ## A second fresh set: set 12
# Set 11 met the targets once; one set is one test. Set 12 (`kpi_heldout12`) is a second: 16 families of
# a sixth source, pytorchcv's dense-prediction networks as classifiers (their output maps pooled, a
# linear head), chosen by a rule fixed before its screen ran (`benchmarks/timm_heldout_screen.py --set
# 12`; the rule in `greenai.models.sets.HELDOUT12_MODELS`) and measured after the coefficients were
# frozen, with the frozen code. Same targets: MAPE <= 8 %, worst model <= 25 %, the interval covering
# >= 90 % and no model outside it by more than 10 %. Per model: the error, how far outside the
# interval, the share of its bytes in normalisation layers, and the shares of its convolution MACs
# in dilated and in non-square (3×1, 1×3) kernels (`greenai.macs.conv_mac_shares`); then each model as
# `greenai predict` predicts it on its card, with the notes it gets.

# %%
from greenai.macs import conv_mac_shares  # noqa: E402

set12_by_model = pv.errors_by_share(predictions, coeffs, SET12_TEST, numerator="bytes_norm", denominator=BYTE_KINDS)
if len(set12_by_model):
    kernel_shares = pd.DataFrame([conv_mac_shares(m) for m in set12_by_model["model"]])
    set12_by_model = set12_by_model.assign(conv_dilated_share=kernel_shares["dilated"].to_numpy(),
                                           conv_non_square_share=kernel_shares["non_square"].to_numpy())
save_table(set12_by_model, "prediction_heldout12_by_model")
display(set12_by_model.round(3))  # noqa: F821
set12_runs = runs[(runs["csv"] == SET12_CSV) & ~runs["anchor"]]
if set12_runs.empty:
    print(f"no rows of {SET12} yet")
else:
    set12_cli = pv.predict_command_table(set12_runs.groupby("model")["epoch_energy_j"].mean(), SET12_GPU)
    save_table(set12_cli.sort_values("error_pct"), "prediction_heldout12_predict_command")
    display(set12_cli.sort_values("error_pct").round(2))  # noqa: F821
    print(f"{int(set12_cli['inside'].sum())} of {len(set12_cli)} inside; farthest outside "
          f"{set12_cli['outside_pct'].max():.1f} %; MAPE {set12_cli['error_pct'].abs().mean():.1f} %")
    both = predictions[(predictions["predictor"] == "static_features")
                       & predictions["split"].isin([FRESH_TEST, SET12_TEST])]
    both = both.groupby(["split", "model"]).agg(error_pct=("error_pct", "mean"), covered=("covered", "all"))
    print(f"both fresh sets: {len(both)} models, MAPE {both['error_pct'].abs().mean():.1f} %, "
          f"{int(both['covered'].sum())} inside their interval")

# %% [markdown]
# **Reading set 12.** It was chosen, and the fit frozen, at `024d1cd`, and measured afterwards with that
# code on an H100 (each training step fits the card at batch 256: 4.3–34.6 GiB,
# `results/benchmarks/step_memory.csv`). Through the H200's model times the card factor
# (`heldout12_via_widest_fit`, the route `greenai predict --gpu h100` takes):
#
# * **MAPE 10.8 % (target ≤ 8 %), median 10.4 %; worst model 29.0 % (≤ 25 %); 14 of 16 inside the
#   interval (87.5 %, target ≥ 90 %); the farthest outside by 12.1 % (≤ 10 %).** All four targets are
#   missed, each by 2–4 points. The H100's own zoo-only fit gives 11.4 % (10.7 % times the anchors' card
#   factor), the thesis' HC × MACs 61.4 %.
# * **The errors go both ways** (7 models low, 9 high, mean signed +0.6 %). The four predicted lowest
#   are ICNet (−29 %, the worst, outside its interval by 12 %), EDANet (−17 %), ESNet and ERFNet
#   (−11 %); each has 14–32 % of its convolution MACs in dilated kernels, and ESNet, ERFNet and EDANet
#   50–98 % in 3×1 / 1×3 ones. ENet and Lightweight OpenPose have 17–18 % dilated and are predicted
#   high, so dilation is no whole explanation; this is a reading, not a test.
# * **The pose and detection nets lean high**: LFFD +19 % (no normalisation at all), Lightweight
#   OpenPose +16 % (just outside, by 0.2 %), AlphaPose, CenterNet, ENet and the mobile SimplePose
#   +10 to +12 %.
# * `greenai predict` gives the same 14 of 16 inside and MAPE; it names ENet's max-unpooling as an
#   operator it cannot prices, and ENet lies inside.
#
# **Two fresh sets.** Set 11 met all four targets (7.7 %), set 12 misses all four (10.8 %), each
# by 16 families of one source measured on one H100. Over both, 32 models, the MAPE is 9.2 % and 30
# of 32 lie inside their interval (printed above): the fresh-set targets are not shown in general.

# %% [markdown]
# ## A third fresh set: set 13
# Set 11 met the targets and set 12 missed them; set 13 (`kpi_heldout13`) is a third test of the same
# coefficients: 15 families none of the fitted rows has, eleven of them Hugging Face transformers models
# (segmentation, depth, matting, video and detection networks, their outputs pooled into a linear head), three
# pytorchcv networks (CondenseNet, OctResNet, RevNet) and MONAI's patch discriminator, chosen by a rule fixed
# before its screen ran (`benchmarks/heldout13_screen.py`; the rule in `greenai.models.sets.HELDOUT13_MODELS`)
# and measured after the coefficients were frozen, with the frozen code. Same targets. Per model: the error, how
# far outside the interval, the share of its bytes in normalisation layers and the share of its MACs in matrix
# products (attention and linear layers: most of these models are transformers); then each model as
# `greenai predict` predicts it on its card.

# %%
set13_by_model = pv.errors_by_share(predictions, coeffs, SET13_TEST, numerator="bytes_norm", denominator=BYTE_KINDS)
matmul_shares = pv.errors_by_share(predictions, coeffs, SET13_TEST, numerator="macs_matmul")
set13_by_model = set13_by_model.merge(matmul_shares[["model", "dataset", "share"]]
                                      .rename(columns={"share": "matmul_share"}), on=["model", "dataset"])
save_table(set13_by_model, "prediction_heldout13_by_model")
display(set13_by_model.round(3))  # noqa: F821
set13_runs = runs[(runs["csv"] == SET13_CSV) & ~runs["anchor"]]
if set13_runs.empty:
    print(f"no rows of {SET13} yet")
else:
    set13_cli = pv.predict_command_table(set13_runs.groupby("model")["epoch_energy_j"].mean(), SET13_GPU)
    save_table(set13_cli.sort_values("error_pct"), "prediction_heldout13_predict_command")
    display(set13_cli.sort_values("error_pct").round(2))  # noqa: F821
    print(f"{int(set13_cli['inside'].sum())} of {len(set13_cli)} inside; farthest outside "
          f"{set13_cli['outside_pct'].max():.1f} %; MAPE {set13_cli['error_pct'].abs().mean():.1f} %")
    three = predictions[(predictions["predictor"] == "static_features")
                        & predictions["split"].isin([FRESH_TEST, SET12_TEST, SET13_TEST])]
    three = three.groupby(["split", "model"]).agg(error_pct=("error_pct", "mean"), covered=("covered", "all"))
    print(f"three fresh sets: {len(three)} models, MAPE {three['error_pct'].abs().mean():.1f} %, "
          f"{int(three['covered'].sum())} inside their interval")

# %% [markdown]
# **Reading set 13.** It was chosen, and the fit frozen, at `2a9ba66`, and measured afterwards with that code on an
# H100. The fifth check ran first in the same call: Swin2SR's training step does not fit the card at batch 256, so by
# the screen's rule it is no candidate, no candidate was left to walk on to, and the set has 15 families, one short
# of the 16 asked for. Through the H200's model times the card factor (`heldout13_via_widest_fit`):
#
# * **MAPE 15.9 % (target ≤ 8 %), median 13.4 %; worst model 60.6 % (≤ 25 %); 11 of 15 inside the interval
#   (73 %, target ≥ 90 %); the farthest outside by 29.1 % (≤ 10 %).** All four targets are missed, by more than
#   on set 12. The H100's own zoo-only fit gives 18.2 % (13.4 % times the anchors' card factor), the thesis'
#   HC × MACs 67.4 %.
# * **The errors lean high**, the other way from set 11: 13 of 15 models are predicted too high, mean signed
#   +15.3 %. The four outside their interval are all high: SegFormer-B0 (+61 %, outside by 29 %), GLPN (+27 %),
#   TimeSformer (+25 %) and MaskFormer (+22 %). SegFormer and GLPN share one encoder (attention whose keys a strided
#   convolution shortens, feed-forward layers with a depthwise 3×3 between); TimeSformer has 99.6 % of its MACs in
#   matrix products. The share of matrix products alone is no explanation: DPT (76 %) is +14 % and ViTMatte (46 %)
#   −0.6 %. This is a reading, not a test.
# * **The four that are not transformers models** are high too: RevNet-38 +5 %, CondenseNet-74 +9 %,
#   OctResNet-50b +16 % and the patch discriminator +19 %, all inside their intervals.
# * **The card moves it by a few percent, not by the 22–61 % of the four outside.** The four anchors measured
#   0–3.5 % less on this card than on set 12's; the H100's own fit times their card factor errs by a mean signed
#   −2.6 % (MAPE 13.4 %, 12 of 15 inside).
# * `greenai predict` gives the same 11 of 15 inside; it names operators it cannot price in RevNet-38 and
#   RT-DETRv2, and both lie inside.
#
# **Three fresh sets.** Set 11 met all four targets (7.7 %), sets 12 and 13 miss all four (10.8 %, 15.9 %). Over the
# three, 47 models, the MAPE is 11.4 % and 41 of 47 lie inside their interval (printed above): the fresh-set targets
# are not met in general, and the set of the newest source, transformers, is missed by the most.

# %% [markdown]
# ## `--calibrate` on the fresh sets' cards
# Each fresh set was measured with the four zoo anchors beside it, on the same card and in the conditions
# `greenai predict --calibrate` measures them in. Those rows are the calibration that command would have made on that
# card (`greenai.predict.calibrate.card_calibration`: each anchor's energy over the shipped model's prediction,
# geometric mean), and the split `<set>_calibrated` predicts each of the set's models as `--calibrate` then would
# (`greenai.predict.validation.predict_calibrated`; a test holds its estimates equal to the command's). Per set: the
# anchors' factor, then the MAPE, signed mean error and coverage of the shipped route (the H200's model times the
# card factor), of the calibrated one, and of the H100's own fit times the anchors' factor.

# %%
from greenai.predict import calibrate  # noqa: E402

ROUTES = {"shipped": "_via_widest_fit", "calibrated": "_calibrated", "own_fit_card_adjusted": "_card_adjusted"}
calibration_rows = []
for csv in pr.HELDOUT_CSVS:
    on_card = runs[(runs["csv"] == csv) & runs["anchor"]]
    if on_card.empty:
        continue
    card_gpu = str(on_card["gpu_name"].iloc[0])
    measured = {m: {"epoch_energy_j": g["epoch_energy_j"].mean(), "epoch_duration_s": g["epoch_duration_s"].mean()}
                for m, g in on_card.groupby("model")}
    row = {"set": pr.HELDOUT_SPLITS[csv], "gpu_name": card_gpu,
           "anchor_factor": calibrate.card_calibration(measured, card_gpu)["energy_factor"]["factor"]}
    for route, suffix in ROUTES.items():
        v = validation[(validation["split"] == pr.HELDOUT_SPLITS[csv] + suffix)
                       & (validation["predictor"] == "static_features")]
        for column in ("mape_pct", "bias_pct", "coverage_pct"):
            row[f"{route}_{column}"] = v[column].iloc[0] if len(v) else float("nan")
    calibration_rows.append(row)
calibrated_routes = pd.DataFrame(calibration_rows)
save_table(calibrated_routes, "prediction_calibrated_routes")
display(calibrated_routes.round(2))  # noqa: F821

# %% [markdown]
# **What calibrating would have done.** On every card that measured a fresh set the anchors drew 5–14 % less than
# the shipped model predicts for them (factors 0.86–0.95): the zoo's H100 rows, from which the card factor is learned,
# drew more than these cards. Calibrated, set 13 is met at 9.2 % (signed −0.3 %, 14 of 15 inside) and the fifth
# near-family set at 7.4 %; but set 11 goes from 7.7 % to 14.3 %, set 12 from 10.8 % to 12.3 %, the fourth and sixth
# near-family sets from 3.7 % and 6.0 % to 5.7 % and 7.1 %. After calibration every set leans low (−0.3 to −14.3 %):
# the new families cost more, against the zoo's anchors on the same card, than the model says. That is the
# under-prediction the interval's two tails were built for; on the uncalibrated route the card's difference cancels
# most of it, and on set 13, whose models lean high, it adds to it. So `--calibrate` takes a card's difference out of
# the zoo's models; on an architecture outside the fit it moved the six sets' MAPE by −7 to +7 points, and a
# calibrated prediction of one leans low by about 5–10 %.

# %% [markdown]
# **Set 10, when it was fresh.** It was frozen at `28635ec` and measured afterwards with that
# code, on an H100: three requests for an H200 brought H100s. The numbers below are those of
# that fit. Since set 11 was chosen, set 10's repeat on an H200 is fitted (its H100 rows enter no
# fit: that card's fit is the zoo's), and the interval's section meets it with a fit of the rows
# measured before it (`prediction_prospective`, with today's terms). Its rows were predicted two
# ways.
# The H200's model (the fit with the synthetic and earlier held-out rows) times the card factor
# is `heldout10_via_widest_fit`. The H100's own fit, from the 20 zoo models alone, is
# `heldout10`. Until set 10 was read, that was what `greenai predict --gpu h100` gave for a model
# outside the zoo; since, such a model is predicted by the first route (the coefficients'
# `widest_fit`), which erred less on set 10 and on the synthetic norms below. The target numbers
# and claims are the H200 model's. Set 10 misses all four targets (`prediction_targets`):
#
# * **MAPE 14.9 % (target ≤ 8 %), median 10.4 %; worst model 43.6 % (≤ 25 %); 12 of 16 inside
#   the interval (75 %, target ≥ 90 %); the farthest outside by 28.5 % (≤ 10 %).** The H100's
#   own zoo-only fit does no better: 15.7 %, with 9 of 16 inside. Times its anchors' card factor
#   it gives 15.4 %. The thesis' HC × MACs misses by 69.8 %.
# * **Two models decide the worst-case targets, one each way.** RepLKNet-31 (half width) is
#   predicted 44 % too high. 28 % of its MACs are in 31×31 depthwise convolutions, which the
#   model prices like any depthwise MAC, whatever the kernel size. A kernel that large plausibly
#   reuses each input more and costs less per MAC; this is a reading, not a measurement.
#   RepMLPNet-B is predicted 43 % too low, and none of its features singles it out: 94 % of its
#   MACs are in dense convolutions, and its byte mix is like its neighbours'.
# * **The other fourteen** lie between −13 % and +26 %. Six pytorchcv models are all predicted
#   high, by 8–26 %: five ResNets with attention or sharing modules (AirNet, CBAM, ShaResNet, DIA,
#   BAM) and SparseNet. The other six mmpretrain backbones lie within −13 % and +12 %. ViG's
#   k-nearest-neighbour graph (`topk`) is named as an operator the pass cannot price, and ViG
#   (−12.8 %) lies inside its interval.
# * **The two terms added since set 8 passed their fresh test**, though neither decided the
#   targets. Without `norm_rows` the MAPE was 15.8 % (0.9 points more). Without the grouped 1×1
#   term it was 18.1 % (3.1 points more), with coverage at 69 %. The narrow-norm rule named no
#   model: none of set 10's norms is narrower than DeepViT's six values.
# * **On the H200** (`heldout10_h200`, repeated after set 10 was predicted) the frozen fit met it
#   at 13.3 %, worst model 47.6 % (RepMLPNet −48 %, RepLKNet +31 %), 10 of 16 inside, the
#   farthest outside by 45 %: both misses were the model's, not the card's. The two trials and
#   the H200 draws below were written after it, for those two models.

# %% [markdown]
# **Set 9 and the third near-family set, when they were fresh.** Both were frozen at `aa3f2cc`
# and measured afterwards. Set 9 missed three of its four targets, and the third near-family
# set missed its one. The numbers below are those of that fit. Both sets are fitted now,
# since set 10 was chosen, and the interval's section meets each with a fit of the rows
# measured before it (`prediction_prospective`, with today's terms).
#
# * **Set 9: MAPE 12.1 % (target ≤ 8 %), worst model 60.3 % (≤ 25 %), 15 of 16 inside the
#   interval (met), the one outside by 75 % (≤ 10 %).** The card factor changes none of this
#   (12.0 %). The median is 9.5 %; apart from DeepViT, CrossFormer and SepViT every model lies
#   between −11 % and +12 %.
# * **One model makes the worst-case targets fail: DeepViT, 60 % too low.** Its re-attention
#   mixes the attention maps across heads and then applies a layer norm over the head axis,
#   six values, at every entry of every attention map (256 × 197 × 197 rows per block). The
#   static pass counts those bytes as norm bytes, so its norm share is twice that of the
#   plain ViT stacks (the table), but prices them at the fitted price of a norm, learned from
#   norms over hundreds of channels. Taking its other work as priced like the plain stacks,
#   the energy it spends beyond the prediction comes to about fifty times that price per byte
#   of those norms. A norm over a tiny axis plausibly costs per row rather than per byte; the
#   static pass has no per-row term, and no synthetic row of the fit exercises such a norm.
# * **The rest lean two ways.** The plain ViT stacks (CCT, T2T-ViT, LookViT, JetViT, RvT, nViT,
#   U-ViT, Looped, parallel and patch-merger ViT, ViT for small datasets) are predicted from 2 %
#   low to 12 % high, most of them high;
#   the hierarchical designs with convolutional token stages are predicted low (CrossFormer
#   −25 %, SepViT −19 %, CvT −11 %), all inside their intervals.
# * **Third near-family set: MAPE 7.6 % (target ≤ 5 %), every model inside its interval.**
#   The three largest errors are too low: Darknet reference (−23 %, the smallest model of the
#   set at 3.9 kJ per epoch), SqueezeNext-23v5 ×2 (−15 %) and HarDNet-85 (−10 %); the other
#   nine lie within ±9 %.
# * **The grouped 1×1 term passes its fresh test.** MENet-348 (86 % of its MACs in grouped
#   convolutions) is predicted 4.3 % high with the term and would be 47 % low, outside its
#   interval, without it; the near-family MAPE is 7.6 % with and 10.9 % without (the ablation
#   table below). On set 9, which has no grouped 1×1 convolutions, the term changes the MAPE by
#   0.3 points.
#
# Both sets joined the fit when set 10 was chosen, as sets 1 to 8 did before them.

# %% [markdown]
# **Norms narrower than any fitted.** Since set 9 was measured, the static pass also counts how
# many values each layer or group norm normalises together, and `greenai predict` names a norm
# narrower than every norm of the fitted models, widening the interval's high end as it does for
# an operator it cannot price (`greenai.predict.model.unpriced_widening`). This rule was written
# after seeing DeepViT; set 10, frozen with it, was its first test and has no norm it names, nor
# has set 11, its second. The table: the models of the fresh set it names. `outside_widened_pct`: how far
# outside the widened interval.

# %%
narrow_norms = pv.narrow_norm_table(predictions, coeffs, FRESH_TEST, gpu=FRESH_GPU, fit_gpu=H200)
save_table(narrow_norms, "prediction_narrow_norms")
display(narrow_norms[narrow_norms["widen"] > 1].round(3))  # noqa: F821

# %% [markdown]
# On set 9 and the third near-family set, when they were fresh, the rule named the right model
# and did too little for it. Of their 28 models it named two: DeepViT (layer norms over 6
# values; that fit's narrowest were over 24) and
# CrossFormer (16 values, a negligible share of its bytes, inside its interval already). For
# DeepViT the narrow norms move 6.5 % of the bytes, so the high end grows by the least factor,
# 1.10, and the measured energy stays 59 % above it. The share of bytes does not say what such a
# norm costs; the measurements of the next section do.
#
# **Do the recorded rows lean the same way?** The families left out of the fit in turn
# (`leave_one_family_out`, now with the families of sets 9 and 10 and the third near-family
# set's) and the fresh set, binned by each model's narrowest layer or group norm:

# %%
by_norm_width = pv.errors_by_norm_width(pd.concat([pv.narrow_norm_table(predictions, coeffs, "leave_one_family_out"),
                                                   narrow_norms]))
save_table(by_norm_width, "prediction_errors_by_norm_width")
display(by_norm_width.round(1))  # noqa: F821

# %% [markdown]
# They do, on few models. When set 9 was fresh, of the 141 families then left out in turn the
# three whose narrowest norm is under 64 values were all predicted low (MambaOut −26 %, TNT −3 %,
# EdgeNeXt −8 %), against a mean of −2 % for the rest; on set 9 the models under 32 values
# averaged −43 %, those of 32–63 values −10 %, the ten over 64 values +7 %: a lean that agreed
# with the per-row reading of DeepViT, not a measurement of it. Now, with the families of sets 9
# and 10 among the 185 left out in turn and `norm_rows` in every fit, the four under 32 values
# average −13 % (CrossFormer −24 %), the four of 32–63 values −5 %, the 51 from 64 values −1 %,
# and the 126 with no layer or group norm −2 %. The measurement follows.

# %% [markdown]
# ## Narrow norms measured, and a term per row
# Two measurements, each row naming its card (an H100 here):
#
# * `benchmarks/norm_width.py`: `nn.LayerNorm(width)` forward and backward over the same 2^26
#   float32 values laid out `[values / width, width]`, widths 2 to 1024. `nj_per_byte_per_value`:
#   the card's energy per step [nJ] over the step's bytes divided by the width, the unit of the term
#   below.
# * the campaign's `synthetic_norms` (`synthetic_80` ... `_95`): 16 random architectures led by
#   re-attention over 2–12 heads, QK-norm over 8–32 channels and channel groups of 2–32, specified
#   and pinned (sha256) before any of them ran, in no fit.

# %%
fewest_fitted = pr.narrow_norms({}, features, coeffs["fits"][H200]["models"])[1]
norm_bench_csv = paths.REPO_ROOT / "results" / "benchmarks" / "norm_width.csv"
if norm_bench_csv.exists():
    norm_bench = pd.read_csv(norm_bench_csv)
    norm_bench["nj_per_byte_per_value"] = 1e9 * norm_bench["energy_per_step_j"] / (norm_bench["bytes"]
                                                                                  / norm_bench["width"])
    display(norm_bench[["width", "rows", "time_per_step_s", "ps_per_byte", "pj_per_byte", "ns_per_row",  # noqa: F821
                        "nj_per_byte_per_value", "gpu_name"]].round(3))
    save_figure(ch4.fig_norm_width(norm_bench, fewest_fitted), "fig_prediction_norm_width")
else:
    print(f"{norm_bench_csv.name} is missing: run `PYTHONPATH=. python benchmarks/norm_width.py` on a GPU")

# %% [markdown]
# Per byte, the unit the shipped model prices, a layer norm over 2 values takes 125 times as long
# as one over 768 (96 against 0.77 ps/B) and 75 times the card's energy (35 against 0.47 nJ/B).
# Per row the time is nearly flat: 2.2–2.7 ns from 4 to 64 values, 5.4–5.8 ns at 2, 3 and 6
# (widths that are not a multiple of 4), and it grows with the width only above about 128 values,
# where the bytes take over. Below about a hundred values a norm costs by its rows, and the fit's
# price per byte was learned on norms of 24 values and more.
#
# **A term per row.** `norm_rows`: N × the sum over a model's layer, group and RMS norms of the
# bytes each moves per sample over the values it normalises together, which is proportional to
# the rows it reduces. It was named as the candidate before the rows above were measured, tried
# beside the shipped terms while set 9 was the fresh set, and joined `CANDIDATE_TERMS` by the rule
# the candidate rows follow (with it, the family-left-out MAPE may rise by at most 0.5 points and
# the fresh set's must fall; it fell by 0.04 and 2.88 points) when set 10 was chosen. On set 9 the
# rule was post hoc: the term was designed after DeepViT. Set 10 was its fresh test (without it,
# set 10's MAPE was 0.9 points higher). The table: the shipped model with the term and the same
# cross-validation without it.

# %%
def ablation(without, heavy=None, with_=None):
    """``with_`` (the shipped model where not given) against ``without`` on the recorded splits (H200) and on the
    fresh set (its card)."""
    with_ = predictions if with_ is None else with_
    return pd.concat([pv.ablation_table(with_, without,
                                        ["leave_one_family_out", "leave_one_synthetic_out", "leave_one_model_out"],
                                        heavy=heavy),
                      pv.ablation_table(with_, without, [FRESH_TEST], gpu=FRESH_GPU, heavy=heavy)],
                     ignore_index=True)


WITHOUT_NORM_ROWS = tuple(t for t in pr.CANDIDATE_TERMS if t != "norm_rows")
predictions_without_norm_rows = pv.cross_validate(runs, features, terms=WITHOUT_NORM_ROWS)
norm_rows_ablation = ablation(predictions_without_norm_rows)
save_table(norm_rows_ablation, "prediction_norm_rows_ablation")
display(norm_rows_ablation.round(2))  # noqa: F821

# %% [markdown]
# **The synthetic rows: a test nothing was fitted to.** Each `synthetic_norms` model predicted three
# ways: by its card's shipped fit (the H100's: zoo only, no layer norm), by the H200's shipped fit
# (with `norm_rows`) times the card factor (the ratio of the zoo conditions both cards ran), and by
# the H200's fit without `norm_rows` (fitted on the same rows; none of these models is in either)
# times the same factor. `narrow_share`: the share of a model's bytes moved by norms narrower than
# the H200 fit's narrowest.

# %%
norm_routes, norm_features, _ = pv.outside_rows_by_route("kpi_synthetic_norms", coeffs, H200, WITHOUT_NORM_ROWS)
if norm_routes.empty:
    print("kpi_synthetic_norms is not recorded: `python -m greenai campaign -e synthetic_norms` on a GPU")
else:
    norm_route_summary = pv.validation_table(norm_routes)
    save_table(norm_route_summary, "prediction_synthetic_norms_routes")
    display(norm_route_summary.round(1))  # noqa: F821
    by_route = pv.norm_width_errors(norm_routes, norm_features, coeffs["datasets"], fewest_fitted)
    save_table(by_route, "prediction_synthetic_norms_by_model")
    display(by_route.pivot_table(index=["model", "narrowest_values", "narrow_share"], columns="split",  # noqa: F821
                                 values="error_pct").sort_index(level="narrow_share", ascending=False).round(1))
    print("norm_rows in the H200's shipped fit:",
          {k: t[k] for t in coeffs["fits"][H200]["static"]["energy_j"]["terms"] if t["name"] == "norm_rows"
           for k in ("coef", "ci_low", "ci_high", "p_value", "unit")})

# %% [markdown]
# **What the rows say.** Priced per byte, the sixteen are predicted low: by 47.8 % on average
# through the H200's fit without `norm_rows`, two of 16 inside the interval (52.8 % and none of 16
# through the H100's zoo-only fit), and by up to 77 %: DeepViT's miss, sixteen times over.
#
# When the term was tried (fitted then on the rows before set 9, on none of these models), it
# cut that to 17.3 %, all 16 inside their interval, the errors leaning high (mean +14.2 %); its
# price was 56 nJ per byte per value (95 % CI 12–100 nJ). In the shipped fit, which now holds sets
# 9 and 10 and DeepViT, the price is 81 nJ (54–108 nJ), and the sixteen lean high by more: MAPE
# 39.8 %, every one too high (from +9 % to +84 %, `synthetic_86`), 13 of 16 inside the interval. The
# benchmark's card spends 33–50 nJ per byte per value on a whole narrow norm from 4 to 32
# values, and 71–93 nJ at 2, 3 and 6. Both fitted prices sit within a factor of two of that.
# Fitted with DeepViT, the term overprices these synthetic norms. Their rows come from an H100,
# though, and reach the H200's fit only through the card factor.
#
# On the recorded splits the term changes little where norms are wide: leave-one-family-out
# 8.94 → 8.62 %, synthetic left out 12.16 → 12.03 %, zoo models left out (H200) 5.27 → 4.86 % (the
# ablation table above). On set 11, where norms are wide or absent, it costs 1.1 points (6.6 % without,
# 7.7 % with). When set 9 was fresh, it fell from 12.1 % to 9.2 % with the term, but
# that was post hoc. The term passed the candidate rule (−0.04 ≤ 0.5 points; −2.88 < 0), so it
# joined `CANDIDATE_TERMS` when set 10 was chosen, together with set 9 and the third near-family
# set. Set 10 was its fresh test. The synthetic rows, measured on an H100, cannot enter the
# H200's fit. Measured on an H200, they would be candidate rows under the same rule.

# %% [markdown]
# ## Set 8 and grouped 1×1 convolutions
# Set 8 (1 timm and 15 pytorchcv families), frozen at `5f357fb` and measured afterwards,
# missed every target: MAPE 16.3 %, IGCV3 62.5 % too low, 13 of 16 models inside the
# interval, IGCV3 87 % above it. The second near-family set, beside it, missed its 5 % by 1.6
# points. Both are fitted now; the next section shows each earlier set as a fit of the rows
# measured before it meets it with today's terms.
#
# The misses shared one kind of work. Below, each model of the earlier sets, its family left
# out of the fit, beside the share of its MACs in grouped convolutions that are neither dense
# nor depthwise; `heavy` marks a share of at least 10 % (IGCV3, MENet, ESPNetv2, ChannelNet
# of set 8, CPUBone of set 7 ...). The mean errors of both groups are printed below the table.

# %%
lofo_by_grouped = pv.errors_by_share(predictions, coeffs, "leave_one_family_out")
save_table(lofo_by_grouped, "prediction_family_out_by_grouped_share")
display(lofo_by_grouped.head(12).round(3))  # noqa: F821
by = lofo_by_grouped.groupby("heavy")["error_pct"]
print(f"leave_one_family_out: mean |error| {by.apply(lambda e: e.abs().mean()).round(1).to_dict()} "
      f"(models: {by.size().to_dict()}; True = at least 10 % of the MACs in grouped convolutions)")

# %% [markdown]
# **Why: a grouped 1×1 convolution's time follows its bytes, in two speeds.**
# `benchmarks/convolution_speed.py` sets every operator-timed convolution (`op_times_h200*`,
# batch 256, one H200) beside its shape, rebuilt on `meta`
# (`results/benchmarks/convolution_speed.csv`). A dense convolution does hundreds of MACs
# per byte it reads and writes, and its time follows its MACs. A grouped 1×1 convolution does
# a few; per byte, most run near the memory's speed (about 1–2 ps/B) and the rest about 15
# ps/B, a kernel that streams memory tens of times slower. Which one runs depends on the
# shape in ways these rows do not settle (IGCV3's 48→288-channel convolution of 2 groups at
# 14×14 is slow, its 288→48 one fast), but the slow ones take most of the kind's time (the
# table's last column). Per MAC the same convolutions spread over a hundredfold, so a price per
# grouped MAC cannot follow them (a scratch fit with one missed IGCV3 by about 60 %); a price
# per byte of grouped 1×1 convolutions, above the price of other bytes, can follow the
# average.

# %%
from greenai.analysis import MissingResultsError  # noqa: E402
from greenai.analysis import operators as opa  # noqa: E402

speed_csv = paths.REPO_ROOT / "results" / "benchmarks" / "convolution_speed_modes.csv"
if speed_csv.exists():
    display(pd.read_csv(speed_csv).round(3))  # noqa: F821
else:
    print(f"{speed_csv.name} is missing: run `PYTHONPATH=. python benchmarks/convolution_speed.py`")
try:
    grouped_speed = opa.time_per_mac(opa.load_operator_times())
    grouped_speed = (grouped_speed[grouped_speed["conv_grouped_time_share"].notna()]
                     .sort_values("conv_grouped_convolution_backward_ps_per_mac").reset_index(drop=True))
    save_table(grouped_speed, "prediction_grouped_conv_time_per_mac")
    display(grouped_speed.round(3))  # noqa: F821
except MissingResultsError as exc:
    print(f"no operator times recorded: {exc}")

# %% [markdown]
# **The term, with and without.** The same cross-validation with the grouped 1×1 bytes set to
# zero (the term then drops out of every fit) against the shipped form; `heavy`: the models
# above with at least 10 % of their MACs in grouped convolutions (the third near-family set's
# among them, since it is fitted). The term and the 16 synthetic rows of grouped convolutions
# were added after set 8 was predicted, so on set 8's families this is post hoc; set 9 and the
# third near-family set, measured after that freeze, were its fresh test (above), and set 10 the
# next (without the term its MAPE was 3.1 points higher).

# %%
without_term = {k: {**v, "bytes_conv_grouped_pointwise": 0.0} for k, v in features.items()}
predictions_without_term = pv.cross_validate(runs, without_term)
heavy_models = set(lofo_by_grouped.loc[lofo_by_grouped["heavy"], "model"])
term_ablation = ablation(predictions_without_term, heavy=heavy_models)
save_table(term_ablation, "prediction_grouped_pointwise_ablation")
display(term_ablation.round(2))  # noqa: F821

# %% [markdown]
# **Candidate training rows.** Rows measured after a fresh set was predicted enter the fit only
# by a rule fixed before they were measured (`greenai.predict.build.CANDIDATE_CSVS`): with them
# beside, the leave-one-family-out MAPE may rise by at most 0.5 points and the fresh set's must
# fall. The grouped synthetic rows passed it (+0.08 and −1.1 points) and joined the fit when set
# 9 was chosen. The large-kernel and few-channel batch-norm draws repeated on an H200
# (`kpi_synthetic_kernels_h200`, `kpi_synthetic_batch_norms_h200`) failed it with the terms of
# that time (+0.72 points) and passed it with the two trials below (−0.2 points; set 10's MAPE
# fell 4.3 points, post hoc), so rows and terms joined the fit together when set 11 was chosen.
# None is pending now.

# %%
if pr.CANDIDATE_CSVS:
    candidate_runs = pr.load_runs(candidates=pr.CANDIDATE_CSVS)
    candidate_predictions = pv.cross_validate(candidate_runs, features)
    candidate_rule = pv.candidate_rule_table(predictions, candidate_predictions, FRESH_TEST, fresh_gpu=FRESH_GPU)
    save_table(candidate_rule, "prediction_candidate_rows")
    display(candidate_rule.round(2).T)  # noqa: F821
else:
    print("no candidate rows pending")

# %% [markdown]
# ## Large depthwise kernels: a pair of terms
# RepLKNet-31 (set 10) was predicted 44 % too high, with 28 % of its MACs in 31×31 depthwise
# kernels, each of whose MACs the model of that time priced like a 3×3 kernel's. The static pass
# now also counts, for every depthwise convolution of more than 49 taps (larger than 7×7), the
# MACs its taps beyond the first 49 do per output (`macs_conv_depthwise_beyond_7x7`). A pair of
# terms prices those apart: `conv_narrow_7x7`, the narrow-work term without them, stands in for
# `conv_narrow`, and `conv_depthwise_beyond_7x7` prices them above a convolution's MAC. As for
# every term, a coefficient that is not positive drops it. The pair was written after set 10 was
# predicted and tried beside the shipped terms. On the rows of that time it failed the candidate
# rule: carried by ConvMixer's 9×9 kernels alone it priced a MAC beyond 7×7 dearer, not cheaper,
# and RepLKNet went from 44 % to 59 % too high. With the H200 draw of large kernels beside
# (`kpi_synthetic_kernels_h200`, the section "On the card of the fit") it passed, and the pair
# joined `CANDIDATE_TERMS` with those rows when set 11 was chosen; set 11 is its fresh test. The
# first table: the shipped fit (`with`) against the same cross-validation without the pair
# (`conv_narrow` in its place); `heavy`: the models with any MACs beyond 7×7 taps. The second:
# those models one by one, `beyond_share` the share of their MACs beyond 7×7 taps.

# %%
WITHOUT_LARGE_KERNELS = tuple("conv_narrow" if t == "conv_narrow_7x7" else t for t in pr.CANDIDATE_TERMS
                              if t != "conv_depthwise_beyond_7x7")
large_kernel_share = {key.split("|")[0]: f["macs_conv_depthwise_beyond_7x7"] / f["macs_total"]
                      for key, f in features.items() if f["macs_conv_depthwise_beyond_7x7"] > 0}
predictions_without_large_kernels = pv.cross_validate(runs, features, terms=WITHOUT_LARGE_KERNELS)
large_kernel_ablation = ablation(predictions_without_large_kernels, heavy=set(large_kernel_share))
save_table(large_kernel_ablation, "prediction_large_kernel_ablation")
display(large_kernel_ablation.round(2))  # noqa: F821
KERNEL_SPLITS = ("leave_one_family_out", "leave_one_synthetic_out", FRESH_TEST)
kernel_fits = (("shipped", predictions), ("without", predictions_without_large_kernels))
large_kernel_models = (pd.concat([p.assign(fit=label) for label, p in kernel_fits])
                       .query("predictor == 'static_features' and split in @KERNEL_SPLITS "
                              "and model in @large_kernel_share")
                       .groupby(["split", "model", "fit"])["error_pct"].mean().unstack("fit").reset_index())
large_kernel_models["beyond_share"] = large_kernel_models["model"].map(large_kernel_share)
save_table(large_kernel_models, "prediction_large_kernel_models")
display(large_kernel_models.round(3))  # noqa: F821
print("the pair in the H200's shipped fit:",
      {t["name"]: {k: t[k] for k in ("coef", "ci_low", "ci_high", "unit")}
       for t in coeffs["fits"][H200]["static"]["energy_j"]["terms"]
       if t["name"] in ("conv_narrow_7x7", "conv_depthwise_beyond_7x7")},
      "dropped:", coeffs["fits"][H200]["static"]["energy_j"]["dropped"])

# %% [markdown]
# **What the pair says, fitted.** In the shipped H200 fit a MAC beyond 7×7 taps costs 1.15 nJ (95 %
# CI 1.01–1.28) above a convolution's MAC. With the pair the family-left-out MAPE is 8.62 % against
# 8.81 % without: RepLKNet, left out with its family, +6.8 % against +11.4 %, ConvMixer −13.9 %
# against −16.6 %. The sixteen synthetic kernel architectures, each left out in turn, are met at 2.7
# % against 3.9 %. The zoo's leave-one-model-out rises from 4.79 % to 4.86 %. Set 11 has no kernel
# beyond 7×7; its 7.7 % against 9.1 % without the pair comes from the other coefficients, which move
# with it.

# %% [markdown]
# **Synthetic large kernels on an H100.** The campaign's `synthetic_kernels` (`synthetic_96` ...
# `_111`): 16 random architectures led by RepLKNet blocks (a k×k depthwise convolution beside a
# 5×5 one) and ConvNeXt-like blocks, k from 9 to 31, specified and pinned (sha256) before any of
# them ran. Measured on an H100, they were a test nothing was fitted to until their repeat on an
# H200 joined the H200's fit: now they test the route to another card for architectures that fit
# has seen. Each is predicted three ways, as the synthetic norms above: by its card's shipped fit,
# by the H200's shipped fit times the card factor, and by the H200's fit without the pair (fitted
# on the same rows) times the same factor.

# %%
kernel_routes, kernel_features, _ = pv.outside_rows_by_route("kpi_synthetic_kernels", coeffs, H200,
                                                             WITHOUT_LARGE_KERNELS)
if kernel_routes.empty:
    print("kpi_synthetic_kernels is not recorded: `python -m greenai campaign -e synthetic_kernels` on a GPU")
else:
    kernel_route_summary = pv.validation_table(kernel_routes)
    save_table(kernel_route_summary, "prediction_synthetic_kernels_routes")
    display(kernel_route_summary.round(1))  # noqa: F821
    kernel_by_model = pv.route_errors_by_model(kernel_routes)
    kernel_by_model.insert(1, "beyond_share", [
        kernel_features[pr.feature_key(m, 1, 10)]["macs_conv_depthwise_beyond_7x7"]
        / kernel_features[pr.feature_key(m, 1, 10)]["macs_total"] for m in kernel_by_model["model"]])
    save_table(kernel_by_model, "prediction_synthetic_kernels_by_model")
    display(kernel_by_model.sort_values("beyond_share").round(3))  # noqa: F821

# %% [markdown]
# **What the synthetic large kernels say.** When they were first read, before the H200 rows, the
# H200's model of that time times the card factor predicted them 27.6 % too high on average, the
# higher the larger the share of a model's MACs beyond 7×7 taps (from +8 % to +40 %), and the
# pair, fitted then on ConvMixer alone, did worse (+37.4 %). Now that their H200 repeat is in the
# fit, the same route predicts them 10.1 % too high on average (from −2 % to +16 %), all 16 inside
# their interval, and the fit without the pair 11.7 %. The H100's own zoo-only fit predicts them
# 60.5 % too low (23 % before): with `batch_norm_channels` among its candidate terms, that fit,
# fitted on the zoo's 20 models alone, prices the zoo's batch norms at 0.48 µJ a value and its narrow
# work at next to nothing. It serves only the zoo's models on the H100 (leave one model out: 6.0 %);
# every other model goes by the H200's fit.

# %% [markdown]
# ## Dilated and non-square convolutions: two trials
# Set 12's four lowest estimates (ICNet, EDANet, ESNet, ERFNet) do 14–32 % of their convolution MACs
# dilated, and three of them 50–98 % in 3×1 / 1×3 kernels; the model priced such a MAC like any
# convolution's. Since set 12 was read, the static pass counts both (`macs_conv_dilated`,
# `macs_conv_non_square`), and two trials (`greenai.predict.model.TRIALS`) price them beside `conv`:
# `conv_dilated` and `conv_non_square`, each tried alone on the rows recorded today. Few fitted
# models exercise them: the non-square kernels of Inception-v4 and Inception-ResNet-v2, SqueezeNext
# and AH-Net, the dilated ones of SKResNet, the few-group synthetic draws dilated by 2, FishNet and
# BAM. Each trial meets the candidate rule (family-left-out MAPE may rise by at most 0.5 points,
# the fresh set's must fall) with set 12 as its fresh set, post hoc: set 12 was read before the
# trials were written. The tables: the rule per trial; each split with and without the trial
# (`heavy`: the models with any such MACs); the models of both fresh sets (11 and 12) with either
# kind, one by one; and each trial's coefficient in the H200's fit of every row but the held-out sets.

# %%
conv_shape = {}
for key, f in features.items():
    conv_macs = f["macs_conv_dense"] + f["macs_conv_depthwise"] + f["macs_conv_grouped"]
    if conv_macs and (f["macs_conv_dilated"] or f["macs_conv_non_square"]):
        conv_shape.setdefault(key.split("|")[0], (f["macs_conv_dilated"] / conv_macs,
                                                  f["macs_conv_non_square"] / conv_macs))
TRIAL_SHARE = {"dilated": 0, "non_square": 1}  # the two convolution-shape trials
FRESH_SPLITS = (FRESH_TEST, SET12_TEST)
trial_predictions = {trial: pv.cross_validate(runs, features, terms=pr.trial_terms(trial=trial))
                     for trial in TRIAL_SHARE}
trial_rules, trial_ablations, trial_models = [], [], []
for trial, with_trial in trial_predictions.items():
    heavy = {m for m, shares in conv_shape.items() if shares[TRIAL_SHARE[trial]] > 0}
    trial_rules.append(pv.candidate_rule_table(predictions, with_trial, SET12_TEST, fresh_gpu=SET12_GPU)
                       .assign(trial=trial))
    trial_ablations.append(pd.concat([ablation(predictions, heavy=heavy, with_=with_trial),
                                      pv.ablation_table(with_trial, predictions, [SET12_TEST], gpu=SET12_GPU,
                                                        heavy=heavy)], ignore_index=True).assign(trial=trial))
    trial_models.append(with_trial.query("predictor == 'static_features' and split in @FRESH_SPLITS")
                        .groupby(["split", "model"])["error_pct"].mean().rename(trial))
trial_rule_table = pd.concat(trial_rules, ignore_index=True)
save_table(trial_rule_table, "prediction_conv_shape_trial_rule")
display(trial_rule_table.round(2))  # noqa: F821
trial_ablation_table = pd.concat(trial_ablations, ignore_index=True)
save_table(trial_ablation_table, "prediction_conv_shape_trial_ablation")
display(trial_ablation_table.round(2))  # noqa: F821
fresh_shapes = (predictions.query("predictor == 'static_features' and split in @FRESH_SPLITS")
                .groupby(["split", "model"])["error_pct"].mean().rename("shipped").to_frame().join(trial_models)
                .reset_index())
fresh_shapes["dilated_share"] = [conv_shape.get(m, (0.0, 0.0))[0] for m in fresh_shapes["model"]]
fresh_shapes["non_square_share"] = [conv_shape.get(m, (0.0, 0.0))[1] for m in fresh_shapes["model"]]
fresh_shapes = fresh_shapes[(fresh_shapes["dilated_share"] > 0) | (fresh_shapes["non_square_share"] > 0)]
save_table(fresh_shapes, "prediction_conv_shape_trial_fresh_models")
display(fresh_shapes.round(3))  # noqa: F821
fitted = runs[~runs["heldout"]]
premiums = pr.premiums_by_gpu(fitted, features, coeffs["reference_gpu"])
h200_rows = fitted[(fitted["precision"] == "default") & (fitted["gpu_name"] == H200)]
for trial, terms in ((t, pr.TRIALS[t]) for t in TRIAL_SHARE):  # the H200's fit as shipped, the trial beside
    trial_fit = pr.fit_gpu(h200_rows, features, premiums.get(H200) or premiums.get(coeffs["reference_gpu"]),
                           targets=("energy_j",), terms=pr.trial_terms(trial=trial), lofo_scores=False)
    energy = trial_fit["static"]["energy_j"]
    print(f"{trial}:", {t["name"]: {k: t[k] for k in ("coef", "ci_low", "ci_high", "unit")}
                        for t in energy["terms"] if t["name"] in terms}, "dropped:", energy["dropped"])

# %% [markdown]
# **What the two trials say.** Fitted on the H200's rows, a dilated MAC costs 78 pJ above a
# convolution's 15 pJ (95 % CI 15–141 pJ): about five times as much, from few models. A MAC of a
# non-square kernel costs 13 pJ more, a CI that holds zero (−21 to 47 pJ). Both pass the
# candidate rule with set 12 as its fresh set: the family-left-out MAPE rises 0.06 and 0.18
# points, and set 12's falls from 10.8 % to 9.5 % (dilated) and to 9.6 % (non-square), with 15 of
# 16 inside either way. Neither is adopted:
#
# * **Post hoc.** Set 12 was read before the trials were written; a term joins only by a rule fixed
#   before the next fresh set is chosen, and that set is its test.
# * **One price does not fit the dilated convolutions.** Priced dearer, ICNet goes from −29 % to
#   −8 %, ERFNet from −11 % to +3 %, ESNet from −11 % to +4 %; but Lightweight OpenPose goes from
#   +16 % to +32 %, and set 11's HighResNet, 80 % of its convolution MACs dilated, from +1 % to
#   +31 %: set 11's MAPE rises from 7.7 % to 9.6 %. The dilated MACs that seem to cost more sit in
#   ICNet's ResNet-50 stages and in 3×1 / 1×3 kernels dilated up to 16 (ERFNet, ESNet); those that
#   do not, in 3×3 kernels over 128–512 channels dilated by 2 (Lightweight OpenPose) and over
#   16–32 channels dilated by 2 and 4 (HighResNet). Neither width nor dilation alone parts them.
# * **The non-square term moves little and costs the Inceptions.** It meets ERFNet at −2 % and
#   ESNet at −3 %, but the Inception family left out goes up to 37 % off, and the eight fitted
#   models with such kernels are met at 12.4 % against 8.5 % without.
# * **The seventh draw, below, contradicts the dilated price** the trial fits.
#
# **Synthetic dilated and factorised convolutions on an H100.** The seventh draw (`synthetic_128` ...
# `_143`, campaign `synthetic_dilated`): 16 random architectures led by ERFNet's factorised block
# (3×1 and 1×3 convolutions, the second pair dilated by 1–8) and by basic blocks of two 3×3
# convolutions dilated by 2–16, specified and pinned (sha256) before any of them ran, then measured
# on an H100. No fit holds them, so, as the synthetic large kernels above, each is predicted by its
# card's fit, by the H200's shipped fit times the card factor, and by the H200's fit with both
# trials beside (fitted on the same rows) times the same factor. Per model: the errors of each
# route and the shares of its convolution MACs dilated and in non-square kernels.

# %%
CONV_SHAPE_TERMS = pr.CANDIDATE_TERMS + pr.TRIALS["dilated"] + pr.TRIALS["non_square"]
dilated_routes, dilated_features, _ = pv.outside_rows_by_route("kpi_synthetic_dilated", coeffs, H200, CONV_SHAPE_TERMS)
if dilated_routes.empty:
    print("kpi_synthetic_dilated is not recorded: `python -m greenai campaign -e synthetic_dilated` on a GPU")
else:
    dilated_route_summary = pv.validation_table(dilated_routes)
    save_table(dilated_route_summary, "prediction_synthetic_dilated_routes")
    display(dilated_route_summary.round(1))  # noqa: F821
    dilated_by_model = pv.route_errors_by_model(dilated_routes)
    for kind in ("dilated", "non_square"):
        dilated_by_model[f"{kind}_share"] = [
            f[f"macs_conv_{kind}"] / (f["macs_conv_dense"] + f["macs_conv_depthwise"] + f["macs_conv_grouped"])
            for f in (dilated_features[pr.feature_key(m, 1, 10)] for m in dilated_by_model["model"])]
    save_table(dilated_by_model, "prediction_synthetic_dilated_by_model")
    display(dilated_by_model.sort_values("dilated_share").round(3))  # noqa: F821

# %% [markdown]
# **What the draw says: the non-square kernels are underpriced, the dilated ones are not.** Through
# the H200's shipped fit times the card factor the draw is met at 12.8 % (median 10.3 %), 11 of 16
# inside, leaning low (−10.6 %). The five architectures with no non-square kernel, all led by dilated
# basic blocks (84–98 % of their convolution MACs dilated, by 2 to 16), lie between −9 % and +10 %:
# a dilated MAC costs about what the fit charges for any convolution's. Of the eleven with ERFNet's
# factorised block, eight are predicted 11–38 % too low (31–84 % of their convolution MACs in 3×1 /
# 1×3 kernels), whether that block is dilated or not (`synthetic_136`, led by it undilated, −12 %);
# the other three (21–41 %) lie within 3 %. The H200's fit with both trials beside prices a dilated
# MAC five times a convolution's and misses the draw by 49 % (+46 %), every model but two too high:
# the few fitted models that carry the dilated trial (SKResNet, the few-group draws, FishNet, BAM) do not tell a dilated MAC's
# price, and the non-square one, carried by the Inceptions' 1×7 / 7×1 kernels, stays near zero.
# This agrees with set 12 for ERFNet, ESNet and EDANet (11–17 % low, half or more of their
# convolution MACs in 3×1 / 1×3 kernels) and leaves ICNet's −29 % (dilated 3×3 in a ResNet-50)
# unexplained. A term for non-square kernels needs these rows on the card of the fit (the repeat,
# campaign `synthetic_dilated_h200`, not yet measured), then a fresh set; neither trial joins.

# %% [markdown]
# ## Norms over a number of values that is not a multiple of four: a trial
# Set 13's SegFormer-B0 (+61 %) has a quarter of its estimate in `norm_rows`, GLPN (+27 %), on the same encoder, an
# eighth: layer norms over 32 to 256 values at every token. The fitted price per row comes mostly from DeepViT,
# whose norm over 6 attention heads at every attention-map entry holds six times the rows of any other fitted
# model. Six is not a multiple of four, and PyTorch's layer norm runs its vectorised kernel (four float32
# values a load) only where it is: in the norm-width benchmark above a row over 2, 3 or 6 values takes 5.4–5.8 ns,
# a row over 4 to 64 values 2.2–2.7 ns (`greenai.predict.model.MISALIGNED_NORM_ROW_FACTOR`, 2.3, is the ratio of
# the two means, and a test reads it from the record). A price per row learned on DeepViT's slow rows then
# charges every other norm's rows at that rate. The trial `norm_alignment` puts `norm_rows_aligned` in `norm_rows`'
# place: the same sum, a row of a norm over a number of values that is not a multiple of 4 counted as 2.3 rows.
# It was written after set 13 was read, so set 13 is no test of it; the factor was measured before. The tables: the
# candidate rule with set 13 as the fresh set (post hoc); the splits with and without the trial (`heavy`: the models
# with a norm over fewer than 128 values); the three fresh sets' models with such norms, one by one; and the
# sixteen synthetic narrow-norm architectures (`kpi_synthetic_norms`, on an H100, in no fit) by the H200's fit with
# the trial, refitted on the same rows, times the card factor.

# %%
alignment_predictions = pv.cross_validate(runs, features, terms=pr.trial_terms(trial="norm_alignment"))
narrowest_norm = {key.split("|")[0]: min(a[0] for a in f["norm_axes"])
                  for key, f in features.items() if f.get("norm_axes")}
narrow_normed = {m for m, width in narrowest_norm.items() if width < 128}
FRESH_SETS = (FRESH_TEST, SET12_TEST, SET13_TEST)
alignment_rule = pv.candidate_rule_table(predictions, alignment_predictions, SET13_TEST, fresh_gpu=SET13_GPU)
save_table(alignment_rule, "prediction_norm_alignment_trial_rule")
display(alignment_rule.round(2))  # noqa: F821
alignment_ablation = pd.concat([ablation(predictions, heavy=narrow_normed, with_=alignment_predictions),
                                pv.ablation_table(alignment_predictions, predictions, [SET12_TEST, SET13_TEST],
                                                  gpu=SET13_GPU, heavy=narrow_normed)], ignore_index=True)
save_table(alignment_ablation, "prediction_norm_alignment_trial_ablation")
display(alignment_ablation.round(2))  # noqa: F821
alignment_models = (predictions.query("predictor == 'static_features' and split in @FRESH_SETS")
                    .groupby(["split", "model"])["error_pct"].mean().rename("shipped").to_frame()
                    .join(alignment_predictions.query("predictor == 'static_features' and split in @FRESH_SETS")
                          .groupby(["split", "model"])["error_pct"].mean().rename("norm_alignment")).reset_index())
alignment_models["narrowest_norm"] = alignment_models["model"].map(narrowest_norm)
alignment_models = alignment_models[alignment_models["model"].isin(narrow_normed)]
save_table(alignment_models, "prediction_norm_alignment_trial_fresh_models")
display(alignment_models.round(1))  # noqa: F821
alignment_fit = pr.fit_gpu(h200_rows, features, premiums.get(H200) or premiums.get(coeffs["reference_gpu"]),
                           targets=("energy_j",), terms=pr.trial_terms(trial="norm_alignment"), lofo_scores=False)
print("norm_rows_aligned:", {t["name"]: {k: t[k] for k in ("coef", "ci_low", "ci_high", "unit")}
                             for t in alignment_fit["static"]["energy_j"]["terms"] if t["name"] == "norm_rows_aligned"})
if not norm_routes.empty:  # the synthetic narrow-norm rows, read above
    alignment_routes, _, _ = pv.outside_rows_by_route("kpi_synthetic_norms", coeffs, H200,
                                                      pr.trial_terms(trial="norm_alignment"))
    alignment_route_summary = pv.validation_table(alignment_routes)
    save_table(alignment_route_summary, "prediction_synthetic_norms_alignment_routes")
    display(alignment_route_summary.round(1))  # noqa: F821

# %% [markdown]
# **What the trial says.** Fitted on the H200's rows, a row priced by `norm_rows_aligned` costs 45 nJ per byte per
# value (95 % CI 30–60), against `norm_rows`' 81 nJ (54–108) in the shipped fit. It passes the candidate rule with set
# 13 as its fresh set, post hoc: the family-left-out MAPE rises 0.04 points (8.62 → 8.66 %), set 13's falls 1.0 point
# (15.9 → 14.9 %). It is not adopted:
#
# * **It moves the models it was written for, and not to their targets.** SegFormer-B0 goes from +61 % to +45 %,
#   GLPN from +27 % to +22 %; TimeSformer (+26 %) and MaskFormer (+22 %) have no norm narrower than 128 values and
#   stay. Set 13 keeps 4 models outside its interval and gains a fifth: OctResNet-50b, now just above it, since the
#   interval narrows. Set 11 falls 0.9 points (7.7 → 6.8 %, Swin-UNETR +6 → +1 %), set 12 is unchanged (10.8 %).
# * **The sixteen synthetic narrow-norm architectures, measured on an H100 and in no fit, agree with it**: the H200's
#   fit with the trial times the card factor meets them at 25.2 % (all 16 inside their interval), the shipped fit at
#   39.8 % (13 inside). Both still predict every one of them too high.
# * **DeepViT disagrees.** Left out of a fit with the trial, DeepViT is predicted 37 % too high (it is the worst
#   family left out); left out of the shipped fit, 19 % too low. The 29 fitted models with a norm narrower than 128
#   values, each family left out in turn, are met at 10.6 % with it, 10.4 % without. What the benchmark times for one norm alone (2.3 times per row) is
#   more than what DeepViT's training step pays for its misaligned rows.
#
# So the factor stands on the H100 benchmark and on the synthetic draw, DeepViT, the one fitted model that carries it,
# pulls the other way, and set 13 saw it written. The H200 repeat of the synthetic narrow-norm draw (campaign
# `synthetic_norms_h200`, not yet measured) puts rows of norms over 2 to 32 values beside the fit; with them the trial
# meets the candidate rule again, and a fresh set chosen after that is its test.

# %% [markdown]
# ## An interval that knows when it extrapolates
# Each earlier held-out set is met by a fit of the rows measured before it, as it was when it
# was fresh: each point is one of its models, its error against the leverage of its feature
# mix in that fit (1: like the fit's rows on average). The band is the 90 % interval a new
# architecture gets: `exp(±q·sqrt(1 + leverage))`, `q` the conformal quantile of these
# scores. Families left out of the fit in turn gave smaller errors than the sets met
# afterwards (their `q` is printed beside), so the interval is calibrated on the sets. Where a
# GPU has fewer than 10 such models (the H100), each family left out in turn scores it.
#
# The errors lean to under-prediction (the models outside the band lie above it), so from 19
# scores on the band has two tails, the 5 % and the 95 % order statistics of the signed scores
# (`greenai.predict.fits.conformal_bounds`), instead of `±q`. This was chosen after set 7 was
# predicted, on each earlier set calibrated on the other sets' scores in turn
# (`prediction_interval_rules`, now over every earlier set's models), and frozen before set
# 8. Set 8 was its first fresh test, and it failed there (above); set 9 its second, where 15 of
# 16 models lay inside and the one outside (DeepViT) 75 % above; set 10 its third, where 12 of
# 16 lay inside (10 of 16 on the H200) and the farthest outside 28.5 % (45 % on the H200); set 11
# its fourth, where all 16 lay inside, and the fourth near-family set its fifth (all 12 inside). With the
# grouped 1×1 term, a fit of the rows before set 8 has next to no such convolutions to price
# it from, and meets set 8 worse than the frozen fit did (the table below): the term is
# learned from the rows measured after set 8.

# %%
LEVERAGE_FIGURES = {"NVIDIA H100 80GB HBM3": "fig_prediction_interval_vs_leverage_h100",
                    "NVIDIA H200": "fig_prediction_interval_vs_leverage_h200"}
for gpu, figure_name in LEVERAGE_FIGURES.items():
    static_energy = coeffs["fits"].get(gpu, {}).get("static", {}).get("energy_j")
    if static_energy and static_energy.get("unseen_scores") and static_energy["q_unseen"] == static_energy["q_unseen"]:
        method = static_energy.get("q_unseen_method", "")
        bounds = (static_energy.get("q_unseen_low", float("nan")), static_energy.get("q_unseen_high", float("nan")))
        save_figure(ch4.fig_prediction_interval_vs_leverage(static_energy["unseen_scores"], static_energy["q_unseen"],
                                                            gpu, method=method, bounds=bounds), figure_name)
        print(f"{gpu}: q = {static_energy['q_unseen']:.4f} over {static_energy['n_unseen']} models ({method}); "
              f"each family left out: q = {static_energy.get('q_unseen_lofo', float('nan')):.4f}")

# %%
prospective_runs, prospective = pp.prospective_table(coeffs["fits"]["NVIDIA H200"]["static"]["energy_j"])
save_table(prospective_runs, "prediction_prospective_runs")
save_table(prospective, "prediction_prospective")
display(prospective.round(2))  # noqa: F821
interval_rules = pp.interval_rules_table(coeffs["fits"]["NVIDIA H200"]["static"]["energy_j"])
save_table(interval_rules, "prediction_interval_rules")
display(interval_rules.round(2))  # noqa: F821

# %% [markdown]
# ## Family offsets: a variant errs as its fitted relatives do
# A near-family model (a new size of a family the fit has) is mispredicted much as that family's fitted models are:
# met by the rows before it, the error of each near-family model follows the mean error of its family's fitted
# models. Each fit therefore carries a
# family offset per lineage (`greenai.predict.fits.family_offsets`): the fitted models' mean log error, shrunken as
# a random effect by how much lineages differ (`tau`) against how much models within one differ (`sigma`), and
# a model of that lineage outside the fit is predicted times `exp(offset)`. A lineage is a family, or the family it
# reimplements (`pr.FAMILY_ROOTS`: pytorchcv's IBN and SE ResNets are ResNets and SE-Nets). A model of a new family
# is not moved: the fresh sets and each family left out are predicted as before. The rule has no parameter tuned on
# the sets; it was adopted after the three near-family sets had been met (post hoc), and the fourth near-family set
# (`kpi_nearfamily4`), chosen and frozen with it, is its test, and the fifth (`kpi_nearfamily5`: variants of
# lineages fitted several times) its test at the other end of the shrinkage, the sixth (`kpi_nearfamily6`) that test
# drawn again. The tables: the largest offsets of the
# H200's fit,
# each earlier set met by the rows before it with and without offsets, and the cross-validation without them.

# %%
h200_energy = coeffs["fits"]["NVIDIA H200"]["static"]["energy_j"]
without_offsets = pr.fit_coefficients(runs, features, offsets=False)
family_offsets, offset_prospective = pp.family_offset_table(
    h200_energy, without_offsets["fits"]["NVIDIA H200"]["static"]["energy_j"])
save_table(family_offsets, "prediction_family_offsets")
save_table(offset_prospective, "prediction_family_offset_prospective")
print(f"H200: tau = {h200_energy['family_tau']:.3f}, sigma = {h200_energy['family_sigma']:.3f} (natural log), "
      f"{len(family_offsets)} lineages")
display(family_offsets.head(12).round(3))  # noqa: F821
display(offset_prospective.round(2))  # noqa: F821

# %%
predictions_without_offsets = pv.cross_validate(runs, features, offsets=False)
offset_ablation = pd.concat([ablation(predictions_without_offsets),
                             pv.ablation_table(predictions, predictions_without_offsets, [NEAR_TEST], gpu=NEAR_GPU),
                             pv.ablation_table(predictions, predictions_without_offsets, [NEAR5_TEST], gpu=NEAR5_GPU),
                             pv.ablation_table(predictions, predictions_without_offsets, [NEAR6_TEST], gpu=NEAR6_GPU)],
                            ignore_index=True)
save_table(offset_ablation, "prediction_family_offset_ablation")
display(offset_ablation.round(2))  # noqa: F821

# %% [markdown]
# **The fourth near-family set**, each model with its lineage, the factor its offset multiplies it by, and its error
# with and without the offsets (its test: on its card, through the H200's model times the card factor where it was
# measured on another card). Target: MAPE <= 5 %.

# %%
near_by_model = pp.family_offset_by_model(predictions, predictions_without_offsets, NEAR_TEST, coeffs)
save_table(near_by_model, "prediction_nearfamily4_by_model")
display(near_by_model.round(3))  # noqa: F821

# %% [markdown]
# **The fifth near-family set**, the same columns: variants of lineages the H200's fit has two to ten models of,
# where an offset rests on several relatives and is shrunk least (`benchmarks/timm_heldout_screen.py
# --nearfamily5`; the rule in `greenai.models.sets.NEARFAMILY5_MODELS`). Target: MAPE <= 5 %.

# %%
near5_by_model = pp.family_offset_by_model(predictions, predictions_without_offsets, NEAR5_TEST, coeffs)
save_table(near5_by_model, "prediction_nearfamily5_by_model")
display(near5_by_model.round(3))  # noqa: F821

# %% [markdown]
# **The sixth near-family set**, the same columns: the fifth set's rule drawn again once the fifth was measured, with
# no copy of an earlier variant (`benchmarks/timm_heldout_screen.py --nearfamily6`; the rule in
# `greenai.models.sets.NEARFAMILY6_MODELS`), chosen and measured with the fit frozen as after set 12. Target:
# MAPE <= 5 %.

# %%
near6_by_model = pp.family_offset_by_model(predictions, predictions_without_offsets, NEAR6_TEST, coeffs)
save_table(near6_by_model, "prediction_nearfamily6_by_model")
display(near6_by_model.round(3))  # noqa: F821

# %% [markdown]
# **Reading the sixth near-family set.** It was chosen at `df7be96`, with the fit and its offsets as frozen after set
# 12 (no term or offset changed since the fifth set; the fits only in their last digits), and measured afterwards
# on an H100 with the same measuring code (`24fae49`). Its twelve
# models are variants of the first twelve lineages the H200's fit holds two to ten models of and that still have
# one: RegNetY-600MF, EfficientNetV2-B2, ResNet-50 with blur pooling, ResNeXt-26, SE-ResNet-38 with bottleneck
# blocks, CSPNeXt-M, ConvNeXt-nano, ProxylessNAS-Mobile-1.4, PreResNet-34, HarDNet-39ds, ResNeSt-14 and SCNet-A50.
# Through the H200's model times the card factor (`nearfamily6_via_widest_fit`):
#
# * **MAPE 6.0 % (target ≤ 5 %: missed by 1.0 point), median 5.9 %, worst model 20.2 % (HarDNet-39ds, too high,
#   4 % below its interval's low end); 11 of 12 inside the interval.** Without the offsets the same route gives
#   8.3 % (worst ConvNeXt-nano, −19.7 %).
# * **They moved 8 of 12 the right way**: ConvNeXt-nano from −19.7 % to −7.3 %, RegNetY-600MF from −12.4 % to
#   +5.9 %, ResNet-50-blur, SCNet-A50 and PreResNet-34 from +10–13 % to +3–6 %. HarDNet-39ds moved the wrong way
#   (+10.0 → +20.2 %), as HarDNet-68ds did in the fifth set (+18.0 → +29.0 %): both are the depthwise-separable
#   variants of a lineage whose two fitted models (HarDNet-68 and -85) use dense convolutions and are predicted 10 %
#   low. Without it the other eleven average 4.7 %; a reading, not a test.
# * **The errors lean high again** (10 of 12 above, mean +4.0 %), as in the fifth set on another H100.
#
# Over the three near-family sets measured after their freeze, new sizes of a model fitted once are met (set 4,
# 3.7 %), variants of lineages fitted several times are missed, by 7.3 points (set 5) and by 1.0 point (set 6). A
# lineage's offset carries a variant that keeps its relatives' block; a variant that swaps dense for depthwise
# convolutions (HarDNet-ds, twice) is moved the wrong way. Keeping the offset from such a variant is a candidate
# for the next near-family set, not a change made on this one.

# %% [markdown]
# **Reading the fifth near-family set.** It was chosen at `a2add74`, with the fit and its offsets as shipped then
# and unchanged since, and measured afterwards on an H100 with that code. Its twelve models are variants of
# lineages the H200's fit holds two to ten models of: RegNetX-4.0GF (ten RegNets fitted), EfficientNet-Lite4 (eight
# EfficientNet-module models), a ResNet-38 with bottleneck blocks, DenseNet-121 with blur pooling, ResNeXt-38,
# SE-PreResNet-34, DarkNet-17, ConvNeXt-nano, ProxylessNAS-CPU, ResNetV2-50d, HarDNet-68ds and ResNeSt-50d with
# radix 1. Here an offset rests on several relatives and is shrunk least (`B_f` 0.82 for two fitted models, 0.96
# for ten). Through the H200's model times the card factor (`nearfamily5_via_widest_fit`):
#
# * **MAPE 12.3 % (target ≤ 5 %: missed by 7.3 points), median 12.5 %, worst model 29.0 % (HarDNet-68ds, too
#   high, 10 % below its interval's low end); 11 of 12 inside the interval.** Without the offsets the same route
#   gives 16.1 % (worst RegNetX-4.0GF, −29.8 %): the offsets help, but not enough.
# * **They moved 8 of 12 the right way**, most where a lineage's fitted models are far off together: RegNetX-4.0GF,
#   raised by 21 %, from −29.8 % to −15.1 %; ConvNeXt-nano, raised by 15 %, from −16.0 % to −3.0 %; DenseNet-Blur,
#   ResNet-38 and ResNetV2-50d, lowered by 6–9 %, from +18–22 % to +11–12.5 %. HarDNet-68ds moved the wrong way
#   (+18.0 → +29.0 %): its two fitted relatives are predicted 10 % low, it was already 18 % high. EfficientNet-Lite4,
#   ResNeXt-38 and DarkNet-17 moved 1–3 points the wrong way.
# * **The errors lean high** (9 of 12 above, mean +7.1 %; six models between +10.7 % and +12.8 % with offsets): the
#   anchors measured beside the set put this H100 5–8 % below the fourth set's card on the same zoo models, and
#   the card factor takes that out, so the lean is the models'. Unlike the fourth set's size variants, several of
#   these change a block (depthwise-separable HarDNet, Lite EfficientNet without squeeze-excite, blur pooling,
#   radix-1 ResNeSt, bottleneck ResNet-38); a reading, not a test: a lineage's mean error says less about a variant
#   that works differently from its relatives, however many there are. The near-family target is met where the
#   variants are new sizes of a fitted model (set 4), not for variants of a lineage in general (set 5).

# %% [markdown]
# **Reading the fourth near-family set.** It was chosen, and the fit with the family offsets frozen, at `b28056f`, and
# measured afterwards on an H100 with that code. Its twelve models are new sizes of set 10's families (VAN, HorNet,
# RepMLPNet, HiViT, ViG and RevViT from mmpretrain; AirNet, BAM-, CBAM- and DIA-ResNet, SparseNet and ShaResNet from
# pytorchcv), each of which the fit holds one model of: the hardest case for an offset, one relative's error shrunk
# by `B_f` ≈ 0.69. Through the H200's model times the card factor (`nearfamily4_via_widest_fit`):
#
# * **MAPE 3.7 % (target ≤ 5 %: met), median 2.9 %, worst model 8.9 % (RevViT-Ti, too high), all 12 inside the
#   interval.** Without the offsets the same route gives 8.0 % (worst SparseNet-169, +16 %): the target is met
#   because of them. The three earlier near-family sets, each met by the rows before it, give 8.3, 5.9 and
#   6.5 % without the offsets and 6.3, 3.8 and 3.9 % with them (replayed: the rule was adopted after them).
# * **The offsets moved the right way on 10 of 12.** Set 10's six pytorchcv models were predicted 8–23 % too high
#   on the H200; their new sizes, moved down by 5–13 %, land between −2.8 % and +5.8 %. ViG-S, moved up by 9 %,
#   is still 8.7 % low (without: 16 %). RepMLPNet-T and RevViT-Ti moved the wrong way (+3 and +4 %), to +2.9 %
#   and +8.9 %: RevViT's recomputed forward pass is still priced as if it were not there.
# * **Elsewhere**: leave one zoo model out on the H200 falls from 6.8 to 4.9 % (each zoo model's family has other
#   fitted sizes), families left out from 8.9 to 8.6 % (a family left out keeps the offset of the family it
#   copies), the fresh set 11 is unchanged (7.7 %; no MONAI family is fitted). The interval narrowed
#   (`q` 0.141 → 0.128: the near-family sets' prospective errors shrank), and the synthetic architectures, which no
#   offset moves, are covered 78 % instead of 82 %.

# %%
save_figure(ch4.fig_prediction_predicted_vs_measured(predictions), "fig_prediction_predicted_vs_measured")
save_figure(ch4.fig_prediction_residuals_per_model(predictions), "fig_prediction_residuals_per_model")

# %% [markdown]
# ## Where the static-feature model errs
# The largest residuals of each split (energy per epoch).

# %%
static = predictions[predictions["predictor"] == "static_features"]
worst = (static.assign(ape=static["error_pct"].abs()).sort_values("ape", ascending=False)
         .groupby("split").head(5)[["split", "model", "dataset", "gpu_name", "measured_j", "predicted_j",
                                    "low_j", "high_j", "error_pct"]])
display(worst.round(1))  # noqa: F821

# %% [markdown]
# ## Where the GPU's time goes, operator by operator
# `python -m greenai.operator_times` timed every operator of one training step (forward and
# backward, batch 256) with CUDA events on an H200, for the zoo, the synthetic
# architectures and held-out sets 1 to 4 (`op_times_h200*.csv.gz`). The static-feature
# model prices totals; the shares below show what each model of the earlier held-out sets
# spends its time on, and the correlation table which shares go with its
# leave-one-family-out error. It reads the residuals; nothing here enters a fit.

# %%
try:
    shares = opa.operator_time_shares(opa.load_operator_times())
except MissingResultsError as exc:
    shares = None
    print(f"no operator times recorded: {exc}")
if shares is not None:
    held_static = static[static["split"] == "leave_one_family_out"]
    held_errors = held_static.groupby("model")["error_pct"].mean()
    save_figure(ch4.fig_operator_time_shares(shares, held_errors), "fig_prediction_operator_time_shares")
    correlation = opa.share_residual_correlation(shares, held_errors)
    save_table(correlation, "prediction_operator_share_correlation")
    display(correlation.round(3))  # noqa: F821

# %% [markdown]
# **Set 10 on the H100, operator by operator.** The same timing on an H100, of set 10's sixteen
# models and its four anchors (`op_times_h100_set10.csv.gz`; the cells above read the H200's
# times only: a card's times are its own). Each model's share of its step's GPU time per operator
# class, beside its error with its family left out of today's fit (`leave_one_family_out`, set 10
# being fitted now; when it was fresh the frozen fit's errors were those of the reading below),
# largest error first; the anchors (zoo models, no error) last.

# %%
try:
    set10_shares = opa.operator_time_shares(opa.load_operator_times(gpu="NVIDIA H100 80GB HBM3"))
except MissingResultsError as exc:
    set10_shares = None
    print(f"no operator times of an H100 recorded: {exc}")
if set10_shares is not None:
    family_out_errors = (predictions.query("split == 'leave_one_family_out' and predictor == 'static_features'")
                         .groupby("model")["error_pct"].mean().rename("error_pct"))
    set10_table = set10_shares.join(family_out_errors)
    set10_table = set10_table.loc[set10_table["error_pct"].abs().sort_values(ascending=False, na_position="last").index]
    save_table(set10_table.reset_index(), "prediction_heldout10_operator_shares")
    display(set10_table.round(3))  # noqa: F821

# %% [markdown]
# **What the H100's times said.** RepMLPNet-B, predicted 43 % too low by the frozen fit, spends 71 % of its step in
# batch norm (20 % forward, 51 % backward), more than any other model here but its smaller size RepMLPNet-T of the
# fourth near-family set (77 %; ResNet-18: 34 %).
# The model prices a norm by the bytes it moves, which cannot tell a batch norm over few channels
# from one over many. RepMLPNet's training form reshapes its maps and normalises one channel over
# 24,576 maps of 56×56 values, and four over 12,288 of 28×28: each channel's statistics reduce
# 77 or 9.6 million values. The static pass did not count a batch norm's channels then; the
# next section's term does. RepLKNet-31T, predicted 44 % too high, spends 72 % in the backward of
# its depthwise convolutions, the large kernels of the section above.

# %% [markdown]
# ## Batch norms over few channels: a term and a note
# A batch norm reduces each channel's values (batch × pixels) to its mean and variance. Over
# few channels that reduction, not the bytes, sets its time: on the H200 every batch norm of at
# most 32 channels takes about 0.53 ns forward and 1.4 ns backward per value a channel holds,
# whatever the channels (the zoo's recorded operator times; `tests/test_predict_features.py`
# checks the constant `BATCH_NORM_CHANNEL_S` against them), while a norm over hundreds of
# channels moves its bytes at about 0.6 ps/B. The static pass counts, per batch norm, its
# channels and the values each holds, and `batch_norm_channel_values` sums the values per
# channel × `max(0, 1 − C/128)`: the work beyond the byte price, zero from 128 channels on. The
# term `batch_norm_channels` prices it. It was written after set 10 was predicted and tried
# beside the shipped terms: on the rows of that time it cost 0.15 µJ per value (95 % CI
# 0.08–0.23), took RepMLPNet from −43 % to +3 % and set 10 from 14.9 % to 11.8 %, and passed the
# candidate rule, post hoc. With the H200 draw of such norms beside it joined `CANDIDATE_TERMS`
# when set 11 was chosen; set 11 is its fresh test. The first table: the shipped fit (`with`)
# against the same cross-validation without the term; `heavy`: the models with a batch norm over
# at most four channels. The second: those models one by one (`fewest`: the fewest channels of
# any of its batch norms).

# %%
fewest_bn_channels = {key.split("|")[0]: min(a[0] for a in f["batch_norm_channels"])
                      for key, f in features.items() if f["batch_norm_channels"]}
WITHOUT_BATCH_NORM_CHANNELS = tuple(t for t in pr.CANDIDATE_TERMS if t != "batch_norm_channels")
predictions_without_bn = pv.cross_validate(runs, features, terms=WITHOUT_BATCH_NORM_CHANNELS)
few_bn_models = {m for m, c in fewest_bn_channels.items() if c <= 4}
bn_ablation = ablation(predictions_without_bn, heavy=few_bn_models)
save_table(bn_ablation, "prediction_batch_norm_ablation")
display(bn_ablation.round(2))  # noqa: F821
bn_fits = (("shipped", predictions), ("without", predictions_without_bn))
bn_models = (pd.concat([p.assign(fit=label) for label, p in bn_fits])
             .query("predictor == 'static_features' and split in @KERNEL_SPLITS and model in @few_bn_models")
             .groupby(["split", "model", "fit"])["error_pct"].mean().unstack("fit").reset_index())
bn_models["fewest"] = bn_models["model"].map(fewest_bn_channels)
bn_models = bn_models.sort_values(["split", "fewest"], na_position="last")
save_table(bn_models, "prediction_batch_norm_models")
display(bn_models.round(3))  # noqa: F821
print("the term in the H200's shipped fit:",
      {t["name"]: {k: t[k] for k in ("coef", "ci_low", "ci_high", "unit")}
       for t in coeffs["fits"][H200]["static"]["energy_j"]["terms"] if t["name"] == "batch_norm_channels"},
      "dropped:", coeffs["fits"][H200]["static"]["energy_j"]["dropped"])

# %% [markdown]
# **What the term says, fitted.** In the shipped H200 fit a value a channel holds costs 0.157 µJ (95 %
# CI 0.138–0.176). It passes its fresh test: set 11 is 7.7 % with it and 10.1 % without, and
# AttentionUNet, whose attention gates normalise a single channel, goes from −25.6 % without to
# +0.3 % with; the worst model without it is that one, at 25.6 %, past the target. With each family
# left out, RepMLPNet is −4.6 % with the term and −46 % without; the family-left-out MAPE is 8.62 %
# against 9.27 %. The synthetic architectures with a batch norm over at most four channels, each left
# out in turn, lie between −35 % and +36 % with it, against −36 % to −77 % without. The zoo's
# leave-one-model-out on the H200 rises from 3.82 % to 4.86 %: the term moves the zoo fit.

# %% [markdown]
# **What `greenai predict` tells a user about the fresh set.** The validation above scores the
# coefficients' intervals alone. `greenai predict` also names what the fit has not measured and
# widens the interval for it: operators it cannot price, norms narrower than any fitted, depthwise
# kernels larger than any fitted (the low end), and batch norms over fewer channels than any
# fitted model's, whose least time (their values per channel × `BATCH_NORM_CHANNEL_S`) widens the
# high end by its share of the predicted time. Each model of the fresh set as `greenai predict
# --model M --gpu <its card> --epochs 1 --batch-size 256` predicts it, against its measured energy
# per epoch: `outside_pct` how far outside the interval, `notes` which rules widened it.

# %%
fresh_runs = runs[(runs["csv"] == FRESH_CSV) & ~runs["anchor"]]
if fresh_runs.empty:
    print(f"no rows of {FRESH} yet")
else:
    fresh_cli = pv.predict_command_table(fresh_runs.groupby("model")["epoch_energy_j"].mean(), FRESH_GPU)
    save_table(fresh_cli.sort_values("error_pct"), "prediction_fresh_predict_command")
    display(fresh_cli.sort_values("error_pct").round(2))  # noqa: F821
    print(f"{int(fresh_cli['inside'].sum())} of {len(fresh_cli)} inside; farthest outside "
          f"{fresh_cli['outside_pct'].max():.1f} %; MAPE {fresh_cli['error_pct'].abs().mean():.1f} %")

# %% [markdown]
# **What a user of the fresh set is told.** As `greenai predict` gives them, all 16 of set 11's
# intervals hold the measured energy, with the same MAPE, 7.7 %. Two models get a note: operators
# the static pass cannot price, in Quicknat (max-unpooling) and VQ-VAE (its histogram of codes and
# an MSE loss), under 1 % of their bytes each, so their high ends grow by the least factor, 1.10.
#
# When set 10 was fresh, `greenai predict` with the notes of that time held 14 of its 16
# measured energies (87.5 %); of the two outside SparseNet was the farthest, by 8.1 %, and
# BAM-ResNet-50 was out by 0.8 %. RepMLPNet's batch norms took at least 289 % of its predicted
# time, against at most 98 % in any model then fitted, so its high end was multiplied by 3.89.
# Those rules were written after set 10 was predicted, so that reading was post hoc.

# %% [markdown]
# **Synthetic batch norms over few channels on an H100.** The campaign's `synthetic_batch_norms`
# (`synthetic_112` ... `_127`): 16 random architectures led by batch norms over 1 to 32 channels
# of a reshaped map (a norm over groups of channels before a 1×1 convolution, and RepMLPNet's
# partition perceptron), specified and pinned (sha256) before any of them ran. Measured on an
# H100, like the large kernels they test the route to another card for architectures whose H200
# repeat the H200's fit now holds. Each is predicted three ways, as the synthetic norms and
# kernels above (the third route: the H200's fit without the term, fitted on the same rows, times
# the card factor), and as `greenai predict` predicts it on its card. `floor_share`: the least
# time of its batch norms over few channels over its predicted time (the H200's fit; the fitted
# models reach at most the share printed).

# %%
bn_routes, bn_features, _ = pv.outside_rows_by_route("kpi_synthetic_batch_norms", coeffs, H200,
                                                     WITHOUT_BATCH_NORM_CHANNELS)
if bn_routes.empty:
    print("kpi_synthetic_batch_norms is not recorded: `python -m greenai campaign -e synthetic_batch_norms` on a GPU")
else:
    bn_route_summary = pv.validation_table(bn_routes)
    save_table(bn_route_summary, "prediction_synthetic_batch_norms_routes")
    display(bn_route_summary.round(1))  # noqa: F821
    h200_duration_fit = coeffs["fits"][H200]["static"]["duration_s"]
    bn_by_model = pv.route_errors_by_model(bn_routes)
    bn_by_model.insert(1, "floor_share", [pr.batch_norm_floor_share(h200_duration_fit,
                                                                    bn_features[pr.feature_key(m, 1, 10)])
                                          for m in bn_by_model["model"]])
    save_table(bn_by_model, "prediction_synthetic_batch_norms_by_model")
    display(bn_by_model.sort_values("floor_share").round(3))  # noqa: F821
    print("the most a fitted model's floor takes of its predicted time (H200):",
          round(pr.fitted_batch_norm_floor_share(coeffs["fits"][H200], features), 3))
    bn_rows = pr.load_runs(candidates=("kpi_synthetic_batch_norms",)).query("csv == 'kpi_synthetic_batch_norms'")
    bn_cli = pv.predict_command_table(bn_rows.groupby("model")["epoch_energy_j"].mean(),
                                      str(bn_rows["gpu_name"].iloc[0]))
    save_table(bn_cli, "prediction_synthetic_batch_norms_predict_command")
    print(f"greenai predict: {int(bn_cli['inside'].sum())} of {len(bn_cli)} inside; farthest outside "
          f"{bn_cli['outside_pct'].max():.1f} %; MAPE {bn_cli['error_pct'].abs().mean():.1f} %")

# %% [markdown]
# **What the synthetic batch norms say.** When they were first read, before their H200 rows, the
# H200's model of that time times the card factor predicted them 54.4 % too low, with 3 of 16
# inside, and the term, fitted then on rows that held none of them, 21.6 % too low, with 15 of 16
# inside. Now that their H200 repeat is in the fit, the same route predicts them 21.2 % off on
# average, still leaning low (mean −17 %), with 7 of 16 inside; without the term 51.4 % low, 3 of 16
# inside. The fit prices the values per channel on the H200 rows; that the H100's cost more than the
# card factor of the zoo's runs carries over is a reading, not a measurement.

# %% [markdown]
# ## On the card of the fit: set 10 and the two draws on an H200
# After many requests brought H100s, one brought an H200, and three experiments were repeated on it
# after set 10 had been predicted (code `22d9d87`): set 10 with its anchors (`heldout10_h200`), and
# the large-kernel and batch-norm draws (`synthetic_kernels_h200`, `synthetic_batch_norms_h200`),
# then candidate rows. The shipped fit of that time, frozen before set 10 was chosen, met set 10
# on its own card at **13.3 % MAPE, worst model 47.6 % (RepMLPNet −48 %, RepLKNet +31 %), 10 of 16
# inside, the farthest outside by 45 %**: all four targets missed, without a card factor in the
# way. Every other fit of that reading was written after set 10 was predicted, so post hoc:
#
# * the batch-norm term alone gave 10.3 % (RepMLPNet −5 %);
# * the candidate rows with the terms of that time gave 12.8 %, and failed the candidate rule:
#   the family-left-out MAPE rose 0.72 points (9.0 % to 9.7 %);
# * the candidate rows with both trials gave **9.1 %, worst model 23.3 % (SparseNet), 12 of 16
#   inside** on the H200; with the kernel rows beside, a MAC beyond 7×7 taps cost 1.2 nJ (95 % CI
#   1.0–1.3) on top of a convolution's and RepLKNet went to +7 %; the batch-norm value kept its
#   price, 0.16 µJ (0.14–0.18). They passed the rule: the family-left-out MAPE fell from 9.0 % to
#   8.8 %, and set 10 on the H100 (`heldout10_via_widest_fit`) from 14.9 % to 10.6 %, its worst
#   model to 20.7 %, coverage to 87.5 %.
#
# So the rows and both trials joined the fit when set 11 was chosen (the tables of that reading
# are in the history of `results/tables/prediction_heldout10_h200_*.csv` and
# `prediction_candidate_rows*.csv`). Set 10's H200 rows are fitted now (split `heldout10`);
# `prediction_prospective` meets them with a fit of the rows measured before them.

# %% [markdown]
# ## Using it
# `greenai predict --model densenet121 --dataset cifar10 --epochs 30 --batch-size 256` prints
# the same numbers as below (energy, time, cost and CO₂ with intervals).

# %%
for model in ("resnet18", "densenet121"):
    p = pr.predict_run(model, "cifar10", epochs=30, batch_size=256)
    print(f"{model}: {p.energy_j / 1e3:.0f} kJ [{p.energy_low_j / 1e3:.0f}, {p.energy_high_j / 1e3:.0f}] "
          f"({p.energy_kwh:.3f} kWh), {p.duration_s / 60:.1f} min on {p.gpu}; thesis model "
          f"{p.thesis_energy_j / 1e3:.0f} kJ")

# %%
def _v(split, predictor, col="mape_pct"):
    """One number of the validation table (the reference GPU's where several GPUs have the split)."""
    return pv.validation_value(validation, split, predictor, col, gpu=ref)


def _heldout_claim(claim_id, split, which, context):
    """The static-feature model's MAPE on one split of architectures outside the zoo, with the HC model's and
    the interval's coverage."""
    found = split in set(validation["split"])
    hc_split = split.removesuffix("_via_widest_fit")  # the HC model has no such route: its own GPU's fit
    return dict(claim_id=claim_id, section="4.2 (beyond)",
                description=f"static-feature model on {which} (MAPE)",
                thesis_value=float("nan"), our_value=_v(split, "static_features"), unit="%",
                note=(f"{context}; HC model: {_v(hc_split, 'thesis_hc'):.1f} %; 90 % PI covers "
                      f"{_v(split, 'static_features', 'covered'):.0f} of {_v(split, 'static_features', 'n_runs'):.0f} "
                      "runs") if found else f"no {split} rows recorded yet")


def _target_claim(claim_id, split, column, description):
    """One number of the target table (raw split; the card-adjusted one in the note), or why it is missing."""
    row = targets[targets["split"] == split] if len(targets) else targets
    adj = targets[targets["split"] == f"{split}_card_adjusted"] if len(targets) else targets
    if not len(row):
        return dict(claim_id=claim_id, section="4.2 (beyond)", description=description, thesis_value=float("nan"),
                    our_value=float("nan"), unit="%", note=f"no {split} rows recorded yet")
    r = row.iloc[0]
    met = r.get(f"{column}_met")
    verdict = "no target" if met is None or (isinstance(met, float) and met != met) else "met" if met else "missed"
    note = f"{verdict}; {int(r['n_models'])} models"
    if column.endswith("ape_pct") and column.startswith("worst"):
        note += f" (worst: {r['worst_model']})"
    if len(adj):
        note += f"; card-adjusted: {adj.iloc[0][column]:.1f} %"
    return dict(claim_id=claim_id, section="4.2 (beyond)", description=description, thesis_value=float("nan"),
                our_value=float(r[column]), unit="%", note=note)


def _fresh_set_claims(prefix, test, split, gpu, which, context):
    """The four target claims of a fresh held-out set: its MAPE (:func:`_heldout_claim`), the worst model, the
    interval's coverage and the farthest a model lies outside it (:func:`_target_claim`)."""
    route = ("" if test == split else
             f", predicted by the H200's model x the card factor (the {gpu}'s own zoo-only fit: "
             f"{_v(split, 'static_features'):.1f} %)")
    return [_heldout_claim(f"{prefix}_mape_static", test, f"the {which}",
                           f"{context}, measured after the coefficients were frozen, on an {gpu}{route}"
                           "; target of this set: MAPE <= 8 %"),
            _target_claim(f"{prefix}_worst_model_static", test, "worst_model_ape_pct",
                          f"static-feature model on the {which}: the worst model's error (target <= 25 %)"),
            _target_claim(f"{prefix}_interval_coverage", test, "coverage_pct",
                          f"90 % interval on the {which}: runs covered (target >= 90 %)"),
            _target_claim(f"{prefix}_worst_outside", test, "worst_outside_pct",
                          f"90 % interval on the {which}: farthest a model lies outside it (target <= 10 %)")]


def _prospective_claim(claim_id, split, description, target_pct):
    """An earlier set's MAPE as a fit of the rows measured before it met it (``prospective``), or why it is missing."""
    row = prospective[prospective["set"] == split] if len(prospective) else prospective
    if not len(row):
        return dict(claim_id=claim_id, section="4.2 (beyond)", description=description, thesis_value=float("nan"),
                    our_value=float("nan"), unit="%", note=f"no {split} rows recorded yet")
    r = row.iloc[0]
    return dict(claim_id=claim_id, section="4.2 (beyond)", description=description, thesis_value=float("nan"),
                our_value=float(r["mape_pct"]), unit="%",
                note=f"{'met' if r['mape_pct'] <= target_pct else 'missed'}; {int(r['models'])} models, a fit of "
                     f"{int(r['fit_models'])} models; worst {r['worst_model']} {r['worst_model_ape_pct']:.1f} %")


hc_ref = ref_fit["thesis"]
claims.record(NOTEBOOK, [
    dict(claim_id="4.2.1-hc-j-per-mac", section="4.2.1",
         description="HC: energy per MAC in training, E = HC x MACs x N (through the origin)",
         thesis_value=5.9e-11, our_value=hc_ref["hc_j_per_mac"], unit="J/MAC",
         note=f"thesis: RTX 4090; ours: {ref}, 95 % CI [{hc_ref['hc_ci'][0]:.3g}, {hc_ref['hc_ci'][1]:.3g}], "
              "thop MACs"),
    dict(claim_id="4.2.2-cifar10-validation", section="4.2.2",
         description="HC model fitted on FMNIST + CIFAR-100 predicts CIFAR-10 energy per epoch "
                     "(mean absolute relative error)",
         thesis_value=float("nan"), our_value=_v("cifar10", "thesis_hc") / 100, unit="fraction",
         note="thesis: 'closely matches' (no number); static-feature model: "
              f"{_v('cifar10', 'static_features'):.1f} %"),
    dict(claim_id="hc_model_lomo_mape", section="4.2 (beyond)",
         description="HC model, leave-one-model-out over the zoo (MAPE)",
         thesis_value=float("nan"), our_value=_v("leave_one_model_out", "thesis_hc"), unit="%",
         note=f"static-feature model: {_v('leave_one_model_out', 'static_features'):.1f} %, 90 % PI covers "
              f"{_v('leave_one_model_out', 'static_features', 'coverage_pct'):.0f} %"),
    _heldout_claim("family_lofo_mape_static", "leave_one_family_out",
                   "the earlier held-out sets, each family left out of the fit in turn",
                   "torchvision, timm, pytorchcv, vit-pytorch and mmpretrain families of held-out sets 1 to 10 and "
                   "the near-family splits"),
    *_fresh_set_claims("fresh_heldout", FRESH_TEST, FRESH, FRESH_GPU, "fresh held-out set",
                       "set 11: 16 MONAI families none of the fitted rows has"),
    *_fresh_set_claims("heldout12", SET12_TEST, SET12, SET12_GPU, "second fresh held-out set",
                       "set 12: 16 pytorchcv dense-prediction families none of the fitted rows has"),
    *_fresh_set_claims("heldout13", SET13_TEST, SET13, SET13_GPU, "third fresh held-out set",
                       "set 13: 15 families none of the fitted rows has (11 transformers models, 3 pytorchcv, 1 "
                       "MONAI)"),
    _heldout_claim("nearfamily4_mape_static", NEAR_TEST, "the fourth near-family set",
                   "12 new variants of fitted families, measured after the coefficients (family offsets among them) "
                   f"were frozen, on an {NEAR_GPU}"
                   + ("" if NEAR_TEST == NEAR else ", predicted by the H200's model x the card factor")
                   + "; target: MAPE <= 5 %"),
    _heldout_claim("nearfamily5_mape_static", NEAR5_TEST, "the fifth near-family set",
                   "12 variants of lineages the H200's fit has 2 to 10 models of, measured after the coefficients "
                   f"(family offsets among them) were frozen, on an {NEAR5_GPU}"
                   + ("" if NEAR5_TEST == NEAR5 else ", predicted by the H200's model x the card factor")
                   + "; target: MAPE <= 5 %"),
    _heldout_claim("nearfamily6_mape_static", NEAR6_TEST, "the sixth near-family set",
                   "12 more variants of lineages the H200's fit has several models of, drawn by the fifth set's rule "
                   f"after it was measured, measured after the coefficients were frozen, on an {NEAR6_GPU}"
                   + ("" if NEAR6_TEST == NEAR6 else ", predicted by the H200's model x the card factor")
                   + "; target: MAPE <= 5 %"),
    _prospective_claim("nearfamily_mape_static", "nearfamily",
                       "static-feature model on new torchvision variants of fitted families, met by a fit of the rows "
                       "measured before them with today's terms and family offsets (MAPE; target <= 5 %)", 5.0),
    _prospective_claim("nearfamily2_mape_static", "nearfamily2",
                       "static-feature model on pytorchcv variants of fitted families (the second near-family set), "
                       "met by a fit of the rows measured before them with today's terms and family offsets (MAPE; "
                       "target <= 5 %)", 5.0),
    _prospective_claim("heldout8_mape_static", "heldout8",
                       "static-feature model on set 8, met by a fit of the rows measured before it with today's terms "
                       "(MAPE; target <= 8 %)", 8.0),
    _prospective_claim("nearfamily3_mape_static", "nearfamily3",
                       "static-feature model on pytorchcv and timm variants of fitted families (the third near-family "
                       "set), met by a fit of the rows measured before them with today's terms and family offsets "
                       "(MAPE; target <= 5 %)", 5.0),
    _prospective_claim("heldout9_mape_static", "heldout9",
                       "static-feature model on set 9, met by a fit of the rows measured before it with today's terms "
                       "(MAPE; target <= 8 %)", 8.0),
    _prospective_claim("heldout10_mape_static", "heldout10",
                       "static-feature model on set 10 (its repeat on an H200), met by a fit of the rows measured "
                       "before it with today's terms (MAPE; target <= 8 %)", 8.0),
    dict(claim_id="grouped_pointwise_term_family_out_heavy", section="4.2 (beyond)",
         description="static-feature model, each family left out in turn, on the models with >= 10 % of their MACs "
                     "in grouped convolutions (MAPE with the grouped 1x1 bytes term; post hoc for set 8's families)",
         thesis_value=float("nan"),
         our_value=float(term_ablation.set_index("split").loc["leave_one_family_out (heavy)", "mape_with_pct"]),
         unit="%",
         note=(f"without the term: "
               f"{term_ablation.set_index('split').loc['leave_one_family_out (heavy)', 'mape_without_pct']:.1f} %; "
               f"all families: {term_ablation.set_index('split').loc['leave_one_family_out', 'mape_with_pct']:.1f} % "
               f"with, {term_ablation.set_index('split').loc['leave_one_family_out', 'mape_without_pct']:.1f} % "
               "without")),
    dict(claim_id="fresh_heldout_card_adjusted_mape_static", section="4.2 (beyond)",
         description="static-feature model on the fresh held-out set, times the card factor of its anchors (MAPE)",
         thesis_value=float("nan"), our_value=_v(f"{FRESH}_card_adjusted", "static_features"), unit="%",
         note=(f"the {FRESH_GPU}'s own fit; the architecture's error without the card-to-card spread of one GPU kind"
               if f"{FRESH}_card_adjusted" in set(validation["split"]) else f"no {FRESH} rows recorded yet")),
])
