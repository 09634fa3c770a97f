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
    assert "n/a" in text and "not reproducible here" in text
    assert "+50.0%" not in text  # "a" is context, not a thesis claim tested on the thesis' number
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


# ---------------------------------------------------------------- the verdict rule, on hand-made inputs

def _row(ours, thesis=math.nan, noise=math.nan, untestable=""):
    return dict(our_value=ours, thesis_value=thesis, noise=noise, untestable=untestable)


ABOVE = claims.Expected("x", "01_x", "1", "ours above 0", ">", threshold=0.0)
BELOW = claims.Expected("x", "01_x", "1", "ours below 1", "<", threshold=1.0)
EQUAL = claims.Expected("x", "01_x", "1", "ours equal to the thesis", "≈", tolerance=0.1)


@pytest.mark.parametrize("row, expected, verdict", [
    (_row(5.0), ABOVE, claims.REPRODUCED),
    (_row(-5.0), ABOVE, claims.NOT_REPRODUCED),
    (_row(5.0, noise=6.0), ABOVE, claims.WITHIN_NOISE),      # the gap is smaller than the spread of repeats
    (_row(-5.0, noise=6.0), ABOVE, claims.WITHIN_NOISE),     # ... whichever its sign
    (_row(5.0, noise=4.0), ABOVE, claims.REPRODUCED),
    (_row(0.5), BELOW, claims.REPRODUCED),
    (_row(1.5), BELOW, claims.NOT_REPRODUCED),
    (_row(10.5, thesis=10.0), EQUAL, claims.REPRODUCED),
    (_row(12.0, thesis=10.0), EQUAL, claims.NOT_REPRODUCED),
    (_row(12.0, thesis=10.0, noise=2.5), EQUAL, claims.REPRODUCED),  # consistent within our own noise
    (_row(math.nan), ABOVE, claims.NO_DATA),
    (_row(5.0), None, claims.CONTEXT),
])
def test_verdict_rule(row, expected, verdict):
    assert claims.verdict(row, expected) == verdict


def test_direction_holds_but_magnitude_missed_is_partly():
    e = claims.Expected("x", "01_x", "1", "ours above 0, about the thesis' size", ">", threshold=0.0, tolerance=0.2)
    assert claims.verdict(_row(11.0, thesis=10.0), e) == claims.REPRODUCED
    assert claims.verdict(_row(3.0, thesis=10.0), e) == claims.PARTLY
    assert claims.verdict(_row(-3.0, thesis=10.0), e) == claims.NOT_REPRODUCED


def test_untestable_claims_say_why_and_missing_values_say_no_data():
    e = claims.Expected("x", "01_x", "1", "a property of another GPU", "≈", untestable="other GPU")
    assert claims.verdict(_row(3.0, thesis=1.0), e) == "not testable here: other GPU"
    assert claims.verdict(_row(math.nan, thesis=1.0), e) == claims.NO_DATA
    row = _row(math.nan, thesis=0.0, untestable="below the counter's resolution")
    assert claims.verdict(row, ABOVE) == "not testable here: below the counter's resolution"


def test_a_direction_test_needs_a_threshold():
    with pytest.raises(ValueError, match="threshold"):
        claims.Expected("x", "01_x", "1", "s", ">")


def test_registry_entries_not_recorded_show_as_no_data_yet(tmp_path, monkeypatch):
    monkeypatch.setenv("GREENAI_OUTPUT_DIR", str(tmp_path))
    registry = (
        claims.Expected("gap", "01_x", "4.1.1", "newer GPU cheaper", ">", threshold=0.0),
        claims.Expected("m_*", "01_x", "4.1.2", "MACs", "≈", tolerance=0.01),
        claims.Expected("hc", "05_later", "4.2.1", "energy = HC × MACs", "≈", thesis_value=5.9e-11),
    )
    claims.record("01_x", [
        dict(claim_id="gap", section="4.1.1", description="gap", thesis_value=212.0, our_value=143.0, unit="J",
             noise=160.0),
        dict(claim_id="m_a", section="4.1.2", description="a", thesis_value=1.0, our_value=1.001, unit="GMAC"),
        dict(claim_id="m_b", section="4.1.2", description="b", thesis_value=1.0, our_value=1.1, unit="GMAC"),
        dict(claim_id="extra", section="2.2", description="context", thesis_value=math.nan, our_value=1.0, unit=""),
    ])
    t = claims.table(registry=registry).set_index("claim_id")
    assert t.verdict.to_dict() == {"gap": claims.WITHIN_NOISE, "m_a": claims.REPRODUCED,
                                   "m_b": claims.NOT_REPRODUCED, "extra": claims.CONTEXT, "hc": claims.NO_DATA}
    assert t.loc["hc", "notebook"] == "05_later"
    text = claims.render_markdown(t.reset_index())
    assert "+0.1%" in text and "+10.0%" in text  # Δ where the thesis' number itself is the test (m_a, m_b) ...
    assert "-32.5%" not in text                   # ... not for a direction claim measured on other GPUs (gap)


def test_every_registry_entry_is_well_formed_and_unique():
    ids = [e.claim_id for e in claims.EXPECTED]
    assert len(ids) == len(set(ids))
    for e in claims.EXPECTED:
        assert e.notebook[:2].isdigit() and e.section and e.statement
        assert claims.expected_for(e.claim_id) is e  # no entry shadows a later one


def test_committed_claims_table_is_current():
    """results/claims.md and results/claims.csv are what the recorded rows in results/claims/ give today."""
    committed = paths.RESULTS_DIR / "claims.md"
    regenerated = claims.render_markdown(claims.table(paths.RESULTS_DIR / "claims"))
    assert committed.read_text() == regenerated, (
        "results/claims.md is stale: run `make reproduce` (or greenai.claims.write_markdown) and commit it")
    assert (paths.RESULTS_DIR / "claims.csv").is_file(), "results/claims.csv missing: run `make reproduce`"
    csv = pd.read_csv(paths.RESULTS_DIR / "claims.csv", keep_default_na=False, na_values=[""])
    assert list(csv.verdict) == list(claims.table(paths.RESULTS_DIR / "claims").verdict)
