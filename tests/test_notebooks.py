"""Every numbered notebook executes end to end with ``QUICK=True`` (on the
recorded results, CPU only), so a notebook cannot rot unnoticed."""

import pytest

from greenai import reproduce

NOTEBOOKS = reproduce.notebook_sources()


@pytest.mark.slow
@pytest.mark.parametrize("source", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(source, tmp_path):
    executed = reproduce.run_notebook(source, {"QUICK": True}, output_dir=tmp_path)
    assert executed.exists()


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
    assert {"accuracy_plateaus", "cifar100_accuracy_about_half", "energy_to_accuracy_model"} <= set(claims.claim_id)
    if recorded:
        assert len(table) and {"epoch_error", "energy_error_j", "energy_error_pct", "k"} <= set(table.columns)
        assert (paths.figures_dir() / "fig_4_17_4_20_accuracy_vs_energy.png").exists()
        assert "epochs" in text and "kJ" in text
    else:
        assert table.empty and "no data yet" in text
