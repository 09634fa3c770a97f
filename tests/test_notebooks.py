"""Every numbered notebook executes end to end with ``QUICK=True`` (on the recorded results, CPU
only) and writes what it must: its figures exist and its claims are present and finite.

What each notebook must produce is one line of :data:`EXPECTED`; a notebook without a line fails
with a message saying so (add its figures and claim ids when adding a notebook).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from greenai import reproduce

NOTEBOOKS = reproduce.notebook_sources()
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Expected:
    """What one notebook writes: figure names (``<output>/figures/<name>.png``) and claim ids
    (rows of ``<output>/claims/<notebook>.csv`` whose ``our_value`` must be finite)."""

    figures: tuple[str, ...]
    claims: tuple[str, ...]


FIG4 = ("fig_4_1_hardware", "fig_4_2_datasets", "fig_4_2b_datasets_full_epochs", "fig_4_4_batch_size",
        "fig_4_6_energy_vs_epochs", "fig_4_6b_energy_per_epoch_over_10_epochs", "fig_4_7_macs_vs_energy",
        "fig_4_9_googlenet_branches", "fig_4_10_macs_vs_energy_cifar100", "fig_4_10b_macs_vs_energy_cifar10",
        "fig_4_11_macs_vs_h2d_time", "fig_4_12_macs_vs_forward_energy", "fig_4_13_macs_vs_backward_energy",
        "fig_phase_energy_methods", "fig_precision")
CLAIMS4 = ("4.1.1-alexnet-gap", "4.1.1-resnet18-gap", "4.1.2-alexnet-cifar100-over-fmnist",
           "4.1.2-resnet18-cifar100-over-fmnist", "4.1.3-64-128", "4.1.3-256-512", "4.1.3-power-64",
           "4.1.4-loglog-r2-fmnist", "4.1.4-loglog-slope-fmnist", "4.1.4-loglog-r2-fmnist-no-mobilenet",
           "4.1.5-googlenet_mod8-over-mod1", "4.1.5-googlenet_mod12-over-mod1", "2.2-alexnet-forward-method-error",
           "data-synthetic-vs-real")

#: notebook stem -> what it must write (adding a notebook is one line here)
EXPECTED: dict[str, Expected] = {
    "01_measurement": Expected(("fig_2_2_method_error_vs_window",),
                               ("tdp_overestimate_training", "tdp_overestimate_idle", "smi_1hz_error_steady",
                                "smi_1hz_error_from_idle")),
    "02_layer_energy": Expected(("fig_2_2_time_per_layer_type", "fig_2_2b_params_vs_time_per_layer"),
                                ("2.3-conv-share", "2.3-dropout-flatten", "2.3-linear-vs-pool",
                                 "2.3-conv-energy-share")),
    "03_models": Expected(("fig_3_models_macs_params",), ("macs_alexnet_fashion_mnist", "macs_vgg11_cifar100")),
    "04_kpi_analysis": Expected(FIG4, CLAIMS4),
    "05_prediction": Expected(("fig_prediction_predicted_vs_measured", "fig_prediction_residuals_per_model",
                               "fig_prediction_interval_vs_leverage_h200"),
                              ("4.2.1-hc-j-per-mac", "4.2.2-cifar10-validation", "hc_model_lomo_mape",
                               "family_lofo_mape_static", "fresh_heldout_mape_static",
                               "fresh_heldout_card_adjusted_mape_static", "fresh_heldout_worst_model_static",
                               "fresh_heldout_interval_coverage", "fresh_heldout_worst_outside",
                               "nearfamily_mape_static", "nearfamily2_mape_static", "heldout8_mape_static",
                               "nearfamily3_mape_static", "heldout9_mape_static", "nearfamily4_mape_static",
                               "nearfamily5_mape_static", "heldout12_mape_static", "heldout12_worst_model_static",
                               "nearfamily6_mape_static",
                               "heldout12_interval_coverage", "heldout12_worst_outside",
                               "heldout13_mape_static", "heldout13_worst_model_static",
                               "heldout13_interval_coverage", "heldout13_worst_outside",
                               "grouped_pointwise_term_family_out_heavy")),
    "06_accuracy": Expected(("fig_4_17_4_20_accuracy_vs_epochs", "fig_4_17_4_20_accuracy_vs_energy",
                             "fig_energy_to_accuracy_fresh"),
                            ("4.2.3-accuracy-plateau", "energy_to_accuracy_model", "energy_to_accuracy_ensemble_k5",
                             "energy_to_accuracy_ensemble_k10", "energy_to_accuracy_fresh_k5",
                             "energy_to_accuracy_fresh_k10", "energy_to_accuracy_fresh_coverage",
                             "energy_to_accuracy_c4_fresh6_k5", "energy_to_accuracy_c4_fresh6_k10")),
    "07_power_limit": Expected(("fig_5_1_power_limit_profile",), ("energy_rises_with_limit",)),
    "08_dispatch": Expected(("fig_5_4_solar_first_week", "fig_5_6_solar_vs_min_cost_23h",
                             "fig_5_7_min_cost_by_start_hour", "fig_5_x_best_start_plan", "fig_5_x_cost_vs_co2",
                             "fig_5_x_job_plan_june", "fig_5_x_job_plan_january"),
                            ("dispatch_23h_min_cost_eur", "dispatch_23h_max_cost_eur", "dispatch_32h_min_cost_eur",
                             "solar_jan1_ac_wh")),
}


def _needs_notebook_extra():
    for module in ("papermill", "jupytext", "ipykernel"):
        pytest.importorskip(module, reason=f"the notebooks extra is not installed ({module} missing): "
                                           f"pip install -e '.[notebooks]'")


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_reads_quick_beyond_its_parameters(source):
    """``QUICK`` is a parameter and is used: the tests' quick run is not the full one in disguise."""
    text = source.read_text()
    assert re.search(r"^QUICK = False$", text, re.M), f"{source.name}: no QUICK parameter"
    uses = [line for line in text.splitlines() if "QUICK" in line and not line.startswith(("QUICK =", "#"))]
    assert uses, f"{source.name}: QUICK is never read"


def test_prediction_notebook_measures_every_experiment_whose_rows_it_reads_beyond_the_zoo():
    """With ``MEASURE=True`` notebook 05 runs the campaign's synthetic and held-out experiments: one writing each
    CSV its fit or validation reads beyond the zoo's (those other notebooks measure), and each CSV it names."""
    from greenai import predict as pr
    from greenai.experiments.registry import EXPERIMENTS

    text = (ROOT / "notebooks" / "05_prediction.py").read_text()
    listed = re.search(r"^    names = \[(.*?)\]$", text, re.M | re.S)
    assert listed, "notebook 05 has no list of experiments to measure"
    measured = {EXPERIMENTS[name].csv for name in re.findall(r'"(\w+)"', listed.group(1))}
    read = {*pr.SYNTHETIC_CSVS, *pr.FORMER_HELDOUT_CSVS, *pr.HELDOUT_CSVS, *pr.CANDIDATE_CSVS,
            *re.findall(r'"(kpi_\w+)"', text)}
    assert read - measured == set(), f"notebook 05 reads rows no experiment in its MEASURE list writes: " \
                                     f"{read - measured}"


def test_every_notebook_has_its_expectations():
    missing = [p.stem for p in NOTEBOOKS if p.stem not in EXPECTED]
    assert not missing, f"add a line for {missing} to EXPECTED in tests/test_notebooks.py (figures and claim ids)"


@pytest.mark.slow
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_and_writes_its_figures_and_claims(source, tmp_path, monkeypatch):
    _needs_notebook_extra()
    expected = EXPECTED.get(source.stem)
    if expected is None:
        pytest.fail(f"{source.stem}: add its figures and claim ids to EXPECTED in tests/test_notebooks.py")
    monkeypatch.setenv("GREENAI_OUTPUT_DIR", str(tmp_path))  # the kernel inherits it: outputs land here
    # the kernel imports this checkout's greenai, not whichever one is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    executed = reproduce.run_notebook(source, {"QUICK": True}, output_dir=tmp_path / "notebooks")
    assert executed.exists()
    missing = [f for f in expected.figures if not (tmp_path / "figures" / f"{f}.png").is_file()]
    assert not missing, f"{source.stem} wrote no {missing}"
    claims_csv = tmp_path / "claims" / f"{source.stem}.csv"
    assert claims_csv.is_file(), f"{source.stem} recorded no claims"
    claims = pd.read_csv(claims_csv).set_index("claim_id")
    absent = [c for c in expected.claims if c not in claims.index]
    assert not absent, f"{source.stem} did not claim {absent}"
    values = pd.to_numeric(claims.loc[list(expected.claims), "our_value"], errors="coerce")
    not_finite = [c for c, v in values.items() if not math.isfinite(v)]
    # a fresh set chosen and frozen but not measured yet: its claims say so, and its CSV is indeed missing
    pending = [c for c in not_finite if _awaits_its_rows(str(claims.loc[c, "note"]))]
    assert not set(not_finite) - set(pending), f"{source.stem}: claims without a finite value: {not_finite}"


def _awaits_its_rows(note: str) -> bool:
    """Whether a claim's note says its split has no rows yet (``no heldout9 rows recorded yet``) while that split's
    CSV is missing from results/raw."""
    from greenai.predict.build import HELDOUT_SPLITS

    found = re.fullmatch(r"no (\w+) rows recorded yet", note)
    csv = {split: name for name, split in HELDOUT_SPLITS.items()}.get(found.group(1)) if found else None
    return csv is not None and not (ROOT / "results" / "raw" / f"{csv}.csv").exists()


@pytest.mark.slow
@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "no-data-yet"])
def test_accuracy_notebook_fits_curves_or_says_no_data_yet(recorded, tmp_path):
    """06_accuracy writes the early-stop validation table from the recorded rows, and runs on an
    empty raw folder too, saying that there is no data yet."""
    import json

    import pandas as pd

    from greenai import paths

    source = paths.NOTEBOOKS_DIR / "06_accuracy.py"
    params = {"QUICK": True} if recorded else {"QUICK": True, "RAW_DIR": str(tmp_path / "empty")}
    executed = reproduce.run_notebook(source, params, output_dir=tmp_path)
    text = "".join("".join(o.get("text", "")) for c in json.loads(executed.read_text())["cells"]
                   for o in c.get("outputs", []))
    table = pd.read_csv(paths.tables_dir() / "accuracy_early_stop_validation.csv")
    claims = pd.read_csv(paths.claims_dir() / "06_accuracy.csv")
    assert {"4.2.3-accuracy-plateau", "cifar100_accuracy_about_half", "energy_to_accuracy_model"} <= set(claims.claim_id)
    if recorded:
        assert len(table) and {"epoch_error", "energy_error_j", "energy_error_pct", "k"} <= set(table.columns)
        assert (paths.figures_dir() / "fig_4_17_4_20_accuracy_vs_energy.png").exists()
        assert "epochs" in text and "kJ" in text
    else:
        assert table.empty and "no data yet" in text
