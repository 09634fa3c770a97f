"""The learning-curve ensemble (greenai.learning_curves) on synthetic curves with a known answer, and
`greenai predict --observed`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from greenai import accuracy as acc
from greenai import learning_curves as lc


def _curve(n, plateau=0.92, gap=0.4, rate=0.25):
    return plateau - gap * np.exp(-rate * np.asarray(n, dtype=float))


@pytest.mark.parametrize("noise", [0.0, 0.003])
def test_ensemble_recovers_the_epoch_within_a_finite_interval(noise):
    truth = np.arange(1, 41)
    y = _curve(truth) + np.random.default_rng(1).normal(0, noise, len(truth))
    target = 0.99 * 0.92
    measured = int(truth[_curve(truth) >= target][0])  # the noiseless curve's first epoch at the target
    p = lc.predict_target(truth[:10], y[:10], target, epoch_energy_j=np.full(10, 100.0))
    assert p.reachable and math.isfinite(p.epoch_low) and math.isfinite(p.epoch_high)
    assert p.epoch_low <= measured <= p.epoch_high
    assert p.epoch_high <= lc.HORIZON * 10
    assert abs(p.epoch - measured) <= 3
    assert p.energy_j == pytest.approx(100.0 * p.epoch)  # observed energy, then its mean per epoch
    assert p.plateau == pytest.approx(0.92, abs=0.02)


def test_calibration_widens_the_interval_and_shifts_a_biased_prediction():
    n = np.arange(1, 11)
    y = _curve(n)
    base = lc.predict_target(n, y, 0.9, calib=(0.0, 0.0, 0.0))
    biased = lc.predict_target(n, y, 0.9, calib=(math.log(2.0), -0.5, 0.5))
    assert biased.epoch == pytest.approx(max(11, math.ceil(base.epoch / 2)), abs=1)
    assert biased.epoch_high - biased.epoch_low > 0
    assert biased.epoch_low <= biased.epoch <= biased.epoch_high


def test_a_target_above_every_plausible_plateau_is_unreachable_and_an_observed_one_is_the_answer():
    n = np.arange(1, 11)
    y = _curve(n, plateau=0.80, gap=0.3, rate=0.6)
    p = lc.predict_target(n, y, 0.97)
    assert not p.reachable and math.isnan(p.epoch) and p.p_reach <= (1 - lc.LEVEL) / 2
    seen = lc.predict_target(n, y, float(y[6]))
    assert seen.epoch == seen.epoch_low == seen.epoch_high == 7
    with pytest.raises(acc.TooFewEpochsError):
        lc.fit_ensemble(n[:3], y[:3])


def test_weights_favour_the_forms_that_fit_and_drop_those_that_do_not():
    n = np.arange(1, 16)
    y = _curve(n, 0.9, 0.6, 0.6)  # a fast exponential saturation: a logarithmic tail cannot follow it
    curve = lc.fit_ensemble(n, y)
    weights = {m.form: m.weight for m in curve.members}
    assert sum(weights.values()) == pytest.approx(1.0)
    assert max(weights, key=weights.get) in {"exp3", "janoschek", "weibull"}  # exp3, and the two that contain it
    assert weights.get("ilog2", 0.0) < 0.01 and weights.get("pow3", 0.0) < 0.01
    assert curve.plateau == pytest.approx(0.9, abs=0.01)


def test_early_stop_validation_calibrates_each_run_on_the_others():
    rows = []
    for i, (plateau, rate) in enumerate([(0.9, 0.2), (0.85, 0.3), (0.92, 0.15), (0.8, 0.25), (0.88, 0.35)]):
        for e in range(1, 31):
            rows.append({"experiment": "t", "gpu_name": "g", "model": f"m{i}", "dataset": "d", "data_source": "real",
                         "precision": "bf16", "batch_size": 256, "repeat": 0, "epoch_index": e - 1, "n_epochs": e,
                         "test_accuracy": _curve(e, plateau, 0.4, rate), "epoch_energy_j": 10.0,
                         "epoch_duration_s": 1.0, "source_file": "accuracy_t.csv"})
    v = lc.early_stop_validation(pd.DataFrame(rows), ks=(5, 10))
    assert set(v.k) == {5, 10} and len(v) == 10
    ok = v[v.reachable.astype(bool)]
    assert ok.predicted_epoch_high.map(math.isfinite).all()
    assert (ok.predicted_energy_j == 10.0 * ok.predicted_epoch).all()
    s = lc.summary(v)
    assert set(s.k) == {5, 10} and (s.interval_coverage <= 1).all()
    assert s.set_index("k").loc[10, "median_abs_epoch_error"] <= 3


# --------------------------------------------------------------------------- greenai predict --observed


def _observed(tmp_path, n=8, energy=True, **cols):
    e = np.arange(1, n + 1)
    frame = pd.DataFrame({"epoch": e, "accuracy": _curve(e)} | ({"energy_j": np.full(n, 50.0)} if energy else {}))
    frame = frame.assign(**cols)
    path = tmp_path / "obs.csv"
    frame.to_csv(path, index=False)
    return path


def test_predict_observed_answers_epoch_and_energy(tmp_path, capsys):
    from greenai import cli

    path = _observed(tmp_path)
    assert cli.main(["predict", "--target-accuracy", "0.9", "--observed", str(path), "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    truth = int(np.arange(1, 60)[_curve(np.arange(1, 60)) >= 0.9][0])
    assert out["reachable"] and out["epoch_low"] <= truth <= out["epoch_high"]
    assert out["energy_j"] == pytest.approx(50.0 * out["epoch"])
    assert cli.main(["predict", "--target-accuracy", "0.9", "--observed", str(_observed(tmp_path, energy=False))]) == 0
    text = capsys.readouterr().out
    assert "epoch" in text and "energy" not in text.split("\n")[1]


@pytest.mark.parametrize("argv_tail, message", [
    (["--target-accuracy", "1.2"], "fraction in (0, 1)"),
    (["--target-accuracy", "0"], "fraction in (0, 1)"),
    ([], "needs --target-accuracy"),
])
def test_predict_observed_refuses_a_bad_target(tmp_path, capsys, argv_tail, message):
    from greenai import cli

    assert cli.main(["predict", "--observed", str(_observed(tmp_path)), *argv_tail]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("greenai predict:") and message in err and "\n" not in err


def test_predict_observed_refuses_missing_columns_and_too_few_epochs(tmp_path, capsys):
    from greenai import cli

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"epoch": [1, 2, 3, 4, 5], "acc": [0.1] * 5}).to_csv(bad, index=False)
    assert cli.main(["predict", "--target-accuracy", "0.9", "--observed", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("greenai predict:") and "accuracy" in err and "\n" not in err
    assert cli.main(["predict", "--target-accuracy", "0.9", "--observed", str(_observed(tmp_path, n=3))]) == 2
    err = capsys.readouterr().err.strip()
    assert "at least 5" in err and "\n" not in err
    assert cli.main(["predict", "--target-accuracy", "0.9", "--observed", str(tmp_path / "none.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli.main(["predict", "--model", "resnet18"]) == 2  # the energy prediction still needs its arguments
    assert "--dataset, --batch-size" in capsys.readouterr().err


def test_summaries_and_residuals_by_put_several_validations_side_by_side():
    line = {"reachable": True, "covered": True, "epoch_error": 1.0, "predicted_epoch_low": 8.0,
            "predicted_epoch_high": 12.0, "prior": "p"}
    v = pd.DataFrame([line | {"k": 5, "dataset": d, "energy_error_pct": e, "reached_within_fit": w}
                      for d, e, w in [("a", -10.0, False), ("a", 30.0, False), ("b", 0.0, True), ("b", 50.0, False)]])
    s = lc.summaries({"one": v, "two": v[v.dataset == "a"]})
    assert list(s.columns) == ["method", *lc.summary(v).columns] and list(s.method) == ["one", "two"]
    assert s.median_abs_energy_error_pct.tolist() == [20.0, 20.0]
    assert s.median_abs_energy_error_pct_not_yet_reached.tolist() == [30.0, 20.0]
    r = lc.residuals_by(v)
    assert r[["dataset", "runs", "median_energy_error_pct", "median_abs_energy_error_pct"]].values.tolist() == [
        ["a", 2, 10.0, 20.0], ["b", 1, 50.0, 50.0]]
    assert list(lc.residuals_by(v, ("k",)).runs) == [3]


# --------------------------------------------------------------------------- the noise floor


def test_first_crossing_quantiles_are_the_geometric_law_when_every_epoch_is_a_coin_flip():
    # a mean exactly at the target: each epoch reaches it with probability 1/2, so P(not yet by n) = 2^-n
    at_target = np.full(20, 0.9)
    q = lc.first_crossing_quantiles(at_target, 0.01, 0.9, [0.5, 0.75, 0.95])
    assert q.tolist() == [1.0, 2.0, 5.0]  # 1 - 2^-n first reaches 0.5, 0.75, 0.95 at n = 1, 2, 5
    # far below the target the noise never carries it there within the epochs given
    assert lc.first_crossing_quantiles(np.full(20, 0.5), 0.01, 0.9, [0.5]).tolist() == [math.inf]


def test_first_crossing_without_noise_is_the_curves_own_crossing_and_noise_brings_it_earlier():
    n = np.arange(1, 101)
    mean = _curve(n, 0.92, 0.4, 0.1)
    target = 0.99 * 0.92
    smooth = int(n[mean >= target][0])
    assert lc.first_crossing_quantiles(mean, 0.0, target, [0.05, 0.5, 0.95]).tolist() == [smooth] * 3
    noisy = lc.first_crossing_quantiles(mean, 0.005, target, [0.05, 0.5, 0.95])
    assert noisy[0] < noisy[1] < smooth  # a draw above the curve reaches the target first
    assert noisy[2] <= smooth + 1


def test_noise_sd_ignores_one_bad_epoch_and_keeps_the_floor():
    fitted = np.full(30, 0.9)
    noise = np.tile([0.004, -0.004], 15)
    assert lc.noise_sd(fitted + noise, fitted) == pytest.approx(1.4826 * 0.004)
    dipped = fitted + noise
    dipped[10] -= 0.1  # one epoch's dip does not widen it
    assert lc.noise_sd(dipped, fitted) == pytest.approx(1.4826 * 0.004)
    assert lc.noise_sd(fitted, fitted) == lc.NOISE_FLOOR


def _rows(curves, energy_j=10.0):
    rows = []
    for i, y in enumerate(curves):
        for e, a in enumerate(y, start=1):
            rows.append({"experiment": "t", "gpu_name": "g", "model": f"m{i}", "dataset": "fashion_mnist",
                         "data_source": "real", "precision": "bf16", "batch_size": 256, "repeat": 0,
                         "epoch_index": e - 1, "n_epochs": e, "test_accuracy": a, "epoch_energy_j": energy_j,
                         "epoch_duration_s": 1.0, "num_classes": 10, "source_file": "accuracy_t.csv"})
    return pd.DataFrame(rows)


def test_noise_floor_predicts_a_noisy_runs_crossing_and_leaves_out_a_run_at_chance():
    n = np.arange(1, 31)
    rng = np.random.default_rng(3)
    learning = _curve(n, 0.9, 0.3, 0.2) + rng.normal(0, 0.004, len(n))
    at_chance = np.full(30, 0.1)
    floor = lc.noise_floor(_rows([learning, at_chance]), ks=(5, 10))
    assert set(floor.model) == {"m0"} and floor.k.tolist() == [5, 10]  # the run at chance has no curve
    line = floor.iloc[0]
    target = 0.99 * learning.max()
    assert line.target_accuracy == pytest.approx(target)
    assert line.measured_epoch == int(n[learning >= target][0])
    assert line.noise_sd == pytest.approx(0.004, rel=0.5)
    assert line.predicted_epoch_low <= line.predicted_epoch <= line.predicted_epoch_high
    assert line.predicted_epoch <= line.smooth_epoch
    assert line.predicted_energy_j == pytest.approx(10.0 * line.predicted_epoch)  # the run's own energy per epoch
    assert line.energy_error_pct == pytest.approx(100.0 * line.epoch_error / line.measured_epoch)
    assert set(lc.summary(floor).k) == {5, 10}


def test_noise_floor_counts_a_target_already_reached_as_the_answer_itself():
    n = np.arange(1, 31)
    fast = _curve(n, 0.9, 0.3, 2.0)  # at 99 % of its best by epoch 3
    floor = lc.noise_floor(_rows([fast]), ks=(5,))
    line = floor.iloc[0]
    assert bool(line.reached_within_fit) and line.measured_epoch <= 5
    assert line.predicted_epoch == line.measured_epoch and line.energy_error_pct == 0.0
