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
# # 04 — What drives training energy: hardware, dataset, batch size, MACs, branches (thesis 4.1, Figs 4.1–4.13)
#
# The thesis measures training energy per epoch on an RTX 3060 and an RTX 4090 with
# `nvidia-smi` (1 Hz power × time) and looks at five candidate KPIs. We measure the
# same grids on an NVIDIA H100 (and the hardware comparison also on an H200) with
# the NVML energy **counter** (`greenai.energy`, ~100 ms resolution, no sampling
# bias), the thesis' 1 Hz method recorded beside it on the same windows. Every row
# says which GPU, driver, torch/CUDA, precision, batch size, repeat, data source
# (real or synthetic) and energy method produced it.
#
# **What is measured how.**
#
# | experiment (CSV) | thesis | what we ran |
# |---|---|---|
# | `kpi_hardware`, `kpi_hardware_h200` | 4.1.1 | AlexNet, ResNet18, Fashion-MNIST, batch 128, 3 full epochs each after warm-up, 2 repeats (separate runs, possibly on different cards), on H100 and H200 |
# | `kpi_datasets` | 4.1.2 | AlexNet, ResNet18 on Fashion-MNIST vs CIFAR-100, batch 256, 2 full epochs |
# | `kpi_batch_size` | 4.1.3 | AlexNet, Fashion-MNIST, batch 64…2048, 2 full epochs × 3 repeats |
# | `kpi_epochs` | 4.1.3 | AlexNet, Fashion-MNIST, batch 256, 10 full epochs with test accuracy |
# | `kpi_extrapolation` | check | one full epoch of VGG16, MobileNetV2, GoogLeNet, GoogLeNet_mod8 (measured as windows in `kpi_macs`) |
# | `kpi_macs` | 4.1.4–4.1.5 | 20 models × {Fashion-MNIST, CIFAR-100}, batch 256, 2 windows of ≥ 3 s after warm-up; 3 repeats of 7 models |
# | `kpi_cifar10`, `kpi_cifar10_pair` | 4.1.4 on CIFAR-10; data check | 20 models on real CIFAR-10 (windows); AlexNet and ResNet18 on real vs synthetic CIFAR-10 (full epochs) |
# | `phase_design` | 2.2 phase energy | AlexNet, ResNet18: windows running only some phases of a step |
# | `kpi_precision` | beyond | AlexNet, ResNet18, VGG16 under default / fp32 / tf32 / bf16 |
#
# **Windows instead of full epochs for the 20-model grids.** Full epochs of all 20
# models on three datasets did not fit our GPU time (a VGG16 epoch alone is ~50–100 s).
# For `kpi_macs` and `kpi_cifar10` we measure two fixed-length windows per model
# (a number of steps chosen from the warm-up so that each lasts ≥ 3 s, i.e. ≥ 30
# counter updates) and scale the window energy to an epoch by samples
# (`epoch_energy_extrapolated = True` in those rows). `kpi_datasets` measures full
# epochs of AlexNet and ResNet18 on the same setting, which checks the
# extrapolation below.
#
# **CIFAR-100 is synthetic here.** It could not be obtained offline; its rows use a
# stand-in of identical shape (3×32×32, 50,000 images, 100 classes, random pixels,
# `data_source = synthetic`). Training energy does not depend on pixel values — the
# same kernels run on the same shapes — and the CIFAR-10 real-vs-synthetic pair
# below shows it. No accuracy is reported from synthetic data.
#
# **Precision.** The thesis ran PyTorch defaults; so do all rows here except
# `kpi_precision` (`precision = default`: TF32 off for matmuls, on for cuDNN
# convolutions).

# %% tags=["parameters"]
MEASURE = False
QUICK = False
RAW_DIR = None

# %%
import numpy as np
import pandas as pd

from greenai import analysis as an, claims
from greenai.experiments import store
from greenai.figures import ch4, save_figure, use_style

use_style()
NAN = float("nan")
if MEASURE:  # on a GPU: rerun this notebook's grids, appending to results/raw (resumable)
    from greenai import campaign

    for name in ("hardware", "datasets", "batch_size", "phases", "macs", "precision", "cifar10_pair", "cifar10"):
        campaign.run_experiment(name, out_dir=RAW_DIR, quick=QUICK)  # QUICK: the small grids


def optional(name):
    """Rows of an experiment that needs a machine or data we may not have had; None if missing."""
    try:
        return store.load_results(name, RAW_DIR)
    except store.MissingResultsError as exc:
        print(f"not measured: {exc}")
        return None


hardware = pd.concat([r for r in (store.load_results("kpi_hardware", RAW_DIR), optional("kpi_hardware_h200"))
                      if r is not None], ignore_index=True)
datasets = store.load_results("kpi_datasets", RAW_DIR)
batch = store.load_results("kpi_batch_size", RAW_DIR)
macs = store.load_results("kpi_macs", RAW_DIR)
phases = store.load_results("phase_design", RAW_DIR)
precision = optional("kpi_precision")
epochs10 = store.load_results("kpi_epochs", RAW_DIR)
extrapolation = store.load_results("kpi_extrapolation", RAW_DIR)
cifar10 = optional("kpi_cifar10")
pair = optional("kpi_cifar10_pair")
H100 = batch.gpu_name.iloc[0]
for name, df in [("hardware", hardware), ("datasets", datasets), ("batch size", batch), ("MACs", macs),
                 ("phases", phases), ("precision", precision), ("CIFAR-10", cifar10), ("CIFAR-10 pair", pair)]:
    if df is not None:
        print(f"{name:14s} {len(df):4d} rows on {', '.join(sorted(df.gpu_name.unique()))}; "
              f"energy method {', '.join(sorted(set(df.energy_method.dropna()) or {'counter'}))}")  # older rows: counter
claim_rows = []

# %% [markdown]
# ## 4.1.1 Hardware (Fig 4.1)
#
# Thesis: AlexNet and ResNet18 on Fashion-MNIST, batch 128, 10 epochs, RTX 3060 vs
# RTX 4090: the 3060 used 212.36 J more per epoch for AlexNet and 3034.89 J more for
# ResNet18 — the gap grows with MACs. Our second GPU kind is an H200: the same Hopper
# chip (both at a 700 W limit) with faster, larger HBM3e memory, a much smaller step than
# 3060 → 4090. Each kind was measured twice (repeats 0 and 1), each repeat on its own
# run, on a freshly allocated machine — so possibly on another card of the same kind — with the
# same code and settings (dates in the `.meta.json` runs). The difference between the two
# repeats of one kind is the yardstick for the gap between kinds: card-to-card and
# run-to-run spread, which a single pair of cards cannot separate from the hardware.
# The split into time and power says where the gap comes from.

# %%
hw = an.summarize(hardware, ["gpu_name", "model"])
fig = ch4.fig_4_1_hardware(hw)
save_figure(fig, "fig_4_1_hardware")
hw[["gpu_name", "model", "epoch_energy_j_mean", "epoch_energy_j_std", "epoch_duration_s_mean", "power_w_mean",
    "repeats"]]

# %%
gpus = list(hw.gpu_name.unique())
gap = {}
if len(gpus) == 2:
    older, newer = (gpus if "H100" in gpus[0] else gpus[::-1])
    pivot = hw.pivot(index="model", columns="gpu_name", values="epoch_energy_j_mean")
    for model in ("alexnet", "resnet18"):
        gap[model] = float(pivot.loc[model, older] - pivot.loc[model, newer])
        print(f"{model}: {older} − {newer} = {gap[model]:+.1f} J per epoch "
              f"({gap[model] / pivot.loc[model, newer]:+.1%})")
    for column, what in (("epoch_duration_s_mean", "time per epoch"), ("power_w_mean", "mean power")):
        ratio = hw.pivot(index="model", columns="gpu_name", values=column)
        print(f"{what}, {newer} / {older}: "
              + ", ".join(f"{m} {ratio.loc[m, newer] / ratio.loc[m, older] - 1:+.1%}" for m in ratio.index))
else:
    print("only one GPU measured: no hardware gap")
# Spread between the repeats (separate runs) of one GPU kind, as a share of their mean.
run_means = an.per_run(hardware).groupby(["gpu_name", "model", "repeat"]).epoch_energy_j.mean()
spread = run_means.groupby(["gpu_name", "model"]).agg(lambda e: (e.max() - e.min()) / e.mean())
print("spread between repeats of one kind (max − min) / mean:\n", spread.map("{:.1%}".format).to_string())
gap_note = (f"thesis: RTX 3060 − RTX 4090; ours: H100 − H200, 2 separate runs each; runs of one kind "
            f"differ by up to {spread.max():.1%}" if gap
            else "thesis: RTX 3060 − RTX 4090; ours: H100 − H200, H200 rows missing (n/a)")
acc = hardware.dropna(subset=["test_accuracy"]).groupby(["gpu_name", "model"]).test_accuracy.last()
print("test accuracy after the measured epochs (real Fashion-MNIST):\n", acc.round(3).to_string())
gap_noise = run_means.groupby(["gpu_name", "model"]).agg(lambda e: e.max() - e.min()).groupby("model").sum()
claim_rows += [
    dict(claim_id="4.1.1-alexnet-gap", section="4.1.1", description="AlexNet energy per epoch, older − newer GPU",
         thesis_value=212.36, our_value=gap.get("alexnet", NAN), unit="J",
         note=gap_note, noise=float(gap_noise.get("alexnet", NAN))),
    dict(claim_id="4.1.1-resnet18-gap", section="4.1.1", description="ResNet18 energy per epoch, older − newer GPU",
         thesis_value=3034.89, our_value=gap.get("resnet18", NAN), unit="J",
         note=gap_note, noise=float(gap_noise.get("resnet18", NAN))),
    dict(claim_id="4.1.1-gap-grows", section="4.1.1", description="ResNet18 gap − AlexNet gap, energy per epoch",
         thesis_value=3034.89 - 212.36, our_value=gap.get("resnet18", NAN) - gap.get("alexnet", NAN), unit="J",
         note=gap_note, noise=float(gap_noise.sum())),
]

# %% [markdown]
# ## 4.1.2 Datasets (Fig 4.2)
#
# Thesis (RTX 4090, batch 256, 20 epochs): AlexNet used more energy per epoch on
# CIFAR-100 than on Fashion-MNIST (its MACs grow from 665.53 to 712.39 M with three
# input channels), while ResNet18, GoogLeNet and VGG11 used more on Fashion-MNIST,
# whose training set is larger (60,000 vs 50,000 images). First figure: all four
# models from the windows of `kpi_macs`; second: full epochs of AlexNet and ResNet18
# (`kpi_datasets`).
#
# A simple expectation: energy per epoch ∝ images × MACs per image, so the ratio
# CIFAR-100 / Fashion-MNIST should be (MACs ratio) × 50,000 / 60,000. We print it
# beside the measured ratio. On the H100 every model, AlexNet included, uses *less*
# energy per epoch on CIFAR-100, as that expectation predicts: the thesis' AlexNet
# result is not reproduced here (3 input channels add only ~7 % MACs to AlexNet, less
# than the 17 % fewer images remove).

# %%
four = ["alexnet", "resnet18", "googlenet", "vgg11"]
win = an.summarize(macs[macs.model.isin(four) & (macs.repeat == 0)], ["model", "dataset"])
full = an.summarize(datasets, ["model", "dataset"])
fig = ch4.fig_4_2_datasets(win)
save_figure(fig, "fig_4_2_datasets")
fig = ch4.fig_4_2b_datasets_full_epochs(full)
save_figure(fig, "fig_4_2b_datasets_full_epochs")
ratio = (win.pivot(index="model", columns="dataset", values="epoch_energy_j_mean")
         .assign(cifar100_over_fmnist=lambda d: d["cifar100"] / d["fashion_mnist"]))
macs_pivot = win.pivot(index="model", columns="dataset", values="macs")
n_train = macs.groupby("dataset").n_train.first()
ratio["expected_images_x_macs"] = (macs_pivot["cifar100"] / macs_pivot["fashion_mnist"]
                                   * n_train["cifar100"] / n_train["fashion_mnist"])
ratio_full = (full.pivot(index="model", columns="dataset", values="epoch_energy_j_mean")
              .assign(cifar100_over_fmnist=lambda d: d["cifar100"] / d["fashion_mnist"]))
print("CIFAR-100 / Fashion-MNIST energy per epoch (windows):\n", ratio.round(3).to_string())
print("full epochs:\n", ratio_full.round(3).to_string())

# %% [markdown]
# **Does the window extrapolation hold?** The same model, dataset and batch size
# measured as full epochs (`kpi_datasets`) and as ≥ 3 s windows scaled by samples
# (`kpi_macs`):

# %%
check = full.merge(win, on=["model", "dataset"], suffixes=("_full", "_window"))
check["window_vs_full"] = check.epoch_energy_j_mean_window / check.epoch_energy_j_mean_full - 1
print(check[["model", "dataset", "epoch_energy_j_mean_full", "epoch_energy_j_mean_window", "window_vs_full"]]
      .round(3).to_string(index=False))
# %% [markdown]
# A second check on four models with very different step times, measured as full
# epochs in a later run (`kpi_extrapolation`). That run was on a separately allocated
# machine (possibly another H100 card); the same AlexNet epoch (batch 256) drew a few percent less there
# than in the first run (printed below), which is part of the comparison — rows carry
# the idle power measured at the start of each run to tell the runs apart.

# %%
fm_windows = an.per_run(macs[macs.dataset == "fashion_mnist"]).groupby("model").epoch_energy_j.mean()
xcheck = extrapolation[["model", "epoch_energy_j", "idle_power_w"]].assign(
    window_extrapolated_j=lambda d: d.model.map(fm_windows))
xcheck["window_vs_full"] = xcheck.window_extrapolated_j / xcheck.epoch_energy_j - 1
print(xcheck.round(3).to_string(index=False))
first_call = batch[batch.batch_size == 256].energy_j.mean()
print(f"AlexNet batch 256 epoch: {first_call:.0f} J in the first run (idle {batch.idle_power_w.iloc[0]:.0f} W), "
      f"{epochs10.energy_j.mean():.0f} J in the later run (idle {epochs10.idle_power_w.iloc[0]:.0f} W): "
      f"{epochs10.energy_j.mean() / first_call - 1:+.1%} between the two runs")

# %%
for model in four:
    claim_rows.append(dict(
        claim_id=f"4.1.2-{model}-cifar100-over-fmnist", section="4.1.2",
        description=f"{model}: energy per epoch CIFAR-100 / Fashion-MNIST", thesis_value=NAN,
        our_value=float(ratio.loc[model, "cifar100_over_fmnist"]) if model in ratio.index else NAN, unit="ratio",
        note=("thesis: > 1 for AlexNet" if model == "alexnet" else "thesis: < 1") + "; CIFAR-100 synthetic stand-in"))

# %% [markdown]
# ## 4.1.3 Batch size and epochs (Figs 4.3–4.6)
#
# Thesis: on the 3060 energy per epoch falls as the batch grows, fast from 64 to 128
# and slowly from 256 to 512; on the 4090 it first *rises* from 64 to 128 (average
# power 140 W → 160 W) and then falls, more steeply from 256 to 512 than on the 3060.
# AlexNet, Fashion-MNIST; we measured 2 full epochs × 3 repeats per batch size.
#
# On the H100 the energy per epoch falls from batch 64 to 128 (unlike the 4090, where
# it rose) and flattens from 256 on, while the average power rises monotonically with
# the batch: a larger batch keeps the GPU busier (higher power) for a shorter time, and
# beyond ~256 the two cancel. The thesis' 4090 powers (140 → 160 W) and ours (about
# 3.5× higher) differ in scale, not in direction.

# %%
bs = an.summarize(batch, ["batch_size"]).sort_values("batch_size")
fig = ch4.fig_4_4_batch_size(bs, H100)
save_figure(fig, "fig_4_4_batch_size")
pairs = [(64, 128), (128, 256), (256, 512), (512, 1024), (1024, 2048)]
change = an.percent_change(bs, "epoch_energy_j_mean", "batch_size", pairs)
for (a, b), pct in change.items():
    print(f"batch {a:4d} → {b:4d}: energy per epoch {pct:+.1f} %")
power = bs.set_index("batch_size").power_w_mean
print("average power [W] by batch size:", power.round(0).to_dict())
cv = an.per_run(batch).groupby("batch_size").epoch_energy_j.agg(lambda s: s.std() / s.mean())
print("spread over repeats (coefficient of variation):", cv.round(3).to_dict())
bs[["batch_size", "epoch_energy_j_mean", "epoch_energy_j_std", "epoch_duration_s_mean", "power_w_mean", "repeats"]]

# %%
# %% [markdown]
# **Is energy per epoch stationary?** The totals over 10–50 epochs below multiply the
# measured mean per epoch by the number of epochs. One run of 10 full epochs
# (`kpi_epochs`) checks that: energy per epoch stays within a few percent while the
# model learns (test accuracy on real Fashion-MNIST on the right axis), so the total
# grows linearly with epochs, as the thesis found (Figs 4.5/4.6).

# %%
fig = ch4.fig_4_6b_energy_per_epoch_over_10_epochs(epochs10)
save_figure(fig, "fig_4_6b_energy_per_epoch_over_10_epochs")
drift = epochs10.energy_j.max() / epochs10.energy_j.min() - 1
cumulative_vs_linear = epochs10.energy_j.sum() / (len(epochs10) * epochs10.energy_j.iloc[:2].mean()) - 1
print(f"energy per epoch over 10 epochs: {epochs10.energy_j.mean():.0f} J, max/min − 1 = {drift:.1%}; "
      f"10-epoch total vs 10 × (mean of the first 2 epochs): {cumulative_vs_linear:+.1%}; "
      f"final test accuracy {epochs10.test_accuracy.iloc[-1]:.3f}")

# %%
totals = an.total_energy_over_epochs(batch)
run_range = an.per_run(batch).groupby("batch_size").epoch_energy_j.agg(lambda s: (s.max() - s.min()) / s.mean())


def change_noise(a, b):
    """Noise of a % change between batch sizes: the two sizes' ranges between repeats, added [%]."""
    return 100 * float(run_range.get(a, NAN) + run_range.get(b, NAN))


fig = ch4.fig_4_6_energy_vs_epochs(totals)
save_figure(fig, "fig_4_6_energy_vs_epochs")
claim_rows += [
    dict(claim_id="4.1.3-64-128", section="4.1.3", description="energy per epoch change, batch 64 → 128",
         thesis_value=NAN, our_value=change.get((64, 128), NAN), unit="%",
         note="thesis: rises on the 4090 (falls on the 3060); Fig. 4.4 bars only"),
    dict(claim_id="4.1.3-256-512", section="4.1.3", description="energy per epoch change, batch 256 → 512",
         thesis_value=NAN, our_value=change.get((256, 512), NAN), unit="%",
         note="thesis: falls, more on the 4090 than on the 3060", noise=change_noise(256, 512)),
    dict(claim_id="4.1.3-batch-cuts-energy", section="4.1.3", description="energy per epoch change, batch 64 → 512",
         thesis_value=NAN, our_value=an.percent_change(bs, "epoch_energy_j_mean", "batch_size", [(64, 512)])
         .get((64, 512), NAN), unit="%", note="thesis: falls on both GPUs (Fig. 4.4)", noise=change_noise(64, 512)),
    dict(claim_id="4.1.3-diminishing-returns", section="4.1.3",
         description="change 256 → 512 minus change 64 → 128, energy per epoch", thesis_value=NAN,
         our_value=change.get((256, 512), NAN) - change.get((64, 128), NAN), unit="percentage points",
         note="thesis: fast from 64 to 128, slowly from 256 to 512 (RTX 3060)",
         noise=change_noise(256, 512) + change_noise(64, 128)),
    dict(claim_id="4.1.3-energy-linear-in-epochs", section="4.1.3",
         description="10-epoch total vs 10 × mean of the first 2 epochs − 1", thesis_value=0.0,
         our_value=100 * cumulative_vs_linear, unit="%", note="one run of 10 full epochs (kpi_epochs)"),
    dict(claim_id="4.1.3-power-64", section="4.1.3", description="average power at batch 64",
         thesis_value=140.0, our_value=float(power.get(64, NAN)), unit="W", note=f"thesis RTX 4090; ours {H100}"),
    dict(claim_id="4.1.3-power-128", section="4.1.3", description="average power at batch 128",
         thesis_value=160.0, our_value=float(power.get(128, NAN)), unit="W", note=f"thesis RTX 4090; ours {H100}"),
]

# %% [markdown]
# ## 4.1.4 MACs (Figs 4.7, 4.10)
#
# Thesis (RTX 4090, batch 256): across 20 models, energy per epoch against MACs per
# image is approximately a straight line on log–log axes. We fit
# `log10 E = a + b · log10 MACs` by least squares (statsmodels) and report the slope
# with its 95 % interval; b = 1 would mean energy proportional to MACs.
#
# On the H100 the relation is much looser than the thesis saw on the 4090: the
# MobileNets (depthwise convolutions: few MACs, much memory traffic) cost far more
# energy than their MACs predict, AlexNet far less, and GoogLeNet-style models with
# many small kernels sit above ResNets of similar MACs. We therefore also fit without
# the two MobileNets.

# %%
runs = an.per_run(macs)
fm = runs[(runs.dataset == "fashion_mnist")].groupby("model", sort=False).agg(
    macs=("macs", "first"), epoch_energy_j=("epoch_energy_j", "mean"), branch_count=("branch_count", "first"),
    repeats=("repeat", "nunique")).reset_index()
fit_fm = an.loglog_fit(fm.macs, fm.epoch_energy_j)
fig = ch4.fig_4_7_macs_vs_energy(fm, fit_fm, H100)
save_figure(fig, "fig_4_7_macs_vs_energy")
c100 = runs[runs.dataset == "cifar100"].groupby("model", sort=False).agg(
    macs=("macs", "first"), epoch_energy_j=("epoch_energy_j", "mean"), branch_count=("branch_count", "first")).reset_index()
fit_c100 = an.loglog_fit(c100.macs, c100.epoch_energy_j)
fig = ch4.fig_4_10_macs_vs_energy_cifar100(c100, fit_c100)
save_figure(fig, "fig_4_10_macs_vs_energy_cifar100")
fits = {"fashion_mnist": fit_fm, "cifar100": fit_c100}
if cifar10 is not None:
    c10 = an.per_run(cifar10).groupby("model", sort=False).agg(
        macs=("macs", "first"), epoch_energy_j=("epoch_energy_j", "mean"),
        branch_count=("branch_count", "first")).reset_index()
    fits["cifar10"] = an.loglog_fit(c10.macs, c10.epoch_energy_j)
    fig = ch4.fig_4_10b_macs_vs_energy_cifar10(c10, fits["cifar10"])
    save_figure(fig, "fig_4_10b_macs_vs_energy_cifar10")
no_dw = fm[~fm.model.str.startswith("mobilenet")]
fits["fashion_mnist without MobileNets"] = an.loglog_fit(no_dw.macs, no_dw.epoch_energy_j)
for name, f in fits.items():
    print(f"{name:34s} slope {f.slope:.3f} [{f.slope_ci[0]:.3f}, {f.slope_ci[1]:.3f}], R² {f.r2:.3f}, n = {f.n}")
rep = an.per_run(macs[(macs.dataset == "fashion_mnist")]).groupby("model").epoch_energy_j.agg(["mean", "std", "count"])
rep = rep[rep["count"] >= 3]
print("spread over 3 repeats (sd / mean):\n", (rep["std"] / rep["mean"]).round(4).to_string())
claim_rows += [
    dict(claim_id="4.1.4-loglog-r2-fmnist", section="4.1.4", description="R² of log E vs log MACs, Fashion-MNIST",
         thesis_value=NAN, our_value=fit_fm.r2, unit="",
         note="thesis: 'approximately linear' on log axes (Fig. 4.7, no fit given)"),
    dict(claim_id="4.1.4-loglog-slope-fmnist", section="4.1.4", description="slope of log E vs log MACs, Fashion-MNIST",
         thesis_value=NAN, our_value=fit_fm.slope, unit="",
         note=f"95% CI [{fit_fm.slope_ci[0]:.2f}, {fit_fm.slope_ci[1]:.2f}]"),
    dict(claim_id="4.1.4-loglog-r2-fmnist-no-mobilenet", section="4.1.4",
         description="R² of log E vs log MACs, Fashion-MNIST, without the MobileNets", thesis_value=NAN,
         our_value=fits["fashion_mnist without MobileNets"].r2, unit="",
         note="depthwise convolutions are memory-bound: energy far above their MACs"),
]

# %% [markdown]
# ## 4.1.5 Multi-branch structure (Fig 4.9)
#
# Thesis: GoogLeNet_mod8 and _mod12 (4 branches per modified Inception block) have
# fewer MACs than _mod1 (1 branch) but used *more* energy per epoch: branches cost
# energy beyond their MACs. Our ten variants are rebuilt from the thesis' description
# (`greenai.models.googlenet`), so their MACs differ from the thesis'; what carries
# over is the comparison at similar MACs.

# %%
g = fm[fm.model.str.startswith("googlenet")].copy()
fit_g = an.loglog_fit(g.macs, g.epoch_energy_j)
fig = ch4.fig_4_9_googlenet_branches(g, fit_g)
save_figure(fig, "fig_4_9_googlenet_branches")
g["energy_per_gmac_j"] = g.epoch_energy_j / (g.macs / 1e9)
gi = g.set_index("model")
print(g[["model", "branch_count", "macs", "epoch_energy_j", "energy_per_gmac_j", "repeats"]].round(1).to_string(index=False))
g_range = (runs[runs.dataset == "fashion_mnist"].groupby("model").epoch_energy_j
           .agg(lambda s: (s.max() - s.min()) / s.mean()))
for other in ("googlenet_mod8", "googlenet_mod12"):
    e_ratio = float(gi.loc[other, "epoch_energy_j"] / gi.loc["googlenet_mod1", "epoch_energy_j"])
    m_ratio = float(gi.loc[other, "macs"] / gi.loc["googlenet_mod1", "macs"])
    print(f"{other} / mod1: energy {e_ratio:.3f}, MACs {m_ratio:.3f}")
    claim_rows.append(dict(claim_id=f"4.1.5-{other}-over-mod1", section="4.1.5",
                           description=f"energy per epoch {other} / googlenet_mod1", thesis_value=NAN,
                           our_value=e_ratio, unit="ratio",
                           note=f"thesis: > 1 at fewer MACs; our MAC ratio {m_ratio:.2f}",
                           noise=e_ratio * float(g_range[other] + g_range["googlenet_mod1"])))
by_branch = g.groupby("branch_count").energy_per_gmac_j.mean()
print("energy per GMAC by branch count [J]:", by_branch.round(1).to_dict())

# %% [markdown]
# ## Figs 4.11–4.13: MACs vs time to device, forward and backward energy
#
# The thesis plots, per model, the total "time to device" and the forward and
# backward energy (phase time × epoch average power, its section-2.2 method). Our
# phase times come from CUDA events every step (no per-batch synchronisation);
# "to device" is fetching a batch from the GPU-resident uint8 dataset and resizing it
# (the data never crosses PCIe per batch). Per epoch, scaled from the windows.

# %%
mac_rows = macs[macs.dataset == "fashion_mnist"].copy()
for col in ("h2d_s", "forward_energy_thesis_j", "backward_energy_thesis_j"):
    mac_rows[col + "_epoch"] = mac_rows[col] / mac_rows.epoch_fraction
ph = mac_rows.groupby("model", sort=False).agg(macs=("macs", "first"), h2d=("h2d_s_epoch", "mean"),
                                               fwd=("forward_energy_thesis_j_epoch", "mean"),
                                               bwd=("backward_energy_thesis_j_epoch", "mean")).reset_index()
for y, label, fig_name in [("h2d", "time to device per epoch [s]", "fig_4_11_macs_vs_h2d_time"),
                           ("fwd", "forward energy per epoch, thesis' way [J]", "fig_4_12_macs_vs_forward_energy"),
                           ("bwd", "backward energy per epoch, thesis' way [J]", "fig_4_13_macs_vs_backward_energy")]:
    fig = ch4.plot_macs_energy(ph, an.loglog_fit(ph.macs, ph[y]), y=y, ylabel=label, annotate=False,
                              title="Fashion-MNIST, batch 256")
    save_figure(fig, fig_name)
print(f"backward / forward energy (thesis' way), median over models: {np.median(ph.bwd / ph.fwd):.2f}")

# %% [markdown]
# ## Phase energy: the thesis' way vs measured
#
# The thesis splits energy between phases by time, assuming one average power. We
# ran, over the same batches, windows that execute only the first phases of a step
# (fetch; + forward; + backward; full step) and split the energy per step by
# difference, and by a non-negative least-squares fit E = Σ p_k·t_k + p_other·t_other
# over all windows. `thesis_error` = thesis' way / by-difference − 1.
# `by_difference_bound_j` carries the counter's resolution (about one ~55 J counter
# step at each window edge, divided by the window's steps) into the difference; a
# phase is `resolved` only when its energy exceeds that bound. Each window kind is
# sized to ≥ 3 s separately, so the fetch-only window runs ~19,000 steps.
#
# Result: for forward and backward the thesis' constant-power split agrees with the
# measured split within our resolution; for the data phase (fetch and resize on the
# GPU, a light memory-bound load drawing far less than the epoch average) it
# overstates the energy about twofold; the optimizer step (well under a millisecond)
# is below what two 3-s counter windows can resolve.

# %%
pt = an.phase_energy_table(phases)
fig = ch4.fig_phase_energy_methods(pt, H100)
save_figure(fig, "fig_phase_energy_methods")
# an unresolved phase's fitted power and error are not physical numbers (e.g. thousands of W): not shown
print(pt.assign(power_w=pt.power_w.where(pt.resolved), thesis_error=pt.thesis_error.where(pt.resolved))[
    ["model", "phase", "time_s", "thesis_j", "by_difference_j", "by_difference_bound_j", "resolved",
     "by_regression_j", "power_w", "thesis_error"]].round(5).to_string(index=False, na_rep="unresolved"))
for r in pt.itertuples():
    claim_rows.append(dict(
        claim_id=f"2.2-{r.model}-{r.phase}-method-error", section="2.2",
        description=f"{r.model} {r.phase}: error of avg power × time vs measured phase energy",
        thesis_value=0.0, our_value=float(r.thesis_error) if r.resolved else NAN, unit="fraction",
        noise=abs(r.by_difference_bound_j / r.by_difference_j) if r.resolved else NAN,
        untestable="" if r.resolved else "the phase's energy is below the counter's resolution",
        note=f"thesis method assumes one power for all phases (error 0); bound ±{r.by_difference_bound_j / r.by_difference_j:.0%}"))

# %% [markdown]
# ## Beyond the thesis: precision, and real vs synthetic pixels
#
# Precision changes the arithmetic the GPU does, hence energy; the thesis ran PyTorch
# defaults and did not record it. Strict FP32 roughly doubles the energy per epoch
# against the defaults (whose cuDNN convolutions already use TF32); bf16 autocast saves
# about a third.
#
# Synthetic data is used for CIFAR-100: the pair on CIFAR-10 (same shapes, real vs
# uniformly random pixels, same steps) shows whether pixel values matter. The time per
# epoch is identical, but random pixels draw a few percent more power (more bit flips
# in the arithmetic and memory traffic), in every epoch of both models. The synthetic
# CIFAR-100 rows therefore likely overstate real CIFAR-100 energy by that much; it is
# below one window's counter bound (±6 % for a 3 s window) but consistent in sign.

# %%
if precision is not None:
    pr = an.summarize(precision, ["model", "precision"])
    fig = ch4.fig_precision(pr)
    save_figure(fig, "fig_precision")
    base = pr[pr.precision == "default"].set_index("model").epoch_energy_j_mean
    pr["vs_default"] = pr.epoch_energy_j_mean / pr.model.map(base)
    print(pr.pivot(index="model", columns="precision", values="vs_default").round(2).to_string())
if pair is not None:
    pp = an.summarize(pair, ["model", "data_source"]).pivot(index="model", columns="data_source",
                                                            values="epoch_energy_j_mean")
    pp["synthetic_vs_real"] = pp["synthetic"] / pp["real"] - 1
    times = an.summarize(pair, ["model", "data_source"]).pivot(index="model", columns="data_source",
                                                               values="epoch_duration_s_mean")
    pp["time_synthetic_vs_real"] = times["synthetic"] / times["real"] - 1
    print("CIFAR-10, energy per epoch, synthetic vs real pixels:\n", pp.round(4).to_string())
    claim_rows.append(dict(claim_id="data-synthetic-vs-real", section="3.2.2",
                           description="energy per epoch synthetic / real − 1 on CIFAR-10 (largest)",
                           thesis_value=NAN, our_value=float(pp.synthetic_vs_real.max()), unit="fraction",
                           note="justifies the synthetic CIFAR-100 stand-in (not a thesis claim)"))

# %%
fit_h2d = an.loglog_fit(ph.macs, ph.h2d)
claim_rows.append(dict(claim_id="4.2.1-h2d-independent-of-model", section="4.2.1",
                       description="slope of log time to device vs log MACs, Fashion-MNIST", thesis_value=0.0,
                       our_value=fit_h2d.slope, unit="", noise=(fit_h2d.slope_ci[1] - fit_h2d.slope_ci[0]) / 2,
                       note=f"noise: half the 95% CI; {fit_h2d.n} models"))
claims.record("04_kpi_analysis", claim_rows)
pd.DataFrame(claim_rows)[["claim_id", "thesis_value", "our_value", "unit", "note"]]
