import math

import pandas as pd
import pytest

from greenai import claims, paths


def test_outputs_go_to_the_isolated_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENAI_OUTPUT_DIR", str(tmp_path))
    assert paths.figures_dir() == tmp_path / "figures"
    assert paths.figures_dir().is_dir()
    assert paths.RAW_DIR == paths.REPO_ROOT / "results" / "raw"


def test_claims_round_trip_to_markdown(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENAI_OUTPUT_DIR", str(tmp_path))
    claims.record("01_x", [
        dict(claim_id="a", section="2.2", description="thing", thesis_value=2.0, our_value=3.0, unit="J"),
        dict(claim_id="b", section="2.3", description="other", thesis_value=1.0, our_value=math.nan, unit="%",
             note="not reproducible here"),
        dict(claim_id="c", section="4.1", description="a ratio", thesis_value=math.nan, our_value=0.5, unit=""),
    ])
    table = claims.collect()
    assert list(table.claim_id) == ["a", "b", "c"]
    assert table.relative_difference.iloc[0] == pytest.approx(0.5)
    assert pd.isna(table.relative_difference.iloc[1])
    text = claims.write_markdown().read_text()
    assert "+50.0%" in text and "n/a" in text and "not reproducible here" in text
    assert "nan" not in text  # empty unit and note cells stay empty


def test_claim_from_another_notebook_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENAI_OUTPUT_DIR", str(tmp_path))
    c = claims.Claim("02_y", "a", "2.3", "d", 1.0, 1.0, "s")
    with pytest.raises(ValueError, match="belongs to"):
        claims.record("01_x", [c])


def test_meta_names_the_commit_given_by_the_caller(tmp_path, monkeypatch):
    """A tree copied to another machine has a stale .git: GREENAI_GIT_COMMIT names the code that ran."""
    import json

    from greenai import metadata

    csv = tmp_path / "rows.csv"
    csv.write_text("a\n1\n")
    monkeypatch.setenv("GREENAI_GIT_COMMIT", "abc1234")
    meta = json.loads(metadata.write_meta(csv, campaign="t").read_text())
    assert meta["git_commit"] == "abc1234"
    monkeypatch.delenv("GREENAI_GIT_COMMIT")
    meta = json.loads(metadata.write_meta(csv, campaign="t").read_text())
    assert meta["git_commit"] != "abc1234"
