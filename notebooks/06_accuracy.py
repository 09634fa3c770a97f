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
# # 06 — Energy to reach an accuracy (thesis 4.2.3, Figs 4.17–4.20)
#
# The thesis trained AlexNet and ResNet18 on Fashion-MNIST and CIFAR-100 on an RTX 4090 for
# various numbers of epochs (Figs 4.17–4.20: accuracy vs epochs), saw both reach high accuracy
# on Fashion-MNIST and hover around 50 % on CIFAR-100, and concluded that "due to the lack of a
# clear mathematical relationship between accuracy and energy consumption" no energy model that
# considers accuracy could be proposed.
#
# Here we go where it stopped. Every epoch of a recorded run carries its measured training
# energy and the test accuracy after it, so accuracy can be drawn against cumulative energy
# directly. A learning curve fitted to accuracy vs epochs (`greenai.accuracy`: a saturating
# exponential `a − b·e^(−c·n)` or an inverse power law `a − b·n^(−c)`, plateau `a`) says at
# which epoch a target accuracy — 99 % of the plateau, or a user's number — is reached, and the
# measured energy per epoch turns that epoch into joules. The fit is validated the way a user
# would use it: fit on the first k = 5, 10, 15 epochs, predict when the target is reached, and
# compare with the epochs that followed (error in epochs and joules).
#
# **Data.** `results/raw/accuracy_<dataset>.csv` (campaign experiments `accuracy_fashion_mnist`,
# `accuracy_cifar10`): AlexNet and ResNet18 on real data, batch 256, 224×224, SGD (lr 0.01,
# momentum 0.9), bf16 autocast (the fastest precision the trainer has; recorded in every row),
# 30 full epochs each, test accuracy after every epoch (outside the energy window). The 10
# epochs of AlexNet on Fashion-MNIST in `kpi_epochs.csv` (default precision, notebook 04) are a
# first real curve and are used alongside.
#
# `results/raw/accuracy_curves.csv` (campaign experiment `accuracy_curves`) adds 16 curves for energy to
# accuracy: AlexNet, ResNet18, ResNet34, VGG11, MobileNetV2, GoogLeNet and, outside the zoo's families,
# ShuffleNetV2 and RegNetY-400MF, each on real Fashion-MNIST and on the first 20,000 CIFAR-10 training images
# (the test set whole), batch 256, bf16, 30 epochs with test accuracy after each, all on H200s. **These run at
# 32×32 px, not 224** (AlexNet at 64 px: its stem and three poolings need at least that): at 224 px the
# 16 runs × 30 epochs would cost about 49 times the work per epoch. Accuracies at 32 px on 20,000 images are
# not comparable with the 224 px runs'. The grid was measured over several sessions (`--model` picks a
# grid's models; the `.meta.json` lists each session's rows). Three curves were completed in a later session:
# a run that stops leaves no checkpoint behind, so its missing epochs come from a rerun with the same seed that
# retrains the earlier epochs without writing them (VGG11 on Fashion-MNIST from epoch 25, ShuffleNetV2 on
# CIFAR-10 from 17 and on Fashion-MNIST from 9). Such a rerun may land on another card of the same kind: every
# row names its GPU, and ShuffleNetV2's energy per epoch on Fashion-MNIST drops by about a third at the seam
# (launch-bound at 32 px, it follows the host as much as the GPU), its accuracy does not jump.
#
# `results/raw/accuracy_curves_fresh.csv` (campaign experiment `accuracy_curves_fresh`) holds curves recorded
# *after* the population prior below was frozen, under the same conditions, of models none of the runs above has.
# They are kept apart (`curve_prior.FRESH_SOURCES`): every section up to "A fresh test" uses the runs recorded
# before, that section predicts the fresh runs from them alone, and the one after it asks what every recorded run,
# the fresh ones included, gives a user today.
#
# **CIFAR-10 stands in for CIFAR-100.** CIFAR-100 could not be obtained offline, so the
# thesis' CIFAR-100 panels — **Fig 4.18 (AlexNet) and Fig 4.20 (ResNet18)** — are drawn on
# CIFAR-10 (same images and shapes, 10 classes instead of 100: accuracies are not comparable
# with the thesis' ~50 %). Figs 4.17 and 4.19 (Fashion-MNIST) are reproduced as such. With
# `MEASURE=True` this notebook tries torchvision's CIFAR-100 download and, where it works, runs
# the same grid on CIFAR-100 (`accuracy_cifar100`) — every cell below then includes it unchanged.

# %% tags=["parameters"]
MEASURE = False
QUICK = False
RAW_DIR = None

# %%
import pandas as pd

from greenai import accuracy, claims, curve_prior, learning_curves
from greenai.campaign import EXPERIMENTS  # a fresh set's grid: how many of its runs are recorded
from greenai.figures import ch4, save_figure, use_style
from greenai.tables import save_table

use_style()
NOTEBOOK = "06_accuracy"
NAN = float("nan")
# QUICK: the default curve form only and the first two early-stop windows
FORMS = (accuracy.DEFAULT_FORM,) if QUICK else (*accuracy.FORMS, accuracy.AUTO)
KS = (5, 10) if QUICK else (5, 10, 15)

if MEASURE:  # on a GPU: 30 epochs of AlexNet and ResNet18 per dataset, appended to results/raw (resumable)
    from greenai import campaign, data

    names = ["accuracy_fashion_mnist", "accuracy_cifar10"]
    try:  # CIFAR-100 wherever torchvision can download it
        data.load_dataset("cifar100", train=True, download=True)
        data.load_dataset("cifar100", train=False, download=True)
        names.append("accuracy_cifar100")
    except Exception as exc:  # noqa: BLE001 - no network, mirror down, ...: say so and go on
        print(f"CIFAR-100 not available ({type(exc).__name__}: {exc}); CIFAR-10 stands in")
    for name in names:
        campaign.run_experiment(name, out_dir=RAW_DIR, quick=QUICK)

recorded = accuracy.load_rows(RAW_DIR)
is_fresh = recorded.source_file.isin(curve_prior.FRESH_SOURCES)
rows = recorded[~is_fresh]  # the runs recorded before the method was frozen (the fresh sets: "A fresh test" below)
table = accuracy.runs(rows)
campaign_rows = rows[rows.source_file.str.startswith("accuracy_")] if len(rows) else rows
if campaign_rows.empty:
    print("no data yet: results/raw/accuracy_*.csv not recorded (run `python -m greenai.campaign "
          "-e accuracy_fashion_mnist -e accuracy_cifar10` on a GPU); the first real curve below is the "
          "10 epochs of AlexNet on Fashion-MNIST from kpi_epochs.csv")
if rows.empty:
    print("no data yet: no recorded epoch has a test accuracy; nothing to fit")
display(table.round(4))  # noqa: F821

# %% [markdown]
# ## Accuracy vs epochs with the fitted learning curves (Figs 4.17–4.20)
# One panel per recorded run: measured test accuracy after each epoch (black), each curve form
# fitted to all recorded epochs and drawn 50 % beyond them, its plateau dotted. The grey line
# marks the last recorded epoch. Leading epochs at chance accuracy (a network that has not
# started learning yet) are an offset of the curve, not part of its fit (`fit_offset`).
#
# The table fits each form and `auto` — what `greenai.accuracy.energy_to_accuracy` and
# `greenai predict --target-accuracy` use by default: both forms fitted to all epochs, kept is
# the one with the smaller RMSE over the later half of them, since the forms differ in how
# they go on and the later epochs show that best (a run that stops improving abruptly, as
# ResNet18 does here once it has memorised its training set under a constant learning rate, is
# an exponential; one that still creeps up, as AlexNet on Fashion-MNIST, a power law). It gives
# the epoch and energy at 99 % of the fitted plateau, and `observed_epoch`, the first recorded
# epoch that measured at least that. A crossing more than 10× beyond the recorded epochs is
# refused (`error`): a power law's slow tail can put 99 % of its plateau thousands of epochs
# away.

# %%
if len(rows):
    save_figure(ch4.fig_4_17_4_20_accuracy_vs_epochs(rows, forms=accuracy.FORMS), "fig_4_17_4_20_accuracy_vs_epochs")
    fits = accuracy.fit_table(rows, forms=FORMS)
    save_table(fits, "accuracy_learning_curves")
    shown = ["model", "dataset", "precision", "epochs", "final_accuracy", "form", "fit_form", "fit_plateau",
             "fit_a_se", "fit_rmse", "fit_offset", "target_accuracy", "epoch", "energy_j", "energy_extrapolated",
             "observed_epoch", "error"]
    display(fits[[c for c in shown if c in fits]].round(4))  # noqa: F821
else:
    fits = pd.DataFrame()
    print("no data yet: no learning curve to draw")

# %% [markdown]
# ## Accuracy vs cumulative training energy
# The thesis' figures put epochs on the x axis; here it is the measured energy the GPU spent
# training up to that epoch (warm-up and test-set evaluation excluded). The star marks where
# the default curve form reaches 99 % of its plateau (hollow and dashed: beyond the recorded
# epochs, at their mean energy per epoch).

# %%
if len(rows):
    save_figure(ch4.fig_4_17_4_20_accuracy_vs_energy(rows, form=accuracy.DEFAULT_FORM),
                "fig_4_17_4_20_accuracy_vs_energy")
    for r in table.drop_duplicates(["model", "dataset"]).itertuples():
        try:
            res = accuracy.energy_to_accuracy(r.model, r.dataset, rows=rows)
        except accuracy.AccuracyError as exc:
            print(f"{r.model} on {r.dataset}: {exc}")
            continue
        print(f"{r.model} on {r.dataset} ({res.precision}, {res.source_file}, {res.curve.form} curve): "
              f"{res.target_kind} = {res.target_accuracy:.3f} after {res.epoch} epochs "
              f"[{res.interval_level:.0%}: {res.epoch_low:g}-{res.epoch_high:g}], {res.energy_j / 1e3:.1f} kJ "
              f"[{res.energy_low_j / 1e3:.1f}-{res.energy_high_j / 1e3:.1f}] ({res.energy_kwh * 1e3:.2f} Wh)"
              f"{' extrapolated' if res.energy_extrapolated else ''}; "
              f"measured: {'epoch ' + str(res.observed_epoch) if res.observed_epoch else 'not reached'}")
else:
    print("no data yet: no accuracy vs energy curve")

# %% [markdown]
# ## Early stop: predict from the first k epochs, compare with the rest
# For each run the target is 99 % of its best measured accuracy (a number a user could have
# named). Measured: the first epoch that reached it and the energy spent until then. Predicted
# from the first k epochs only: the fitted curve's epoch for the target, and its energy as the
# k measured epochs plus further epochs at their mean energy. `reachable = False` means the
# k-epoch curve levels off below the target (it would tell the user "never"). `rmse_rest` is
# the k-epoch curve's accuracy error on the epochs after k. `predicted_epoch_low`/`_high` is a
# 90 % interval from the fit's parameter covariance (`inf`: the target may never be reached) and
# `covered` says whether it holds the measured epoch: the interval only knows the noise of the
# first k epochs, not whether the curve's form is right, so expect it to cover less than 90 %.

# %%
validation = pd.concat([accuracy.early_stop_validation(rows, ks=KS, form=f) for f in FORMS], ignore_index=True) \
    if len(rows) else accuracy.early_stop_validation(rows)
save_table(validation, "accuracy_early_stop_validation")
if len(validation):
    display(validation.drop(columns=["experiment", "gpu_name", "batch_size", "error"]).round(4))  # noqa: F821
    ok = validation[validation.reachable.astype(bool)]
    display(accuracy.early_stop_summary(validation).round(3))  # noqa: F821
else:
    ok = validation
    print("no data yet: no run is longer than the smallest k")

# %% [markdown]
# **Reading the table.** Fitted on 5 or 10 epochs, the curves say little: they either level
# off below the target (`reachable = False`, the exponential's usual failure: it saturates
# early) or put it many epochs late (the power law's slow tail). Only with 15 epochs behind it
# does the predicted epoch come within a few epochs of the measured one for most runs — the
# summary gives the median errors in epochs and in percent of energy per form and k. A learning
# curve is an extrapolation: it is only as good as the epochs behind it, and a constant learning
# rate makes the measured accuracy itself noisy near the plateau (which is why the target is
# 99 %, not 100 %, of the best). Energy errors follow epoch errors one to one here: energy per
# epoch is flat within a run, so the energy to a target is the epochs to it times one number.

# %% [markdown]
# ## Early stop with an ensemble of learning curves and a calibrated interval
# One form is a bet on how the curve goes on; `greenai.learning_curves` fits seven (pow3, log-power,
# exp3, Janoschek, Weibull, MMF, ilog2: the forms Domhan et al. 2015 combine), weights them by BIC (the
# residual noise floored at that of a 10,000-image test set) and draws each form's parameters from its
# fit's covariance. The prediction is the weighted median of the forms' crossings; the interval comes from
# the draws, and is then calibrated on the *other* recorded runs at the same k (leave-one-run-out): their
# median log ratio of predicted to measured epoch shifts the prediction, and the 5 % and 95 % quantiles of
# their residuals set its width, cut at 10× the observed epochs. It is finite whenever the prediction is;
# `reachable = False` only when more than 95 % of the posterior never reaches the target within 10× the
# observed epochs. Epochs the first k already reached are the answer itself (`reached_within_fit`); the
# summary gives the energy error over all runs and over those not yet reached at k. Targets (issue 21):
# median |energy error| ≤ 20 % at k = 5 and ≤ 10 % at k = 10; intervals covering ≥ 80 % of runs.
# `greenai predict --target-accuracy A --observed CSV` runs the same prediction on a user's own first epochs.

# %%
ensemble = learning_curves.early_stop_validation(rows, ks=KS) if len(rows) else pd.DataFrame()
save_table(ensemble, "accuracy_ensemble_validation")
if len(ensemble):
    ensemble_summary = learning_curves.summary(ensemble)
    save_table(ensemble_summary, "accuracy_ensemble_summary")
    display(ensemble.drop(columns=["experiment", "gpu_name", "batch_size", "error"]).round(3))  # noqa: F821
    display(ensemble_summary.round(3))  # noqa: F821
else:
    ensemble_summary = pd.DataFrame()
    print("no data yet: no run is longer than the smallest k")

# %% [markdown]
# **Reading the ensemble.** What it adds over one form chosen by its later-half RMSE (the table above):
# every interval is finite, and calibrated on the other runs, so its coverage is near the 80 % target by
# construction, while the single form's covariance interval often ends at infinity. What it does not add is
# accuracy: from 5 or 10 epochs its median energy error misses the targets by a wide margin (the summary
# says by how much), and on these runs it is no better than the single `auto` form at k = 10 (compare the
# two summaries). The curves here run at a constant learning rate and level off noisily, and the
# 99 %-of-best target sits where a few tenths of a percent of accuracy move the epoch by many: the
# intervals are honest, and wide (median width in `median_interval_width_epochs`).

# %% [markdown]
# ## Early stop with a prior learned from the other recorded curves
# A learning curve fitted to one run's first epochs knows nothing of how curves like it go on; the other
# recorded runs do. `greenai.curve_prior` (in the spirit of LC-PFN, Adriaensen et al. 2023) matches the first
# k epochs by every other run's whole curve under an affine change of accuracy and a stretch of time, and
# takes the weighted median epoch at which the matches reach the target. Strictly leave-one-run-out: the
# held-out run is never a reference, nor used to choose how the matches are weighted (nested leave-one-out
# over six weightings) or to calibrate its conformal interval. Leave-model-out also drops every run of the
# held-out run's model (its run on the other dataset is its nearest neighbour). Same cases and targets as
# above; `accuracy_prior_summary` puts the per-run ensemble and both priors side by side.

# %%
if len(ensemble):
    prior = pd.concat([curve_prior.early_stop_validation(rows, ks=KS, model_out=m) for m in (False, True)],
                      ignore_index=True)
    save_table(prior, "accuracy_prior_validation")
    prior_summary = learning_curves.summaries(
        {"per-run ensemble": ensemble} | {f"population prior, {name}": g for name, g in prior.groupby("prior")})
    save_table(prior_summary, "accuracy_prior_summary")
    display(prior_summary.round(3))  # noqa: F821
else:
    prior_summary = pd.DataFrame()
    print("no data yet: no recorded curve to learn a prior from")

# %% [markdown]
# **Where the prior errs.** The signed median energy error of the runs not yet at the target after k epochs,
# by dataset: a negative error is a prediction that comes too early.

# %%
if len(prior_summary):
    prior_by_dataset = learning_curves.residuals_by(prior, ["prior", "k", "dataset"])
    save_table(prior_by_dataset, "accuracy_prior_residuals_by_dataset")
    display(prior_by_dataset.round(1))  # noqa: F821

# %% [markdown]
# **Reading the prior.** Against the other runs' curves the first epochs say more than against a form alone,
# but how much depends on k and on how the median is taken (`accuracy_prior_summary`). At k = 10 most
# Fashion-MNIST runs have already reached 99 % of their best: they count with an error of 0, which holds the
# median over all runs down; the median over the runs not yet there is the harder number, and both are in the
# summary. At k = 5 the errors split by dataset (the table above): the prior puts Fashion-MNIST's target late and
# CIFAR-10's early. Five epochs do not show how fast a dataset levels off, and the references of both datasets
# compete for every run. With 16 curves instead of 11 the k = 5 error rose: the weightings and the time-stretch grid
# were chosen when 11 curves were recorded, and these numbers move by several points with a run or two
# more or less on either side of the median.

# %% [markdown]
# ## A fresh test
# Everything above was measured on the runs the method was chosen on. `results/raw/accuracy_curves_fresh.csv` was
# recorded after the method, its weightings and the rule that picked it were frozen: SqueezeNet 1.1, ResNet50,
# EfficientNet-B0 and MnasNet 1.0 on Fashion-MNIST, and SqueezeNet 1.1, ResNet50 and MnasNet 1.0 on the first
# 20,000 CIFAR-10 training images, 30 epochs at 32 px, batch 256, bf16, as `accuracy_curves`; none of these models
# is among the references. EfficientNet-B0 on CIFAR-10, the eighth run of the grid, was measured a session later with
# the method still frozen.
# `curve_prior.fresh_validation` predicts each fresh run from its first k epochs with a prior built on the runs
# recorded before alone (references, weighting per k and conformal interval chosen by leave-one-run-out over them,
# as a user's prediction is made), against the same targets. A run at chance has no learning curve: the summary
# repeats the fresh numbers over the runs whose test accuracy leaves chance (`leaves_chance`: at least four epochs
# above 1 / classes + 0.02, what the prior needs of a reference), a split made after seeing the curves.
#
# A second fresh set, `accuracy_curves_fresh2` (DenseNet-121, MobileNetV3-Large, ConvNeXt-T and Swin-T on both
# datasets, families no recorded curve has), was chosen before any of its curves was recorded, and is predicted the
# same way from every curve recorded before it, the first fresh set included: the prior a user gets today. All eight
# of its runs are recorded. DenseNet-121, Swin-T and ConvNeXt-T on Fashion-MNIST ran on an NVIDIA H100 80GB HBM3, the
# other five on an NVIDIA H200 (`gpu_name` of each row). The card sets a run's energy per epoch, but both
# sides of the comparison use the run's own: the predicted energy is its first k epochs' energy carried on to the
# predicted epoch, the measured one its own sum to the measured epoch, and the prior compares accuracy against
# epochs or optimiser steps, never against energy. What is tested is when the curve reaches its target, on either
# card. The cell predicts the runs that are there; a set not recorded at all is said so.

# %%
FRESH_ALL, FRESH_LEARNING = "population prior, fresh", "population prior, fresh, runs that leave chance"
TYPICAL_FRESH = "typical epoch of the runs before, fresh (a yardstick)"
TYPICAL_SAME_FRESH = "typical epoch of the runs before on the run's dataset, fresh (a yardstick)"
FRESH_SETS = {  # each fresh set, in the order chosen: its name in tables and claims, its figure
    "accuracy_curves_fresh.csv": ("fresh", "fig_energy_to_accuracy_fresh"),
    "accuracy_curves_fresh2.csv": ("fresh2", "fig_energy_to_accuracy_fresh2"),
    "accuracy_curves_fresh3.csv": ("fresh3", "fig_energy_to_accuracy_fresh3"),
    "accuracy_curves_fresh4.csv": ("fresh4", "fig_energy_to_accuracy_fresh4"),
    "accuracy_curves_fresh5.csv": ("fresh5", "fig_energy_to_accuracy_fresh5"),
    "accuracy_curves_fresh6.csv": ("fresh6", "fig_energy_to_accuracy_fresh6"),
    "accuracy_curves_fresh7.csv": ("fresh7", "fig_energy_to_accuracy_fresh7"),
}
assert tuple(FRESH_SETS) == curve_prior.FRESH_SOURCES, "name every fresh set of curve_prior.FRESH_SOURCES here"
ANCHORED_FRESH = "candidate C4: the dataset's typical epoch moved toward the prior, fresh"
C4_FIRST_TEST = "accuracy_curves_fresh6.csv"  # C4 was frozen before this set was chosen; on earlier sets, hindsight
fresh_summaries, fresh_grid_runs, anchor_choices = {}, {}, []
for i, (source, (name, figure)) in enumerate(FRESH_SETS.items()):
    before = recorded[~recorded.source_file.isin(curve_prior.FRESH_SOURCES[i:])]  # recorded before this set
    this = recorded[recorded.source_file == source]
    if this.empty or before.empty:
        print(f"{name}: no curves recorded yet (results/raw/{source}, campaign experiment "
              f"{source.removesuffix('.csv')}): no fresh test")
        continue
    fresh = curve_prior.fresh_validation(before, this, ks=KS)
    fresh["leaves_chance"] = curve_prior.leaves_chance(fresh, this)
    save_table(fresh, f"accuracy_prior_{name}_validation")
    typical = curve_prior.typical_epoch_validation(before, ks=KS, fresh_rows=this)
    typical_same = curve_prior.typical_epoch_validation(before, ks=KS, fresh_rows=this, same_dataset=True)
    anchored, choice = curve_prior.anchored_validation(before, this, ks=KS)
    anchor_choices.append(choice.assign(fresh_set=name))
    hindsight = i < curve_prior.FRESH_SOURCES.index(C4_FIRST_TEST)
    fresh_summaries[name] = learning_curves.summaries({
        FRESH_ALL: fresh, FRESH_LEARNING: fresh[fresh.leaves_chance], TYPICAL_FRESH: typical,
        TYPICAL_SAME_FRESH: typical_same, ANCHORED_FRESH + (" (hindsight)" if hindsight else ""): anchored})
    save_table(fresh_summaries[name], f"accuracy_prior_{name}_summary")
    fresh_grid_runs[name] = len(EXPERIMENTS[source.removesuffix(".csv")].specs())
    print(f"{name}: {len(accuracy.runs(this))} of the grid's {fresh_grid_runs[name]} runs recorded, predicted from "
          f"the {len(accuracy.runs(before))} recorded before")
    display(fresh_summaries[name].round(3))  # noqa: F821
    display(fresh.pivot_table(index=["dataset", "model", "leaves_chance", "measured_epoch"], columns="k",  # noqa: F821
                              values="energy_error_pct").round(1))
    display(learning_curves.residuals_by(fresh, ["k", "dataset"]).round(1))  # noqa: F821
    save_figure(ch4.fig_energy_to_accuracy_fresh(this, fresh, ks=KS[:2]), figure)
anchor_choice = pd.concat(anchor_choices, ignore_index=True) if anchor_choices else pd.DataFrame(
    columns=["k", "weight", "spread", "chosen", "fresh_set"])
save_table(anchor_choice, "accuracy_anchor_choice")

# %% [markdown]
# **Reading the fresh test.** The figure shows each fresh run: its measured curve against cumulative energy, the
# energy at which it first reached 99 % of its best (dashed) and the predictions from its first 5 and 10 epochs
# with their intervals (bars; the k-th epoch ringed). Two of the eight runs never learn: SqueezeNet 1.1 on
# Fashion-MNIST stays at chance with its training loss at ln 10, so "99 % of its best" is reached at epoch 1 and
# counts as an error of 0 at every k; MnasNet 1.0 on CIFAR-10 lowers its training loss but its test accuracy stays
# at chance, and its target is a single epoch's spike to 0.116 at epoch 25. MnasNet 1.0 on Fashion-MNIST sits at
# chance until epoch 22 and is still rising at epoch 30, its last recorded epoch and the epoch of its target.
# MnasNet's batch norm has a momentum of 0.0003 (torchvision's, against the usual 0.1), so the running statistics
# that test mode uses still weigh their initial values by 0.9997^steps: about half after the 2,370 steps of the
# CIFAR-10 run, an eighth by the end of the Fashion-MNIST one, where its test accuracy starts to rise.
#
# * **k = 5: missed, by 2.2 points.** The median |energy error| over all eight runs is 22.2 % (target ≤ 20 %),
#   31.5 % over the six runs that leave chance. With seven runs, before EfficientNet-B0 on CIFAR-10 was added, it
#   was 19.4 %: met by 0.6 points only because the two runs at chance (errors 0 % and +1 %) held the median down.
# * **k = 10: missed, by 16.1 points.** 26.1 % over all eight runs (target ≤ 10 %), 36.0 % over the six that learn.
#   EfficientNet-B0 on CIFAR-10 is put at epoch 51 against a measured 28 (+97 % energy), outside its interval.
#   In-sample the k = 10 target was met (7.7 % leave-run-out, 7.9 % leave-model-out), but there most Fashion-MNIST
#   runs had already reached their target by epoch 10 and counted with an error of 0; the fresh runs reach theirs
#   late (epoch 21 to 30, except ResNet50 on Fashion-MNIST at 11 and SqueezeNet 1.1 at 1), so only one of eight is
#   reached by k = 10.
# * **k = 15 does not help:** 49.8 % over all runs, 72.3 % over the six not yet at the target; EfficientNet-B0 and
#   MnasNet 1.0 on both datasets are put 67 % to 86 % too late.
# * **Coverage: met, by being broad.** The calibrated intervals hold the measured epoch for all eight runs at k = 5
#   and 15 and seven of eight at k = 10 (87.5 %, target ≥ 80 %), with a median width of 35.5 epochs at k = 5 (more
#   than the 30 recorded) and 23.5 at k = 10.
#
# **Where it errs.** Fashion-MNIST targets are put late at every k (signed median +39.5 % at k = 5, +28.7 % at
# k = 10), as in-sample; CIFAR-10 is early at k = 5 (−11.9 %) and late at k = 10 (+10.3 %, EfficientNet-B0 +97 %,
# ResNet50 +43 %). Eight runs, two of them at chance, are a small test, but every addition so far has moved the
# medians away from the targets: the k = 10 accuracy measured in-sample does not carry over to models the prior has
# not seen.
#
# **Reading the second fresh test.** All eight runs learn. Their targets lie at epochs 9 to 29: on Fashion-MNIST
# ConvNeXt-T reaches its target at epoch 9 and Swin-T at 10, so both count as an error of 0 from k = 10 on, and all
# four Fashion-MNIST runs (epochs 9, 10, 13 and 14) from k = 15 on; the four CIFAR-10 runs reach theirs at epochs 22
# to 29.
#
# * **k = 5: missed, by 5.6 points.** The median |energy error| is 25.6 % against a target of ≤ 20 %. With seven
#   runs it was 19.98 %; the eighth, ConvNeXt-T on Fashion-MNIST, is put at epoch 21 against a measured 9 (+148 %),
#   and moves the median to the mean of the fourth and fifth errors (MobileNetV3-Large on Fashion-MNIST −20 %,
#   ConvNeXt-T on CIFAR-10 −31 %). The errors spread from −31 % to +148 %; the two largest are the two runs that
#   learn Fashion-MNIST fastest, ConvNeXt-T and Swin-T (+107 %, put at epoch 20 against 10).
# * **k = 10: met, by 4.3 points, but by the runs already there.** 5.7 % (target ≤ 10 %), with ConvNeXt-T and
#   Swin-T on Fashion-MNIST at their target by epoch 10 and counted as 0; over the six runs not yet at their target
#   it is 10.4 %, 0.4 points over. The largest errors are early: MobileNetV3-Large on CIFAR-10 −29 %, DenseNet-121
#   on CIFAR-10 −18 %, DenseNet-121 on Fashion-MNIST −13.5 %.
# * **k = 15: 0.2 %, but only because the four Fashion-MNIST runs count as 0** and Swin-T on CIFAR-10 is +0.4 %.
#   Over the four CIFAR-10 runs not yet there it is 22.8 % (ConvNeXt-T put 93 % late, MobileNetV3-Large 27 %
#   early), worse than at k = 10: as on the first set, more epochs do not bring the prediction of a run not yet at
#   its target steadily closer.
# * **Coverage: met, again by breadth.** Every interval holds the measured epoch at k = 5 and 10, seven of eight at
#   k = 15 (87.5 %, target ≥ 80 %; MobileNetV3-Large on CIFAR-10, 16 to 28 epochs against a measured 29), but the
#   median interval is 31 epochs wide at k = 5, more than were recorded, and 30 at k = 10.
#
# **Where it errs.** On Fashion-MNIST the prior's late bias is back with the eighth run (signed median +47 % at
# k = 5: ConvNeXt-T +148 %, Swin-T +107 %, DenseNet-121 −13 %, MobileNetV3-Large −20 %); on CIFAR-10 it is centred
# (−2.0 %). The two runs put most late are the two that reach their targets earliest (epochs 9 and 10). Over both
# fresh sets (sixteen runs of eight models, all chosen before their curves were recorded) the k = 5 target is missed
# (22.2 % and 25.6 %), the k = 10 one once missed (26.1 %) and once met only through the runs already at their
# target (5.7 %, 10.4 % over those not yet there), and the intervals cover by being about as wide as the recorded
# runs are long. Energy to accuracy from a few epochs is not shown in general.

# %% [markdown]
# **Reading the third fresh test.** `accuracy_curves_fresh3` holds four models of held-out families of the energy
# predictor (VoVNet-19 with depthwise convolutions, PoolFormer-S12, PVTv2-B1, NF-ResNet-26), chosen by a rule fixed
# before it was applied (`FRESH3_CURVE_MODELS` in `greenai.experiments.curve_sets`) with the prior and the yardstick
# unchanged since the second set. All eight runs are recorded, on an NVIDIA H100 80GB HBM3: the Fashion-MNIST half
# with the code of `5bd49eb`, the CIFAR-10 half later with that of `0ba3d93` (the prior unchanged between). All
# eight learn: best test accuracy 0.885 to 0.913 on Fashion-MNIST, 0.47 to 0.66 on CIFAR-10 (20,000 training images
# at 32 px), their targets reached at epochs 11 to 25 and 22 to 28.
#
# * **k = 5: met, 6.9 %** (target ≤ 20 %). On Fashion-MNIST VoVNet, PoolFormer and PVTv2 are put within 2 % of
#   their measured energy, NF-ResNet-26 32 % late; on CIFAR-10 the four lie between −21 % (NF-ResNet) and +22 %
#   (PVTv2).
# * **k = 10: missed, 27.0 %** (target ≤ 10 %): the four Fashion-MNIST runs are put late by 32 to 94 %, none at
#   its target by epoch 10; on CIFAR-10 VoVNet and NF-ResNet are met within 3 %, PoolFormer and PVTv2 put 19 and
#   22 % late.
# * **k = 15: 15.2 %**; PoolFormer-S12 on Fashion-MNIST is put at epoch 72 against a measured 25 (+192 %, outside
#   its interval), on CIFAR-10 at 37 against 27 (+40 %).
# * **Coverage: 100 % at k = 5 and 10, 88 % at k = 15** (target ≥ 80 %: met), with median widths of 28, 30 and
#   23 epochs: the intervals cover by being about as wide as the runs are long.
#
# The late bias on Fashion-MNIST is the one both earlier fresh sets showed; on CIFAR-10 the errors go both ways and
# shrink from k = 5 to k = 10 for two of the four. Over the three fresh sets (24 runs of twelve models) the k = 5
# target is missed twice (22.2 %, 25.6 %) and met once (6.9 %), the k = 10 one missed twice (26.1 %, 27.0 %) and
# met once through runs already at their target (5.7 %): energy to accuracy from a few epochs is still not shown
# in general.

# %% [markdown]
# **Reading the fourth fresh test.** `accuracy_curves_fresh4` walks the third set's rule on past the four it took:
# SE-ResNet-18 (the original SENet variant), StarNet-S2, MambaOut-Femto and FasterNet-T1, chosen before any of their
# curves was recorded (`FRESH4_CURVE_MODELS`), with the prior unchanged since the second set and the second
# yardstick below (the run's dataset alone) fixed in the same commit, before measuring. All eight runs are recorded
# on an NVIDIA H100 80GB HBM3 with the code of `390e2cd`. All eight learn: best test accuracy 0.910 to 0.917 on
# Fashion-MNIST, 0.62 to 0.66 on CIFAR-10, their targets reached at epochs 7 to 12 and 23 to 27.
#
# * **k = 5: missed, 24.8 %** (target ≤ 20 %, by 4.8 points). Fashion-MNIST is put late (StarNet-S2 +56 %,
#   MambaOut +32 %, SE-ResNet-18 +23 %, FasterNet +6 %), CIFAR-10 early (−13 to −37 %).
# * **k = 10: missed, 19.5 %** (target ≤ 10 %, by 9.5 points; 23.0 % over the six runs not yet at their target).
#   StarNet-S2 and SE-ResNet-18 on Fashion-MNIST are at their targets by epoch 10 and count as 0; the other two
#   are put 19 and 33 % late, and all four CIFAR-10 runs early, by 18 to 39 %.
# * **k = 15: 1.2 %**, the four Fashion-MNIST runs counting as 0; 11.8 % over the four CIFAR-10 runs.
# * **Coverage: 100 % at every k** (target ≥ 80 %: met), with median widths of 21, 16 and 7 epochs.
# * **The yardsticks.** The typical epoch of all the runs before gives 44.5 % at k = 5 and 14.1 % at k = 10. That
#   of the runs before on the run's own dataset, on its first fresh test, gives 12.2 % at k = 5 (met) and 10.6 %
#   at k = 10 (missed by 0.6 points; 15.9 % over the six not yet at their target): better than the prior at both.
#
# Fashion-MNIST put late is what all four fresh sets show; CIFAR-10 put early is what the first set showed at k = 5
# and the pooled runs show (the noise-floor section below), while on the second and third sets its errors went both
# ways. The prior pulls a run towards the population's typical course, and the dataset that reaches its target early
# (Fashion-MNIST) is where that costs most. Over the four fresh sets (32 runs of sixteen models) the k = 5 target is
# met once (6.9 %; missed with 22.2, 25.6 and 24.8 %) and the k = 10 one once, through runs already at their target
# (5.7 %; missed with 26.1, 27.0 and 19.5 %). Energy to accuracy from a few epochs is not shown in general, and
# what the run's dataset alone says does better than what the prior reads from its first epochs.

# %% [markdown]
# **Reading the fifth fresh test.** `accuracy_curves_fresh5` walks the same rule on past the eight the third and
# fourth sets took: QuickNAT, HighResNet, AttentionUNet and RegUNet, MONAI's segmentation and registration networks
# pooled into classifiers (`FRESH5_CURVE_MODELS`), chosen before any of their curves was recorded, with the prior
# unchanged since the second set and both yardsticks unchanged since the fourth. All eight runs are recorded on an
# NVIDIA H100 80GB HBM3 with the code of `3562fa2`. All eight learn: best test accuracy 0.917 to 0.926 on
# Fashion-MNIST, 0.46 to 0.69 on CIFAR-10, their targets reached at epochs 7 to 15 and 25 to 30.
#
# * **k = 5: met, 9.1 %** (target ≤ 20 %). Fashion-MNIST is put late again (AttentionUNet +38 %, RegUNet +28 %,
#   HighResNet +9 %, QuickNAT +1 %); on CIFAR-10 three of four lie within 10 %, RegUNet 44 % early.
# * **k = 10: missed, 20.4 %** (target ≤ 10 %, by 10.4 points; 41.5 % over the six runs not yet at their target).
#   QuickNAT and AttentionUNet on CIFAR-10 are put at epoch 12 against a measured 30 (−60 and −58 %, outside their
#   intervals): both sit at chance for their first four or five epochs and then climb steadily to the last epoch,
#   and from ten epochs the prior reads them as curves near their end. HighResNet on Fashion-MNIST is put at 22
#   against 11 (+100 %).
# * **k = 15: 5.9 %**, the four Fashion-MNIST runs counting as 0; 33.6 % over the four CIFAR-10 runs (QuickNAT now
#   put 73 % late).
# * **Coverage: 88 % at k = 5 and 15, 75 % at k = 10** (target ≥ 80 %: missed by 5 points, the two CIFAR-10 runs
#   above), with median widths of 18, 14 and 6.5 epochs: narrower than on any earlier fresh set, and for the first
#   time not wide enough.
# * **The yardsticks.** The typical epoch of all the runs before gives 34.4 % at k = 5 and 13.0 % at k = 10. That of
#   the runs before on the run's own dataset, on its second fresh test, gives 4.4 % and 5.9 % (8.4 % over the six
#   not yet at their target), coverage 100 %: both targets met, and better than the prior at both k again.
#
# Over the five fresh sets (40 runs of twenty models) the k = 5 target is met twice (6.9 and 9.1 %; missed with 22.2,
# 25.6 and 24.8 %) and the k = 10 one once, through runs already at their target (5.7 %; missed with 26.1, 27.0,
# 19.5 and 20.4 %). The dataset-only yardstick, fixed before the fourth and fifth sets were measured, met both
# targets on the fifth and missed k = 10 by 0.6 points on the fourth. What the first epochs add to knowing the
# dataset is, so far, negative.

# %% [markdown]
# ## Candidate C4, frozen before the sixth fresh set
# Five fresh sets say that a run's dataset tells more than its first epochs read against every curve. Candidate C4
# (`curve_prior.anchored_validation`) starts from the dataset and lets the curve move it: a run is put at
# T^(1−β) · P^β, T the typical epoch of the recorded runs of its dataset not yet at their target after k epochs (the
# dataset-only yardstick), P the prior's epoch from its first k epochs. β, one of 0, 0.25, 0.5, 0.75 and 1 per k, is
# chosen on the recorded runs alone: each is predicted leaving its model out, and the β whose log ratios scatter
# least is kept (the smaller on a tie), its residuals giving the conformal interval as for the prior. β = 0 is the
# yardstick, β = 1 the prior. It is unreachable only where the prior is.
#
# C4 was written, and the sixth set's models chosen by the third set's rule walked on (MONAI's SegResNet, VQ-VAE,
# AutoEncoder and BasicUNet: `FRESH6_CURVE_MODELS`), in one commit before any of their curves was measured; its
# lines in the first five sets' summaries are hindsight, its choice made from the runs before each set. The table
# below gives each choice: the leave-model-out spread of every β on the runs recorded before the set.

# %%
display(anchor_choice.pivot_table(index=["fresh_set", "k"], columns="weight", values="spread").round(3))  # noqa: F821

# %% [markdown]
# **Reading the sixth fresh test, C4's first.** All eight runs were measured on an H100 after C4 and the set were
# frozen (`git_commit` of `accuracy_curves_fresh6.meta.json`). All eight learn; on Fashion-MNIST they reach their
# targets at epochs 6 to 18, so three of four count as an error of 0 from k = 10 on; on CIFAR-10 at epochs 29 and 30,
# the last recorded (`accuracy_prior_fresh6_validation`, `accuracy_prior_fresh6_summary`).
#
# * **C4 meets both energy targets and the coverage target here, the first fresh set on which any method does.**
#   Median |energy error| 13.9 % at k = 5 (target ≤ 20 %) and 5.5 % at k = 10 (≤ 10 %; 11.8 % over the five runs
#   not yet at their target), every interval holding the measured epoch at k = 5, 10 and 15.
# * **At k = 10 C4 is the dataset-only yardstick.** The runs before chose β = 0.25 at k = 5, 0 at k = 10 and 0.5
#   at k = 15; at k = 10 C4's predictions are exactly the same-dataset typical epoch's (5.5 %). What met the
#   target is knowing the dataset, which the prior, matching a run's first epochs against every curve, does not
#   recover: the prior gives 13.8 % at k = 5, inside the target for the second time in six sets, and 17.1 % at
#   k = 10, outside it.
# * **The intervals cover by breadth**: a median width of 26 epochs at k = 5 and 21 at k = 10 on runs of 30, about
#   what the yardsticks give. A user learns little from them yet.
# * **Where the prior errs** (the pivot of the fresh tests' cell): at k = 5 it puts the Fashion-MNIST runs late
#   (AutoEncoder, BasicUNet and VQ-VAE +50 to +69 %), at k = 10 the CIFAR-10 runs, whose targets sit at the last
#   recorded epoch, both ways (BasicUNet +23 %, SegResNet −33 %).
#
# One set of eight runs, four models of one source, half of them already at their target by k = 10, is one test:
# C4 passes it, and its k = 10 half is a yardstick that was chosen after the first three fresh sets were seen.
# `greenai predict --observed` still answers with the prior (C0); whether it should use C4 is for a seventh fresh
# set, frozen before it is measured, to say. That set is chosen (`accuracy_curves_fresh7`: MONAI's UNet and DynUNet,
# pytorchcv's LinkNet and CenterNet, the third set's rule walked on; `FRESH7_CURVE_MODELS`) with C4 unchanged, and
# not yet measured: the fresh-test cell above says so until its rows are recorded.

# %% [markdown]
# ## How close can a prediction come? The prior a user gets now, and the noise floor
# Two questions the fresh test leaves open. First, what a user's prediction is worth today: `greenai predict
# --target-accuracy A --observed CSV` learns its prior from *every* recorded curve, the fresh runs included, so the
# validation that matches it is leave-model-out over all of them (`population prior, all runs, leave-model-out`;
# a run at chance has no curve and is no case). This is in-sample for the method: it was frozen before the fresh
# runs, but nothing new is predicted here.
#
# Second, how much of the error any method must keep. The target is the first *measured* epoch at 99 % of the
# run's best, and test accuracy moves by a few tenths of a percent from epoch to epoch, so the epoch is itself a
# noisy draw. `learning_curves.noise_floor` gives every run the best possible knowledge short of that draw: its
# whole curve, fitted to all its recorded epochs and extended, and its noise (the robust sd of its residuals). Its
# prediction is the median first epoch at which that curve plus independent normal noise reaches the target, its
# interval the central 90 % (`first_crossing_quantiles`). The floor is optimistic: the curve is fitted to the
# very epochs whose crossing it predicts. `smooth_epoch` is the same curve's crossing without noise, the answer a
# predictor that extrapolates a smooth curve aims at.

# %%
if len(ensemble):  # as the prior above: some run is longer than the smallest k
    pooled = curve_prior.early_stop_validation(recorded, ks=KS, model_out=True)
    floor = learning_curves.noise_floor(recorded, ks=KS)
    save_table(floor, "accuracy_noise_floor")
    POOLED, FLOOR = "population prior, all runs, leave-model-out", "noise floor: whole curve and noise known"
    TYPICAL = "typical epoch of the other models' runs, leave-model-out (a yardstick)"
    TYPICAL_SAME = "typical epoch of the other models' runs on the run's dataset, leave-model-out (a yardstick)"
    typical = curve_prior.typical_epoch_validation(recorded, ks=KS)
    typical_same = curve_prior.typical_epoch_validation(recorded, ks=KS, same_dataset=True)
    floor_summary = learning_curves.summaries({POOLED: pooled, FLOOR: floor, TYPICAL: typical,
                                               TYPICAL_SAME: typical_same})
    save_table(floor_summary, "accuracy_noise_floor_summary")
    display(floor_summary.round(3))  # noqa: F821
    pending = floor[~floor.reached_within_fit.astype(bool)]  # runs not yet at the target after k epochs
    pending = pending.assign(floor_epoch_error_pct=100.0 * pending.epoch_error / pending.measured_epoch,
                             smooth_epoch_error_pct=100.0 * (pending.smooth_epoch / pending.measured_epoch - 1.0))
    display(pending.groupby(["k", "dataset"]).agg(  # noqa: F821 - signed medians
        runs=("model", "size"), noise_sd=("noise_sd", "median"),
        floor_epoch_error_pct=("floor_epoch_error_pct", "median"),
        smooth_epoch_error_pct=("smooth_epoch_error_pct", "median")).round(3))
    display(learning_curves.residuals_by(pooled, ["k", "dataset"]).round(1))  # noqa: F821
    save_figure(ch4.fig_energy_to_accuracy_floor(floor, pooled, k=KS[0]), "fig_energy_to_accuracy_floor")
else:
    floor_summary = pd.DataFrame()
    print("no data yet: no run is longer than the smallest k")

# %% [markdown]
# **Reading the floor.** The tables above carry the numbers; what they say:
#
# * **The noise does not forbid the targets.** Knowing the whole curve and its noise, the median |energy error| is
#   far below 20 % at k = 5 and below 10 % at k = 10 (`accuracy_noise_floor_summary`), and its 90 % interval is a
#   few epochs wide where the prior's spans tens. What the first epochs lack is the curve's course, not luck.
# * **Noise pulls the target earlier.** Without noise the fitted curves reach 99 % of the best measured accuracy
#   well after it was first measured (`smooth_epoch_error_pct`, signed median, most of all on CIFAR-10, whose
#   curves still creep up at epoch 30): the best of 30 noisy epochs sits above the curve, and its 99 % is first
#   met by an upward draw. A predictor that extrapolates a smooth curve, as the per-run ensemble does, comes late
#   for that reason alone.
# * **The prior a user gets now** (leave-model-out over all recorded runs, the fresh ones included) misses both
#   targets, the k = 10 one by less over all runs than over the runs not yet at the target at k = 10. By dataset
#   (the last table) it still puts Fashion-MNIST late and CIFAR-10 early at k = 5. The figure shows the same per
#   run against the floor.
# * **A yardstick that never looks at the run.** Every run predicted at the typical epoch of the other models'
#   runs (the geometric median of their measured epochs at that k, its interval calibrated as the prior's:
#   `curve_prior.typical_epoch_validation`) gives 30.2 % at k = 5 and 11.3 % at k = 10 over all runs, leaving the
#   model out, against the prior's 23.0 % and 11.6 %: worse at k = 5, about as good at k = 10, and inside neither
#   target. Before the sixth fresh set was recorded it was 26.2 % and 12.9 % against the prior's 22.8 % and 13.9 %,
#   before the fifth 26.1 % and 11.5 % against 23.0 % and 17.0 %, before
#   the fourth 24.9 % and 11.5 % against 26.4 % and 16.7 %, before the third 34.9 % and 8.4 % against 39.6 % and
#   16.0 %: with fifty-odd runs these medians move by several points with four runs more. On the fresh sets,
#   predicted from the runs recorded before them, it is worse than the prior at k = 5 (44.5, 40.2, 15.8, 44.5,
#   34.4 and 34.7 % against 22.2, 25.6, 6.9, 24.8, 9.1 and 13.8 %: `accuracy_prior_fresh_summary` to
#   `accuracy_prior_fresh6_summary`) and mixed at k = 10 (6.1, 12.2, 19.3, 14.1, 13.0 and 16.0 % against 26.1, 5.7,
#   27.0, 19.5, 20.4 and 17.1 %).
#   Knowing only when runs of 30 epochs usually reach 99 % of their best comes close to the targets in-sample; a
#   method is to be read against this yardstick, not against the targets alone.
# * **A second yardstick: the run's dataset alone.** The same typical epoch, drawn only from the other models'
#   runs of the run's own dataset (`typical_epoch_validation(..., same_dataset=True)`; from all runs where fewer
#   than three of that dataset are left) gives 13.8 % at k = 5 and 6.1 % at k = 10 over all runs, leaving the
#   model out (9.8 % over the runs not yet at their target at k = 10): inside both targets, where the prior is
#   inside neither. CIFAR-10 runs of 30 epochs reach 99 % of their best late (median epoch 27) and Fashion-MNIST
#   runs early (median 10.5), so knowing the dataset removes most of what separates the runs; the prior, which
#   reads a run's first epochs against every curve, does not recover it (by dataset, the last table, it puts
#   Fashion-MNIST late and CIFAR-10 early; matching against the run's own dataset only, candidate C1, gave 28.9 %
#   and 17.1 % before the fourth set). This yardstick was added after the first three fresh sets were seen, so its
#   lines in their summaries are hindsight (3.4, 15.8 and 23.6 % at k = 5; 5.5, 11.5 and 17.4 % at k = 10). On the
#   fourth, its first test, it gives 12.2 % and 10.6 % against the prior's 24.8 % and 19.5 %, on the fifth 4.4 % and
#   5.9 % against 9.1 % and 20.4 %, on the sixth 13.2 % and 5.5 % against 13.8 % and 17.1 %. It is no predictor
#   a user can take elsewhere: it knows nothing of a dataset without recorded curves, nor of runs of another
#   length; it says where the prior has to get to before reading a run's first epochs is worth anything.

# %% [markdown]
# ## Claims
# The thesis gives one number in 4.2.3 (CIFAR-100 accuracy around 50 %) and two statements
# without numbers (accuracy levels off; no energy-to-accuracy model exists). Ours: the
# best CIFAR-100 accuracy where recorded (else NaN, with CIFAR-10's in the note), the gain in
# accuracy over the last third of the recorded epochs (largest over runs), and the early-stop
# prediction error in energy.

# %%
claim_rows = []
best = table.groupby("dataset").best_accuracy.max() if len(table) else pd.Series(dtype=float)
c10 = table[table.dataset == "cifar10"]
c10_note = ("; ".join(f"{r.model} {r.best_accuracy:.3f}" for r in c10.itertuples()) if len(c10)
            else "not recorded yet")
claim_rows.append(dict(
    claim_id="cifar100_accuracy_about_half", section="4.2.3",
    description="best test accuracy on CIFAR-100 (AlexNet, ResNet18)", thesis_value=0.5,
    our_value=float(best.get("cifar100", NAN)), unit="fraction",
    note=("measured on CIFAR-100" if "cifar100" in best else
          f"CIFAR-100 not obtainable offline; CIFAR-10 stands in (10 classes, not comparable): {c10_note}")))

# the campaign's 30-epoch runs of the thesis' setting where recorded (a 10-epoch run says little about a
# plateau): AlexNet and ResNet18 at 224 px; the 32 px runs of accuracy_curves test the ensemble above
thesis_runs = table.source_file.str.startswith("accuracy_") & ~table.source_file.str.startswith("accuracy_curves")
long_runs = table[thesis_runs] if len(campaign_rows) else table
gains = {f"{r.model}/{r.dataset}/{r.precision}": accuracy.late_accuracy_gain(accuracy.run_rows(rows, r))
         for _, r in long_runs.iterrows()}
claim_rows.append(dict(
    claim_id="4.2.3-accuracy-plateau", section="4.2.3",
    description="test accuracy gained over the last third of the recorded epochs (largest over the longest runs)",
    thesis_value=NAN, our_value=max(gains.values()) if gains else NAN, unit="fraction",
    note="thesis: accuracy stops improving (Figs 4.17-4.20, no numbers); ours per run: "
         + ", ".join(f"{k} {v:+.3f}" for k, v in gains.items())))
k_ref = int(ok.k.max()) if len(ok) else None
mine = validation[validation.form == accuracy.DEFAULT_FORM]
err = (ok[(ok.k == k_ref) & (ok.form == accuracy.DEFAULT_FORM)].energy_error_pct.abs().median()
       if k_ref is not None else NAN)
claim_rows.append(dict(
    claim_id="energy_to_accuracy_model", section="4.2.3",
    description=f"median |error| of the energy to 99 % of best accuracy, predicted from the first "
                f"{k_ref if k_ref else 'k'} epochs ({accuracy.DEFAULT_FORM} curve)",
    thesis_value=NAN, our_value=float(err) if err == err else NAN, unit="%",
    note="thesis: no energy model considering accuracy could be proposed; "
         + (f"{int((mine.k == k_ref).sum())} validation cases at k = {k_ref}, "
            f"{int(mine[mine.k == k_ref].reachable.astype(bool).sum())} reachable" if len(ok) else "no data yet")))


def target_verdict(value: float, goal: float, above: bool = False) -> str:
    """'met', or 'missed by …' (points of a percentage, or of a fraction in percent with ``above``)."""
    if value != value:
        return "no value"
    if (value >= goal) if above else (value <= goal):
        return "met"
    return f"missed by {100 * (goal - value):.0f} points" if above else f"missed by {value - goal:.1f} points"


for r in ensemble_summary.itertuples():
    goal = r.target_energy_error_pct
    claim_rows.append(dict(
        claim_id=f"energy_to_accuracy_ensemble_k{r.k}", section="4.2.3",
        description=f"median |error| of the energy to 99 % of best accuracy, learning-curve ensemble fitted on "
                    f"the first {r.k} epochs (all recorded runs)",
        thesis_value=NAN, our_value=r.median_abs_energy_error_pct, unit="%",
        note=(f"{r.runs} runs, {r.reachable} reachable; {r.not_yet_reached} not yet at the target after {r.k} "
              f"epochs: {r.median_abs_energy_error_pct_not_yet_reached:.1f} %; calibrated interval covers "
              f"{r.interval_coverage:.0%} (target 80 %: {'met' if r.coverage_target_met else 'missed'})"
              + (f"; target <= {goal:g} %: {target_verdict(r.median_abs_energy_error_pct, goal)}"
                 if goal == goal else ""))))
for r in prior_summary[prior_summary.method != "per-run ensemble"].itertuples() if len(prior_summary) else ():
    if r.method.endswith("leave-model-out"):
        continue
    out = prior_summary[(prior_summary.method == "population prior, leave-model-out") & (prior_summary.k == r.k)]
    goal = r.target_energy_error_pct
    claim_rows.append(dict(
        claim_id=f"energy_to_accuracy_prior_k{r.k}", section="4.2.3",
        description=f"median |error| of the energy to 99 % of best accuracy, prior learned from the other recorded "
                    f"curves, first {r.k} epochs (leave-one-run-out)",
        thesis_value=NAN, our_value=r.median_abs_energy_error_pct, unit="%",
        note=(f"{r.runs} runs; not yet at the target after {r.k} epochs: "
              f"{r.median_abs_energy_error_pct_not_yet_reached:.1f} %; interval covers {r.interval_coverage:.0%}"
              + (f"; target <= {goal:g} %: {'met' if r.energy_target_met else 'missed'}" if goal == goal else "")
              + (f"; leave-model-out {out.median_abs_energy_error_pct.iloc[0]:.1f} %, covers "
                 f"{out.interval_coverage.iloc[0]:.0%}" if len(out) else ""))))

for name, fresh_summary in fresh_summaries.items():
    learning_runs = fresh_summary[fresh_summary.method == FRESH_LEARNING].set_index("k")
    everything = fresh_summary[fresh_summary.method == FRESH_ALL]
    for r in everything.itertuples():
        goal = r.target_energy_error_pct
        sub = learning_runs.loc[r.k] if r.k in learning_runs.index else None
        claim_rows.append(dict(
            claim_id=f"energy_to_accuracy_{name}_k{r.k}", section="4.2.3",
            description=f"median |error| of the energy to 99 % of best accuracy, prior learned from the curves "
                        f"recorded before, first {r.k} epochs of runs recorded after the method was frozen "
                        f"(fresh test, accuracy_curves_{name})",
            thesis_value=NAN, our_value=r.median_abs_energy_error_pct, unit="%",
            note=(f"{r.runs} fresh runs ({fresh_grid_runs[name]} in the grid); not yet at the target after {r.k} "
                  f"epochs ({r.not_yet_reached}): "
                  f"{r.median_abs_energy_error_pct_not_yet_reached:.1f} %; interval covers {r.interval_coverage:.0%}"
                  + (f"; target <= {goal:g} %: {target_verdict(r.median_abs_energy_error_pct, goal)}"
                     if goal == goal else "")
                  + ("" if sub is None else
                     f"; the {sub.runs} runs that leave chance: {sub.median_abs_energy_error_pct:.1f} % "
                     f"(not yet at the target: {sub.median_abs_energy_error_pct_not_yet_reached:.1f} %)"
                     + (f", target {target_verdict(sub.median_abs_energy_error_pct, goal)}" if goal == goal else "")))))
    worst = everything.loc[everything.interval_coverage.idxmin()]
    claim_rows.append(dict(
        claim_id=f"energy_to_accuracy_{name}_coverage", section="4.2.3",
        description=f"interval coverage of the energy to 99 % of best accuracy on the fresh runs of "
                    f"accuracy_curves_{name}, prior learned from the curves recorded before (lowest over the windows k)",
        thesis_value=NAN, our_value=float(worst.interval_coverage), unit="fraction",
        note=(f"target >= 80 %: {target_verdict(worst.interval_coverage, worst.target_coverage, above=True)}; "
              + ", ".join(f"k = {r.k}: {r.interval_coverage:.0%} of {r.runs}" for r in everything.itertuples())
              + "; runs that leave chance: "
              + ", ".join(f"k = {k}: {r.interval_coverage:.0%} of {r.runs}" for k, r in learning_runs.iterrows()))))
for name, fresh_summary in fresh_summaries.items():  # C4 where it was frozen before the set (not hindsight)
    anchored_summary = fresh_summary[fresh_summary.method == ANCHORED_FRESH]
    for r in anchored_summary.itertuples():
        goal = r.target_energy_error_pct
        claim_rows.append(dict(
            claim_id=f"energy_to_accuracy_c4_{name}_k{r.k}", section="4.2.3",
            description=f"median |error| of the energy to 99 % of best accuracy, candidate C4 (the dataset's typical "
                        f"epoch moved toward the prior, its weight chosen on the curves recorded before), first "
                        f"{r.k} epochs of runs recorded after it was frozen (fresh test, accuracy_curves_{name})",
            thesis_value=NAN, our_value=r.median_abs_energy_error_pct, unit="%",
            note=(f"{r.runs} fresh runs; not yet at the target after {r.k} epochs ({r.not_yet_reached}): "
                  f"{r.median_abs_energy_error_pct_not_yet_reached:.1f} %; interval covers {r.interval_coverage:.0%}, "
                  f"median width {r.median_interval_width_epochs:.1f} epochs"
                  + (f"; target <= {goal:g} %: {target_verdict(r.median_abs_energy_error_pct, goal)}"
                     if goal == goal else ""))))
if len(floor_summary):
    floor_by = floor_summary.set_index(["method", "k"])
    for k in KS[:2]:
        f, p, d = floor_by.loc[(FLOOR, k)], floor_by.loc[(POOLED, k)], floor_by.loc[(TYPICAL_SAME, k)]
        goal = f.target_energy_error_pct
        claim_rows.append(dict(
            claim_id=f"energy_to_accuracy_noise_floor_k{k}", section="4.2.3",
            description=f"median |error| of the energy to 99 % of best accuracy when each run's whole fitted curve "
                        f"and its noise are known (noise floor; cases as at k = {k})",
            thesis_value=NAN, our_value=float(f.median_abs_energy_error_pct), unit="%",
            note=(f"{f.runs} runs that leave chance; not yet at the target after {k} epochs: "
                  f"{f.median_abs_energy_error_pct_not_yet_reached:.1f} %; optimistic (the curve is fitted to the "
                  f"epochs it predicts); the prior a user gets now (all recorded runs, leave-model-out): "
                  f"{p.median_abs_energy_error_pct:.1f} % (not yet at the target: "
                  f"{p.median_abs_energy_error_pct_not_yet_reached:.1f} %)"
                  + (f", target <= {goal:g} %: {target_verdict(p.median_abs_energy_error_pct, goal)}"
                     if goal == goal else "")
                  + f"; the typical epoch of the other models' runs on the run's dataset (a yardstick that never "
                    f"reads the run): {d.median_abs_energy_error_pct:.1f} %")))
claims.record(NOTEBOOK, claim_rows)
pd.DataFrame(claim_rows)[["claim_id", "thesis_value", "our_value", "unit", "note"]]
