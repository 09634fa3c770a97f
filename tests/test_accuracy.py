"""Energy to accuracy: the campaign's learning-curve grids, curve fitting and the
energy-to-target computation (thesis 4.2.3)."""

from greenai import campaign
from greenai.experiments import curve_sets, registry
from greenai import experiments as ex


def test_accuracy_grids_train_30_real_epochs_with_accuracy():
    for dataset in ("fashion_mnist", "cifar10", "cifar100"):
        specs = registry.EXPERIMENTS[f"accuracy_{dataset}"].specs()
        ex.validate(specs, check_data=False)
        assert {s.model for s in specs} == {"alexnet", "resnet18"}
        assert {(s.dataset, s.source, s.precision, s.batch_size, s.image_size) for s in specs} == {
            (dataset, "real", curve_sets.ACCURACY_PRECISION, 256, 224)}
        # full epochs (no window, no step cap) with test accuracy after each, checkpointed between epochs
        assert all(s.epochs >= 30 and s.evaluate and s.max_steps is None and s.window_s is None for s in specs)
    assert registry.EXPERIMENTS["accuracy_cifar10"].csv == "accuracy_cifar10"
    assert "accuracy_cifar100" not in registry.DEFAULT_EXPERIMENTS  # needs files we cannot download offline
    # the smoke grid runs on synthetic data without accuracy (a CPU cannot train 30 epochs)
    quick = registry.EXPERIMENTS["accuracy_fashion_mnist"].specs(quick=True)
    assert all(s.source == "synthetic" and not s.evaluate for s in quick)


def test_accuracy_campaign_quick_writes_rows_and_resumes(tmp_path):
    import pandas as pd

    argv = ["--quick", "--out", str(tmp_path), "--device", "cpu", "--idle-s", "0", "--no-progress",
            "-e", "accuracy_fashion_mnist", "-e", "accuracy_cifar10"]
    assert campaign.main(argv) == 0
    for name in ("accuracy_fashion_mnist", "accuracy_cifar10"):
        rows = pd.read_csv(tmp_path / f"{name}.csv")
        assert list(rows.epoch_index) == [0, 1] and set(rows.precision) == {curve_sets.ACCURACY_PRECISION}
        assert (tmp_path / f"{name}.meta.json").exists()
    assert campaign.main(argv) == 0  # a rerun finds every row present and adds none
    assert len(pd.read_csv(tmp_path / "accuracy_cifar10.csv")) == 2


# --------------------------------------------------------------------------- learning curves (no torch)

import math  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from greenai import accuracy as acc  # noqa: E402


def _run_frame(accuracy, energy_j, model="alexnet", dataset="fashion_mnist", experiment="accuracy_fashion_mnist",
               duration_s=None, source="real"):
    """Rows of one recorded run in the campaign's format (only the columns the analysis reads)."""
    n = len(accuracy)
    return pd.DataFrame({
        "experiment": experiment, "gpu_name": "GPU X", "model": model, "dataset": dataset, "data_source": source,
        "precision": "bf16", "batch_size": 256, "repeat": 0, "epoch_index": range(n),
        "test_accuracy": accuracy, "epoch_energy_j": energy_j,
        "epoch_duration_s": duration_s if duration_s is not None else [1.0] * n})


@pytest.mark.parametrize("form, params", [("exp", (0.9, 0.5, 0.3)), ("power", (0.85, 0.4, 0.7))])
def test_fit_recovers_known_parameters(form, params):
    n = np.arange(1, 31)
    truth = acc.LearningCurve(form, *params)
    y = truth.predict(n) + np.random.default_rng(1).normal(0, 0.002, len(n))
    curve = acc.fit_learning_curve(n, y, form=form)
    assert (curve.a, curve.b, curve.c) == pytest.approx(params, rel=0.05)
    assert abs(curve.a - params[0]) < 3 * curve.a_se + 1e-3  # the reported standard error covers the truth
    assert curve.rmse == pytest.approx(0.002, rel=0.5)
    assert curve.n_epochs == 30


@pytest.mark.parametrize("form", acc.FORMS)
def test_epoch_for_inverts_the_curve(form):
    curve = acc.LearningCurve(form, 0.9, 0.5, 0.4)
    for target in (0.6, 0.8, 0.89):
        assert curve.predict(curve.epoch_for(target)) == pytest.approx(target)
    assert curve.epoch_for(0.2) == 0.0  # already above the target when training starts


def test_energy_to_accuracy_worked_by_hand():
    # acc(n) = 0.8 - 0.4 exp(-0.5 n): 0.557, 0.653, 0.711, 0.746, 0.767 after epochs 1..5
    n = np.arange(1, 6)
    rows = _run_frame(0.8 - 0.4 * np.exp(-0.5 * n), [10.0, 20.0, 30.0, 40.0, 50.0],
                      duration_s=[1.0, 1.0, 2.0, 2.0, 2.0]).assign(n_epochs=n, source_file="accuracy_x.csv")
    # target 0.7: n = ln(0.4 / 0.1) / 0.5 = 2.77 -> 3 whole epochs -> 10 + 20 + 30 = 60 J, 4 s
    r = acc.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=0.7, form="exp", rows=rows)
    assert r.curve.a == pytest.approx(0.8, abs=1e-6) and r.curve.c == pytest.approx(0.5, rel=1e-4)
    assert r.epoch_fractional == pytest.approx(2 * math.log(4), rel=1e-4)
    assert (r.epoch, r.energy_j, r.duration_s, r.energy_extrapolated) == (3, pytest.approx(60.0), 4.0, False)
    assert (r.observed_epoch, r.observed_energy_j) == (3, pytest.approx(60.0))  # measured 0.711 >= 0.7 at epoch 3
    # target 0.79: n = ln(0.4 / 0.01) / 0.5 = 7.38 -> 8 epochs: 150 J measured + 3 x 30 J (mean) = 240 J
    r = acc.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=0.79, form="exp", rows=rows)
    assert (r.epoch, r.energy_j, r.energy_extrapolated, r.observed_epoch) == (8, pytest.approx(240.0), True, None)
    assert r.duration_s == pytest.approx(8 + 3 * 1.6)
    assert math.isnan(r.observed_energy_j)
    # default target: 99 % of the plateau = 0.792 -> n = ln(0.4 / 0.008) / 0.5 = 7.82 -> 8 epochs
    r = acc.energy_to_accuracy("alexnet", "fashion_mnist", form="exp", rows=rows)
    assert r.target_accuracy == pytest.approx(0.792, abs=1e-6) and r.epoch == 8
    assert r.as_dict()["energy_kwh"] == pytest.approx(240.0 / 3.6e6)


def test_cumulative_energy_by_hand():
    assert acc.cumulative_energy_j([10, 20, 30], 2) == (30.0, False)
    assert acc.cumulative_energy_j([10, 20, 30], 2.2) == (60.0, False)
    assert acc.cumulative_energy_j([10, 20, 30], 5) == (100.0, True)  # 60 + 2 x 20


def test_clear_errors():
    n = np.arange(1, 11)
    rows = _run_frame(0.9 - 0.3 * n ** -1.0, [5.0] * 10).assign(n_epochs=n, source_file="accuracy_x.csv")
    with pytest.raises(acc.NoCurveError, match=r"no learning curve for model 'resnet18'.*known: alexnet/fashion_mnist"):
        acc.energy_to_accuracy("resnet18", "fashion_mnist", rows=rows)
    with pytest.raises(acc.NoCurveError, match="none recorded yet"):
        acc.energy_to_accuracy("alexnet", "cifar10", rows=acc.load_rows("/nonexistent"))
    with pytest.raises(acc.TargetUnreachableError, match="not below the fitted plateau 0.9000"):
        acc.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=0.95, rows=rows)
    with pytest.raises(acc.TargetUnreachableError, match="did you mean 0.85"):
        acc.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=85, rows=rows)
    with pytest.raises(acc.AccuracyError, match="fraction_of_plateau"):
        acc.energy_to_accuracy("alexnet", "fashion_mnist", fraction_of_plateau=1.0, rows=rows)
    with pytest.raises(acc.TooFewEpochsError, match="at least 4 epochs"):
        acc.energy_to_accuracy("alexnet", "fashion_mnist", rows=rows[rows.n_epochs <= 3])
    with pytest.raises(acc.AccuracyError, match="unknown learning-curve form 'cubic'"):
        acc.fit_learning_curve(n, 0.9 - 0.3 / n, form="cubic")
    with pytest.raises(acc.AccuracyError, match="divide percentages by 100"):
        acc.fit_learning_curve(n, 90 - 30 / n)
    assert issubclass(acc.NoCurveError, ValueError)  # CLIs catch AccuracyError (a ValueError): exit code 2


def test_load_rows_keeps_real_epochs_with_accuracy_and_picks_the_longest_run(tmp_path):
    n = np.arange(1, 13)
    long = _run_frame(0.9 - 0.3 / n, [7.0] * 12)
    short = _run_frame(0.8 - 0.3 / n[:6], [3.0] * 6, experiment="epochs")
    synthetic = _run_frame([float("nan")] * 4, [1.0] * 4, model="resnet18", source="synthetic")
    long.to_csv(tmp_path / "accuracy_fashion_mnist.csv", index=False)
    pd.concat([short, synthetic]).to_csv(tmp_path / "kpi_epochs.csv", index=False)
    rows = acc.load_rows(tmp_path)
    assert set(rows.source_file) == {"accuracy_fashion_mnist.csv", "kpi_epochs.csv"}
    assert set(rows.model) == {"alexnet"} and len(rows) == 18
    table = acc.runs(rows)
    assert sorted(table.epochs) == [6, 12]
    r = acc.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=0.8, raw_dir=tmp_path)
    assert (r.source_file, r.recorded_epochs, r.energy_per_epoch_j) == ("accuracy_fashion_mnist.csv", 12, 7.0)
    assert r.epoch == 3 and r.energy_j == pytest.approx(21.0)  # 0.9 - 0.3 / n >= 0.8 from n = 3


def test_early_stop_validation_is_exact_on_an_exact_curve():
    n = np.arange(1, 31)
    energy = np.linspace(100.0, 129.0, 30)  # energy per epoch drifts: the prediction must use the first k only
    rows = _run_frame(0.9 - 0.5 * np.exp(-0.25 * n), energy).assign(n_epochs=n, source_file="accuracy_x.csv")
    table = acc.early_stop_validation(rows, ks=(5, 10, 15, 40), form="exp")
    assert list(table.k) == [5, 10, 15]  # k >= recorded epochs is skipped
    # target 0.99 x best measured; measured epoch: first n with acc >= target
    target = 0.99 * (0.9 - 0.5 * math.exp(-0.25 * 30))
    measured = int(n[0.9 - 0.5 * np.exp(-0.25 * n) >= target][0])
    assert (table.measured_epoch == measured).all() and table.reachable.all()
    assert (table.epoch_error == 0).all() and table.rmse_rest.max() < 1e-6
    # energy predicted from the first k epochs: k measured + (epoch - k) x their mean
    for r in table.itertuples():
        expected = (energy[:r.k].sum() + (measured - r.k) * energy[:r.k].mean() if measured > r.k
                    else energy[:measured].sum())
        assert r.predicted_energy_j == pytest.approx(expected)
        assert r.energy_error_j == pytest.approx(expected - energy[:measured].sum())
    assert (table.energy_error_j < 0).all()  # energy per epoch rises later in this run: the early mean is low


def test_leading_epochs_at_chance_are_an_offset():
    # 3 epochs at chance (10 classes), then acc = 0.8 - 0.7 exp(-0.4 (n - 3))
    n = np.arange(1, 21)
    y = np.where(n <= 3, 0.1 + 0.005 * (n % 2), 0.8 - 0.7 * np.exp(-0.4 * (n - 3)))
    curve = acc.fit_learning_curve(n, y, form="exp", chance=0.1)
    assert curve.offset == 3 and curve.n_epochs == 20
    assert (curve.a, curve.b, curve.c) == pytest.approx((0.8, 0.7, 0.4), rel=1e-4)
    assert curve.epoch_for(0.7) == pytest.approx(3 + math.log(7) / 0.4, rel=1e-4)
    assert np.isnan(curve.predict([2])[0]) and curve.predict([5])[0] == pytest.approx(y[4])
    plain = acc.fit_learning_curve(n, y, form="exp")  # the same points without the offset fit worse
    assert plain.rmse > 10 * curve.rmse
    with pytest.raises(acc.TooFewEpochsError, match="above chance"):
        acc.fit_learning_curve(n[:6], y[:6], form="exp", chance=0.1)
    # energy_to_accuracy takes chance from the rows' num_classes
    rows = _run_frame(y, [2.0] * 20).assign(n_epochs=n, source_file="accuracy_x.csv", num_classes=10)
    r = acc.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=0.7, form="exp", rows=rows)
    assert r.curve.offset == 3 and r.epoch == math.ceil(3 + math.log(7) / 0.4) and r.energy_j == 2.0 * r.epoch


def test_auto_keeps_the_form_that_fits_better():
    n = np.arange(1, 21)
    assert acc.fit_learning_curve(n, 0.9 - 0.5 * np.exp(-0.3 * n), form="auto").form == "exp"
    assert acc.fit_learning_curve(n, 0.9 - 0.5 * n ** -0.8, form="auto").form == "power"
    assert acc.DEFAULT_FORM == "auto"
    # rises like a power law, then stops dead (a memorised training set): the power law fits all 30 epochs
    # better, but the exponential follows the flat later half, which is what decides how the curve goes on
    n = np.arange(1, 31)
    y = np.minimum(0.9 - 0.5 * n ** -0.6, 0.8)
    assert acc.fit_learning_curve(n, y, form="power").rmse < acc.fit_learning_curve(n, y, form="exp").rmse
    auto = acc.fit_learning_curve(n, y, form="auto")
    assert auto.form == "exp" and auto.plateau == pytest.approx(0.8, abs=0.01)
    assert auto.selection.startswith("auto: RMSE over the later half")


def test_a_crossing_far_beyond_the_recorded_epochs_is_refused():
    # power law, c = 0.5: 99 % of the plateau 0.9 needs (0.5 / 0.009)^2 = 3086 epochs; 10 are recorded
    n = np.arange(1, 11)
    rows = _run_frame(0.9 - 0.5 * n ** -0.5, [4.0] * 10).assign(n_epochs=n, source_file="accuracy_x.csv")
    with pytest.raises(acc.BeyondHorizonError, match=r"only after ~3,086 epochs, more than 10 x the 10 recorded"):
        acc.energy_to_accuracy("alexnet", "fashion_mnist", form="power", rows=rows)
    r = acc.energy_to_accuracy("alexnet", "fashion_mnist", form="power", rows=rows, horizon=None)
    assert r.epoch == 3087 and r.energy_j == pytest.approx(4.0 * 3087) and r.energy_extrapolated
    # 0.79: n = (0.5 / 0.11)^2 = 20.7 -> 21 epochs, within the horizon
    assert acc.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=0.79, form="power", rows=rows).epoch == 21


def test_epoch_interval_covers_the_true_crossing_about_as_often_as_it_says():
    truth = acc.LearningCurve("exp", 0.9, 0.5, 0.3)
    target = 0.88
    true_epoch = truth.epoch_for(target)
    n = np.arange(1, 21)
    covered = 0
    for seed in range(40):
        y = truth.predict(n) + np.random.default_rng(seed).normal(0, 0.005, len(n))
        low, high = acc.fit_learning_curve(n, y, form="exp").epoch_interval(target, level=0.9)
        assert low <= high
        covered += low <= true_epoch <= high
    assert 0.75 <= covered / 40 <= 1.0
    # a target just below a poorly known plateau: some draws never reach it
    y = truth.predict(n[:6]) + np.random.default_rng(0).normal(0, 0.01, 6)
    curve = acc.fit_learning_curve(n[:6], y, form="exp")
    assert curve.epoch_interval(curve.plateau - 0.002)[1] == math.inf
    assert math.isnan(acc.LearningCurve("exp", 0.9, 0.5, 0.3).epoch_interval(0.8)[0])  # no covariance


def test_result_as_dict_is_json_safe():
    import json

    n = np.arange(1, 8)
    y = 0.8 - 0.4 * np.exp(-0.5 * n) + np.random.default_rng(0).normal(0, 0.003, 7)
    rows = _run_frame(y, [10.0] * 7).assign(n_epochs=n, source_file="accuracy_x.csv")
    d = acc.energy_to_accuracy("alexnet", "fashion_mnist", target_accuracy=0.797, form="exp", rows=rows,
                               horizon=None).as_dict()
    text = json.dumps(d, allow_nan=False)  # raises on NaN or inf
    assert json.loads(text)["curve"]["form"] == "exp" and d["observed_epoch"] is None and d["observed_energy_j"] is None


def test_late_accuracy_gain_and_early_stop_summary_by_hand():
    # 9 epochs: the last third starts after epoch 6 (index 9 - 1 - 3 = 5): 0.80 -> 0.83
    rows = _run_frame([0.1, 0.5, 0.6, 0.7, 0.75, 0.80, 0.81, 0.82, 0.83], [1.0] * 9)
    assert acc.late_accuracy_gain(rows) == pytest.approx(0.03)
    validation = pd.DataFrame({
        "form": ["exp"] * 3, "k": [5, 5, 10], "model": ["a", "b", "a"], "reachable": [True, False, True],
        "covered": [True, math.nan, False], "epoch_error": [-2, math.nan, 4],
        "energy_error_pct": [-10.0, math.nan, 30.0], "rmse_rest": [0.01, 0.03, 0.02]})
    s = acc.early_stop_summary(validation)
    assert s.loc[("exp", 5)].to_dict() == pytest.approx(dict(
        runs=2, reachable=1, interval_covers=1, median_abs_epoch_error=2.0, median_abs_energy_error_pct=10.0,
        median_rmse_rest=0.02))
    assert s.loc[("exp", 10), "interval_covers"] == 0 and s.loc[("exp", 10), "median_abs_epoch_error"] == 4.0


def test_figures_4_17_4_20_have_a_panel_per_run_and_per_dataset_and_accuracy_imports_no_matplotlib():
    import subprocess
    import sys

    from greenai.figures import ch4

    n = np.arange(1, 13)
    rows = pd.concat([
        _run_frame(0.9 - 0.5 * np.exp(-0.3 * n), [100.0] * 12).assign(n_epochs=n, source_file="accuracy_a.csv"),
        _run_frame(0.7 - 0.4 * n ** -0.8, [50.0] * 12, model="resnet18", dataset="cifar10",
                   experiment="accuracy_cifar10").assign(n_epochs=n, source_file="accuracy_b.csv")],
        ignore_index=True)
    fig = ch4.fig_4_17_4_20_accuracy_vs_epochs(rows)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(titles) == 2 and any("thesis Figs 4.18, 4.20" in t for t in titles)
    fig = ch4.fig_4_17_4_20_accuracy_vs_energy(rows)
    assert [ax.get_title() for ax in fig.axes] == [ch4.ACCURACY_PANELS["fashion_mnist"], ch4.ACCURACY_PANELS["cifar10"]]
    # the cumulative energy of the first run ends at 12 x 100 J = 1.2 kJ
    assert max(max(line.get_xdata()) for line in fig.axes[0].lines[:1]) == pytest.approx(1.2)
    code = ("import sys; import greenai.accuracy, greenai.predict\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'seaborn')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
