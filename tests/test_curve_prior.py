"""The population prior of greenai.curve_prior on synthetic curves of a known form, and its leave-one-out."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from greenai import curve_prior as cp
from greenai import learning_curves as lc


def _curve(n, plateau, rate, gap=0.5):
    return plateau - gap * np.exp(-rate * np.asarray(n, dtype=float))


def _first(plateau, rate, target, gap=0.5):
    """First whole epoch at which the noiseless curve reaches ``target`` (by hand: n ≥ ln(gap / (p − t)) / rate)."""
    return math.ceil(math.log(gap / (plateau - target)) / rate - 1e-12)


#: (model, plateau, rate) of a synthetic population: one family, different speeds and plateaus
POPULATION = [("m0", 0.90, 0.12), ("m1", 0.85, 0.20), ("m2", 0.92, 0.08), ("m3", 0.80, 0.15), ("m4", 0.88, 0.10),
              ("m5", 0.86, 0.25)]


def _rows(population=POPULATION, epochs=40, noise=0.0):
    rng = np.random.default_rng(3)
    rows = []
    for repeat, (model, plateau, rate) in enumerate(population):
        y = _curve(np.arange(1, epochs + 1), plateau, rate) + rng.normal(0, noise, epochs)
        for e in range(1, epochs + 1):
            rows.append({"experiment": "t", "gpu_name": "g", "model": model, "dataset": "d", "data_source": "real",
                         "precision": "bf16", "batch_size": 256, "repeat": repeat, "epoch_index": e - 1, "n_epochs": e,
                         "test_accuracy": float(np.clip(y[e - 1], 0, 1)), "epoch_energy_j": 10.0,
                         "epoch_duration_s": 1.0, "num_classes": 10, "source_file": "accuracy_t.csv"})
    return pd.DataFrame(rows)


def _refs(rows):
    return cp.references(rows)


def test_a_reference_keeps_its_recorded_epochs_and_extends_them_smoothly():
    y = _curve(np.arange(1, 21), 0.9, 0.15)
    ref = cp.reference("r", "m", "d", y, chance=0.1)
    assert ref.accuracy[0] == 0.1 and np.array_equal(ref.accuracy[1:21], y)
    assert len(ref.accuracy) == cp.EXTENT + 1
    assert abs(ref.accuracy[21] - _curve(21, 0.9, 0.15)) < 0.005  # the tail goes on where the curve does
    assert np.all(np.diff(ref.accuracy[21:]) >= -1e-9) and ref.accuracy[-1] <= 0.9 + 0.01


@pytest.mark.parametrize("plateau, rate", [(0.89, 0.11), (0.83, 0.18)])
@pytest.mark.parametrize("config", [("nearest", 3), ("kernel", 0.5)])
def test_the_prior_recovers_the_epoch_of_a_curve_of_the_populations_form(plateau, rate, config):
    refs = _refs(_rows())
    target = plateau - 0.02
    truth = _first(plateau, rate, target)
    n = np.arange(1, 8)
    epoch, p_reach = cp.predict_epoch(n, _curve(n, plateau, rate), target, refs, config)
    assert p_reach > 0.25  # most matches that fit reach it; some level off below
    assert abs(epoch - truth) <= max(2, 0.1 * truth)


def test_a_match_finds_the_stretch_and_gain_that_make_a_reference_the_new_curve():
    # the new run is the reference three times as fast, 0.02 lower: s = 3, b = 1, a = −0.02 match it exactly
    ref = cp.reference("r", "m", "d", _curve(np.arange(1, 41), 0.9, 0.2), chance=None)
    n = np.arange(1, 9)
    m = cp.matches(n, _curve(n, 0.88, 0.6), 0.879, ref)
    best = int(np.argmin(m.sse))
    s, b = cp.SCALES[best // len(cp.GAINS)], cp.GAINS[best % len(cp.GAINS)]
    assert m.sse[best] < 1e-12 and s == pytest.approx(3.0) and b == pytest.approx(1.0)
    assert m.epoch[best] == _first(0.88, 0.6, 0.879) == 11


def test_calibrated_shifts_the_point_and_keeps_the_interval_after_the_observed_epochs_and_within_the_horizon():
    assert cp.calibrated(20.0, None, 10) == (20.0, 20.0, 20.0)
    epoch, lo, hi = cp.calibrated(20.0, (math.log(2.0), -0.5, 0.5), 10)
    assert epoch == 11.0 and lo == 11.0 and hi == math.ceil(11 * math.exp(0.5))  # 20 / 2 = 10 → epoch 11
    assert cp.calibrated(500.0, (0.0, -0.1, 3.0), 10)[2] == lc.HORIZON * 10


@pytest.mark.parametrize("model_out", [False, True])
def test_leave_one_out_never_uses_the_held_out_run(monkeypatch, model_out):
    population = POPULATION[:4] + [("m0", 0.91, 0.10)]  # m0 twice: its second run is the nearest neighbour
    rows = _rows(population, epochs=30, noise=0.002)
    clean = cp.early_stop_validation(rows, ks=(5,), model_out=model_out)
    held = clean.iloc[0]  # m0's first run
    assert held.model == "m0" and held.reachable and not held.reached_within_fit
    original = cp.reference

    first = cp.run_name(rows.iloc[0])

    def poisoned(name, model, dataset, accuracy, chance):  # m0's first run, as a reference, reaches everything at once
        ref = original(name, model, dataset, accuracy, chance)
        if name == first:
            return cp.Reference(name, model, dataset, np.r_[ref.accuracy[:2], np.full(len(ref.accuracy) - 2, 0.999)],
                                ref.recorded_epochs)
        return ref

    monkeypatch.setattr(cp, "reference", poisoned)
    dirty = cp.early_stop_validation(rows, ks=(5,), model_out=model_out)
    cols = ["predicted_epoch", "predicted_epoch_low", "predicted_epoch_high", "config", "p_reach"]
    # the held-out run's line is the same whatever its own curve says as a reference ...
    assert dirty.iloc[0][cols].tolist() == held[cols].tolist()
    # ... while the other runs, which may use it, see the poison (the test could fail)
    users = clean.index[1:] if not model_out else clean.index[clean.model != "m0"]
    assert (dirty.loc[users, cols] != clean.loc[users, cols]).any().any()


def test_validation_reports_the_same_columns_as_the_per_run_ensemble_and_covers_the_population():
    v = cp.early_stop_validation(_rows(noise=0.002), ks=(5, 10))
    s = lc.summary(v)
    assert set(s.k) == {5, 10} and (s.reachable == s.runs).all()
    ok = v[~v.reached_within_fit]
    assert ok.predicted_epoch_high.map(math.isfinite).all()
    assert (ok.predicted_energy_j == 10.0 * ok.predicted_epoch).all()  # 10 J per epoch, flat
    # the target, 99 % of the best, lies within about 1 % of the plateau: the epoch to it is uncertain by
    # several; the prior keeps the median error a fraction of the measured epochs (20–36) and covers most
    assert s.set_index("k").loc[10, "median_abs_epoch_error"] <= 8
    assert (s.interval_coverage >= 0.6).all()


def test_predict_observed_uses_the_recorded_population(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    _rows(noise=0.002).drop(columns=["n_epochs", "source_file"]).to_csv(raw / "accuracy_t.csv", index=False)
    n = np.arange(1, 11)
    observed = pd.DataFrame({"epoch": n, "accuracy": _curve(n, 0.87, 0.14), "energy_j": 20.0})
    p = cp.predict_observed(observed, 0.85, raw_dir=raw)
    truth = _first(0.87, 0.14, 0.85)
    assert "prior of 6 recorded curves" in p.calibration
    assert p.reachable and p.epoch_low <= truth <= p.epoch_high and abs(p.epoch - truth) <= 3
    assert p.energy_j == pytest.approx(20.0 * p.epoch)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "prior" not in cp.predict_observed(observed, 0.85, raw_dir=empty).calibration  # the per-run ensemble


# --------------------------------------------------------------------------- candidates C1 (same dataset), C2 (steps)


def _rows_of(curves, epochs=30, source="accuracy_t.csv", steps=None):
    """Rows of noiseless runs ``(model, dataset, plateau, rate)``, each its own repeat; ``steps``: steps per epoch."""
    rows = []
    for repeat, (model, dataset, plateau, rate) in enumerate(curves):
        y = _curve(np.arange(1, epochs + 1), plateau, rate)
        for e in range(1, epochs + 1):
            rows.append({"experiment": "t", "gpu_name": "g", "model": model, "dataset": dataset, "data_source": "real",
                         "precision": "bf16", "batch_size": 256, "repeat": repeat, "epoch_index": e - 1,
                         "n_epochs": e, "test_accuracy": float(y[e - 1]), "epoch_energy_j": 10.0,
                         "epoch_duration_s": 1.0, "num_classes": 10, "source_file": source}
                        | ({} if steps is None else {"steps": steps}))
    return pd.DataFrame(rows)


def test_usable_references_keep_the_runs_own_dataset_only_when_enough_of_it_is_left():
    refs = [cp.Reference(f"r{j}", f"m{j}", d, np.zeros(3), 2) for j, d in enumerate("aaabb")]
    assert [r.name for r in cp.usable_references(refs, "a", same_dataset=True)] == ["r0", "r1", "r2"]
    assert len(cp.usable_references(refs, "a", {0}, same_dataset=True)) == 4  # two of its dataset left: all
    assert len(cp.usable_references(refs, "b", same_dataset=True)) == 5
    assert len(cp.usable_references(refs, "a", same_dataset=False)) == 5
    assert len(cp.usable_references(refs, "zz", same_dataset=True)) == 5  # an unknown dataset: all


@pytest.mark.parametrize("same_dataset", [True, False])
def test_same_dataset_validation_matches_a_run_only_against_its_dataset_when_three_are_left(same_dataset):
    # dataset "a": 5 runs (3 others left for each even in the nested leave-one-out without a second one), "b": 3
    # runs (2 others left: all references are used)
    curves = [("m0", "a", 0.90, 0.12), ("m1", "a", 0.85, 0.20), ("m2", "a", 0.92, 0.08), ("m3", "a", 0.80, 0.15),
              ("m7", "a", 0.87, 0.11), ("m4", "b", 0.88, 0.10), ("m5", "b", 0.86, 0.25), ("m6", "b", 0.83, 0.18)]
    rows = _rows_of(curves)
    dataset_of_target = {round(0.99 * max(_curve(np.arange(1, 31), p, r)), 9): d for _, d, p, r in curves}
    seen = []

    def spy(n, y, target, ref, time_ratio=1.0):
        seen.append((dataset_of_target[round(target, 9)], ref.dataset))
        return cp.matches(n, y, target, ref, time_ratio=time_ratio)

    v = cp.early_stop_validation(rows, ks=(5,), match=spy, same_dataset=same_dataset)
    assert len(v) == 8 and v.reachable.all()
    crossed_from_a = {ref for run, ref in seen if run == "a"}
    assert crossed_from_a == ({"a"} if same_dataset else {"a", "b"})
    assert {ref for run, ref in seen if run == "b"} == {"a", "b"}


def test_steps_per_epoch_comes_from_the_rows_steps_else_samples_and_batch_size():
    rows = _rows_of([("m", "d", 0.9, 0.1)], epochs=10)
    assert cp.steps_per_epoch(rows) is None
    assert cp.steps_per_epoch(rows.assign(samples=60000)) == 235.0  # ceil(60000 / 256)
    assert cp.steps_per_epoch(rows.assign(samples=60000, steps=79)) == 79.0
    assert cp.references(rows.assign(steps=79))[0].steps_per_epoch == 79.0


def test_time_in_steps_matches_a_run_with_three_times_the_steps_per_epoch_at_stretch_one():
    # the same curve in optimiser steps: the reference takes 30 steps an epoch, the run 90, so the run's epoch n is
    # the reference's epoch 3 n; in steps the stretch is 1 and the target epoch the reference's / 3
    ref = cp.replace(cp.reference("r", "m", "d", _curve(np.arange(1, 61), 0.9, 0.1), chance=None), steps_per_epoch=30)
    n = np.arange(1, 6)
    target = 0.88
    ratio = cp.time_ratio(90, ref, time_in_steps=True)
    assert ratio == 3.0 and cp.time_ratio(90, ref, time_in_steps=False) == 1.0 and cp.time_ratio(None, ref, True) == 1
    m = cp.matches(n, _curve(3 * n, 0.9, 0.1), target, ref, time_ratio=ratio)
    best = int(np.argmin(m.sse))
    assert m.sse[best] < 1e-12 and cp.SCALES[best // len(cp.GAINS)] == pytest.approx(1.0)
    assert m.epoch[best] == _first(0.9, 0.3, target) == 11  # the run is the reference at 3 × the rate


# --------------------------------------------------------------------------- fresh validation


#: saturating curves a − b·exp(−n/τ) of different τ [epochs]: (model, dataset, plateau a, gap b, τ)
FAMILY = [("r0", "d", 0.90, 0.5, 3.0), ("r1", "d", 0.90, 0.5, 5.0), ("r2", "d", 0.90, 0.5, 8.0),
          ("r3", "d", 0.90, 0.5, 12.0), ("r4", "d", 0.90, 0.5, 4.0), ("r5", "d", 0.90, 0.5, 6.5)]


def _family_rows(family, source, epochs=40):
    return _rows_of([(m, d, a, 1.0 / tau) for m, d, a, _, tau in family], epochs=epochs, source=source)


def test_fresh_validation_predicts_a_fresh_curve_shaped_like_a_reference_and_never_uses_it_as_one():
    references = _family_rows(FAMILY, "accuracy_t.csv")
    fresh = _family_rows([("f0", "d", 0.90, 0.5, 6.5), ("f1", "d", 0.90, 0.5, 10.0)], "accuracy_fresh.csv")
    used = set()

    def spy(n, y, target, ref, time_ratio=1.0):
        used.add(ref.name)
        return cp.matches(n, y, target, ref, time_ratio=time_ratio)

    v = cp.fresh_validation(references, fresh, ks=(5, 10), match=spy)
    assert (v.prior == "fresh").all() and len(v) == 4 and set(v.model) == {"f0", "f1"} and set(v.k) == {5, 10}
    assert set(cp.early_stop_validation(references, ks=(5,)).columns) - {"prior"} <= set(v.columns)
    assert not any("fresh" in name for name in used) and len(used) == len(FAMILY)
    s = lc.summary(v)
    assert set(s.k) == {5, 10} and (s.reachable == s.runs).all()
    twin = v[(v.model == "f0") & ~v.reached_within_fit]  # the same shape as reference r5
    truth = _first(0.90, 1 / 6.5, 0.99 * float(max(_curve(np.arange(1, 41), 0.90, 1 / 6.5))))
    assert (twin.measured_epoch == truth).all()
    assert (abs(twin.predicted_epoch - truth) <= max(2, 0.1 * truth)).all()
    assert ((twin.predicted_epoch_low <= truth) & (truth <= twin.predicted_epoch_high)).all()


def test_fresh_validation_leaves_a_run_in_both_frames_out_of_the_references():
    references = _family_rows(FAMILY, "accuracy_t.csv")
    fresh = references[references.model == "r5"]
    used = set()

    def spy(n, y, target, ref, time_ratio=1.0):
        used.add(ref.model)
        return cp.matches(n, y, target, ref, time_ratio=time_ratio)

    v = cp.fresh_validation(references, fresh, ks=(5,), match=spy)
    assert len(v) == 1 and v.model.iloc[0] == "r5"
    assert "r5" not in used and len(used) == len(FAMILY) - 1


def test_leaves_chance_marks_the_lines_of_runs_whose_accuracy_never_leaves_chance():
    rows = _family_rows([("f0", "d", 0.90, 0.5, 6.5), ("f1", "d", 0.90, 0.5, 10.0)], "accuracy_fresh.csv")
    stuck = rows.model == "f1"
    rows.loc[stuck, "test_accuracy"] = 0.1 + 0.005 * (rows.loc[stuck, "n_epochs"] % 2)  # at chance (10 classes)
    v = cp.fresh_validation(_family_rows(FAMILY, "accuracy_t.csv"), rows, ks=(5, 10))
    learning = cp.leaves_chance(v, rows)
    assert learning.index.equals(v.index) and (learning == (v.model == "f0")).all()
    late = rows.copy()  # leaving chance in its last MIN_EPOCHS epochs is enough, one epoch fewer is not
    last = late.n_epochs > late.n_epochs.max() - cp.acc.MIN_EPOCHS
    late.loc[stuck & last, "test_accuracy"] = 0.5
    assert cp.leaves_chance(v, late).all()
    late.loc[stuck & (late.n_epochs == late.n_epochs.max() - cp.acc.MIN_EPOCHS + 1), "test_accuracy"] = 0.1
    assert not cp.leaves_chance(v, late)[v.model == "f1"].any()


def test_the_typical_epoch_yardstick_is_the_other_models_geometric_median_and_never_reads_the_run():
    rows = _rows()
    v = cp.typical_epoch_validation(rows, ks=(5,))
    pooled = cp.early_stop_validation(rows, ks=(5,), model_out=True)
    assert len(v) == len(pooled) and (v.prior == "typical epoch, leave-model-out").all()
    assert list(v.measured_epoch) == list(pooled.measured_epoch) and set(pooled.columns) - {"prior"} <= set(v.columns)
    open_ = v[~v.reached_within_fit]
    assert len(open_) == len(POPULATION)  # every synthetic run is still climbing at epoch 5
    for line in open_.itertuples():
        others = open_.measured_epoch[open_.model != line.model].to_numpy(dtype=float)
        raw = line.measured_epoch * math.exp(line.log_ratio)
        assert raw == pytest.approx(math.exp(np.median(np.log(others))))
        assert line.predicted_epoch_low <= line.predicted_epoch <= line.predicted_epoch_high
    # a run's own first epochs change nothing of its prediction (its target and measured epoch stay)
    lowered = rows.copy()
    first = (lowered.model == "m0") & (lowered.n_epochs <= 3)
    lowered.loc[first, "test_accuracy"] -= 0.05
    again = cp.typical_epoch_validation(lowered, ks=(5,))
    assert again.loc[again.model == "m0", "predicted_epoch"].item() == v.loc[v.model == "m0", "predicted_epoch"].item()
    # fresh: the typical epoch of the runs before, the fresh runs none of them
    fresh = _rows([("f0", 0.90, 0.12)])
    fresh["source_file"] = "accuracy_fresh.csv"
    line = cp.typical_epoch_validation(rows, ks=(5,), fresh_rows=fresh).iloc[0]
    assert line.prior == "typical epoch, fresh"
    raw = line.measured_epoch * math.exp(line.log_ratio)
    assert raw == pytest.approx(math.exp(np.median(np.log(open_.measured_epoch.to_numpy(dtype=float)))))


def test_the_same_dataset_yardstick_takes_the_typical_epoch_of_the_runs_own_dataset_when_it_has_enough():
    # three quick runs on "fast", three slow ones on "slow", and one run alone on "rare"
    curves = [("q0", "fast", 0.9, 1 / 2.0), ("q1", "fast", 0.9, 1 / 2.5), ("q2", "fast", 0.9, 1 / 3.0),
              ("q3", "fast", 0.9, 1 / 3.5), ("s0", "slow", 0.9, 1 / 6.0), ("s1", "slow", 0.9, 1 / 7.0),
              ("s2", "slow", 0.9, 1 / 8.0), ("s3", "slow", 0.9, 1 / 9.0), ("r0", "rare", 0.9, 1 / 4.0)]
    rows = _rows_of(curves, epochs=40)
    pooled = cp.typical_epoch_validation(rows, ks=(5,))
    same = cp.typical_epoch_validation(rows, ks=(5,), same_dataset=True)
    assert (same.prior == "typical epoch, leave-model-out, same dataset").all()
    assert list(same.measured_epoch) == list(pooled.measured_epoch)
    open_ = same[~same.reached_within_fit]
    assert set(open_.dataset) == {"fast", "slow", "rare"}  # every run is still climbing at epoch 5

    def geometric_median(lines):
        return math.exp(np.median(np.log(lines.measured_epoch.to_numpy(dtype=float))))

    for line in open_.itertuples():
        raw = line.measured_epoch * math.exp(line.log_ratio)
        others = open_[open_.model != line.model]
        own = others[others.dataset == line.dataset]
        # "fast" and "slow" have three other runs each (MIN_SAME_DATASET); "rare" has none and takes all
        expected = own if len(own) >= cp.MIN_SAME_DATASET else others
        assert raw == pytest.approx(geometric_median(expected))
        assert (len(own) >= cp.MIN_SAME_DATASET) == (line.dataset != "rare")
    # the quick runs are put earlier, the slow ones later, than by the typical epoch of all runs
    quick, slow = ["q0", "q1", "q2", "q3"], ["s0", "s1", "s2", "s3"]
    by_model = same.set_index("model").predicted_epoch
    assert (by_model[quick] <= pooled.set_index("model").predicted_epoch[quick]).all()
    assert by_model[quick].max() < by_model[slow].min()


def test_the_anchored_candidate_takes_the_dataset_where_it_decides_and_the_curve_where_it_does():
    """C4 predicts T^(1−β) P^β, β chosen on the reference runs leaving each model out: where every run of a dataset
    reaches its target at the same epoch the dataset's typical epoch is exact and β = 0 (the smaller on a tie, the
    prior being exact too); where one dataset's runs spread from 2 to 12 epochs of time constant only the curve
    tells them apart and β = 1, the prior's own epoch."""
    fast = [(f"a{j}", "fast", 0.9, 1 / 3.0) for j in range(4)]
    slow = [(f"b{j}", "slow", 0.9, 1 / 8.0) for j in range(4)]
    fresh = _rows_of([("fa", "fast", 0.9, 1 / 3.0), ("fb", "slow", 0.9, 1 / 8.0)], epochs=40,
                     source="accuracy_fresh.csv")
    v, choice = cp.anchored_validation(_rows_of(fast + slow, epochs=40), fresh, ks=(5, 10))
    assert set(choice.weight) == set(cp.ANCHOR_WEIGHTS) and choice.groupby("k").chosen.sum().eq(1).all()
    assert (choice[choice.chosen].weight == 0.0).all() and (v.config == "anchored:0").all()
    assert (v.prior == "anchored, fresh").all() and set(v.model) == {"fa", "fb"}
    for dataset, rate in (("fast", 1 / 3.0), ("slow", 1 / 8.0)):
        line = v[v.dataset == dataset]
        truth = _first(0.9, rate, 0.99 * float(max(_curve(np.arange(1, 41), 0.9, rate))))
        assert (line.measured_epoch == truth).all() and (line.predicted_epoch == truth).all()

    curves = [(f"m{j}", "d", 0.9, 1 / tau) for j, tau in enumerate((2.0, 3.0, 4.5, 6.5, 9.0, 12.0))]
    references = _rows_of(curves, epochs=40)
    fresh = _rows_of([("f0", "d", 0.9, 1 / 2.5), ("f1", "d", 0.9, 1 / 10.0)], epochs=40, source="accuracy_fresh.csv")
    v, choice = cp.anchored_validation(references, fresh, ks=(5, 10))
    chosen = choice[choice.chosen].set_index("k")
    assert (chosen.weight == 1.0).all() and (chosen.spread < choice[~choice.chosen].groupby("k").spread.min()).all()
    prior = cp.fresh_validation(references, fresh, ks=(5, 10))
    assert np.allclose(v.log_ratio, prior.log_ratio)  # β = 1: the prior's raw epoch
    assert set(cp.early_stop_validation(references, ks=(5,)).columns) - {"prior"} <= set(v.columns)
    assert v.reachable.all()
    assert ((v.predicted_epoch_low <= v.predicted_epoch) & (v.predicted_epoch <= v.predicted_epoch_high)).all()
