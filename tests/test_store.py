"""The row store: one writer, additive schema changes, nothing dropped silently; campaign user errors."""

from __future__ import annotations

import math
import warnings

import pandas as pd
import pytest

from greenai.experiments import store


def test_new_columns_extend_an_existing_file_and_older_rows_read_nan(tmp_path):
    path = tmp_path / "rows.csv"
    store.RowStore(path, ("a", "b")).append([{"a": 1, "b": 2}, {"a": 3, "b": 4}])
    with pytest.warns(store.SchemaWarning, match=r"1 new column\(s\) appended \(c\); its 2 older row\(s\) read as NaN"):
        s = store.RowStore(path, ("a", "b", "c"))
    assert s.columns == ("a", "b", "c") and s.added_columns == ("c",)
    s.append([{"a": 5, "b": 6, "c": 7.5}])
    assert path.read_text() == "a,b,c\n1,2,\n3,4,\n5,6,7.5\n"
    rows = pd.read_csv(path)
    assert math.isnan(rows.c[0]) and rows.c[2] == 7.5
    # reopening with the same columns changes nothing and says nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.RowStore(path, ("a", "b", "c")).added_columns == ()


def test_file_columns_the_writer_does_not_know_are_refused(tmp_path):
    path = tmp_path / "rows.csv"
    store.RowStore(path, ("a", "b")).append([{"a": 1, "b": 2}])
    with pytest.raises(store.ResultsFileError, match=r"extra: \['b'\]"):
        store.RowStore(path, ("a", "c"))


def test_unknown_row_key_is_an_error_when_strict_and_a_warning_otherwise(tmp_path):
    path = tmp_path / "rows.csv"
    with pytest.raises(store.UnknownColumnsError, match=r"\['z'\]"):
        store.RowStore(path, ("a",), strict=True).append([{"a": 1, "z": 2}])
    assert path.read_text() == "a\n"  # nothing written
    with pytest.warns(store.SchemaWarning, match=r"\['z'\] are no column"):
        store.RowStore(path, ("a",), strict=False).append([{"a": 1, "z": 2}])
    assert path.read_text() == "a\n1\n"


def test_tests_run_strict():
    assert store.strict_default()


def test_append_row_extends_with_new_keys_and_refuses_missing_ones(tmp_path):
    path = tmp_path / "m.csv"
    store.append_row(path, {"a": 1, "b": math.nan})
    with pytest.warns(store.SchemaWarning):
        store.append_row(path, {"a": 2, "b": 0.5, "c": "x"})
    assert path.read_text() == "a,b,c\n1,,\n2,0.5,x\n"
    with pytest.raises(store.ResultsFileError):
        store.append_row(path, {"a": 3})


def test_keys_for_resume_and_partial_tail(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("k,v\n1,2\n3,")
    with pytest.warns(store.DroppedRowsWarning, match=r"dropped an incomplete last row \(line 3"):
        s = store.RowStore(path, ("k", "v"))
    assert s.keys(("k",)) == {("1",)} and path.read_text() == "k,v\n1,2\n"
    assert store.row_key({"k": 1.0, "v": None}, ("k", "v")) == ("1.0", "")


def test_a_value_with_newlines_stays_on_one_line_and_any_size_reads_back(tmp_path):
    path = tmp_path / "n.csv"
    assert store.cell("a\nb\r\nc\x00") == "a\\nb\\r\\nc\\0"
    big = "y" * 200_000  # over the csv module's default field limit (128 KiB)
    with store.RowStore(path, ("k", "note", "big")) as s:
        s.append([{"k": 1, "note": 'say "hi"\nthen go', "big": big}, {"k": 2, "note": "x", "big": ""}])
    lines = path.read_text().split("\n")
    assert len(lines) == 4 and lines[1].startswith('1,"say ""hi""\\nthen go",')
    with store.RowStore(path, ("k", "note", "big")) as s:  # a resume reads it
        assert s.keys(("k",)) == {("1",), ("2",)}
    rows = store.read_rows(path)
    assert rows.big[0] == big and rows.note[0] == 'say "hi"\\nthen go'


def test_a_key_already_in_the_file_is_never_appended_again(tmp_path):
    cols = store.PHASE_COLUMNS
    row = {c: "x" for c in store.KEY_COLUMNS["phases"]}
    one, two = store.RowStore(tmp_path / "p.csv", cols), store.RowStore(tmp_path / "p.csv", cols)
    assert one.key_columns == store.KEY_COLUMNS["phases"]
    one.append([row])
    with pytest.warns(store.DroppedRowsWarning, match=r"2 row\(s\) not appended: their key is already"):
        two.append([row, {**row, "window": "y"}, {**row, "window": "y"}])
    assert [r.window for r in store.read_rows(tmp_path / "p.csv").itertuples()] == ["x", "y"]
    one.close()
    two.close()
    with pytest.raises(store.ResultsFileError, match="closed"):
        one.append([row])


def test_load_results_drops_torn_misfielded_and_duplicate_rows_and_says_which(tmp_path):
    keys = store.KEY_COLUMNS["train"]
    header = ",".join(keys + ("energy_j",))
    good = ",".join(["e", "g", "m", "d", "s", "p", "4", "0", "0"]) + ",1.5"
    text = (header + "\n" + good + ",extra\n" + good + "\n" + good.replace(",0,0,", ",0,1,") + "\n" + good
            + "\n" + good.replace(",0,0,", ",0,2,")[:-2])
    (tmp_path / "t.csv").write_text(text)
    with pytest.warns(store.DroppedRowsWarning, match=r"t.csv: 3 row\(s\) left out: line 2: 11 fields"):
        rows = store.load_results("t", tmp_path)
    assert rows.attrs["dropped_rows"] == ["line 2: 11 fields, the header has 10",
                                          "line 5: repeats the key of line 3",
                                          "line 6: torn (no final newline or an open quote)"]
    assert rows.epoch_index.tolist() == [0, 1] and rows.model.tolist() == ["m", "m"]  # no shifted columns
    assert rows.energy_j.tolist() == [1.5, 1.5]
    # a free-form file repeats what it likes; a valid file says nothing
    (tmp_path / "f.csv").write_text("a,b\n1,2\n1,2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(store.load_results("f", tmp_path)) == 2


def test_committed_measurements_are_written_only_by_a_gpu_campaign(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from greenai import paths
    from greenai.experiments.sweep import sweep

    monkeypatch.setattr(paths, "RAW_DIR", tmp_path / "raw")
    path = tmp_path / "raw" / "kpi.csv"
    with pytest.raises(store.ProtectedResultsError, match=r"only a GPU campaign writes to results/raw; pass --out"):
        store.RowStore(path, store.TRAIN_COLUMNS)
    assert not path.exists()

    def run(device):
        return sweep([], path, store.TRAIN_COLUMNS, store.KEY_COLUMNS["train"], None, None,
                     env=SimpleNamespace(device=device), validate_first=False, progress=False)

    with pytest.raises(store.ProtectedResultsError):
        run("cpu")
    run("cuda:0")  # a campaign on a GPU opens it
    assert path.read_text().startswith("experiment,gpu_name,")
    base = {c: "x" for c in store.KEY_COLUMNS["train"]}
    with store.RowStore(path, store.TRAIN_COLUMNS, allow_raw=True) as s:
        s.append([{**base, "gpu_name": "NVIDIA H200", "precision": "bf16"}])
        s.append([{**base, "gpu_name": "NVIDIA H200", "precision": "bf16", "repeat": 1}])
        for other in ({"gpu_name": "NVIDIA A100"}, {"precision": "fp32"}):
            with pytest.raises(store.MixedResultsError, match="mixed_ok=True"):
                s.append([{**base, "gpu_name": "NVIDIA H200", "precision": "bf16", "repeat": 2, **other}])
    with pytest.raises(store.MixedResultsError, match=r"gpu_name \['NVIDIA A100'\]"):
        store.check_compatible(path, [{"gpu_name": "NVIDIA A100"}])
    # a grid's own precisions join (the precision experiment writes four into one file); another GPU does not
    with store.RowStore(path, store.TRAIN_COLUMNS, allow_raw=True, declared={"precision": {"bf16", "fp32"}}) as s:
        s.append([{**base, "gpu_name": "NVIDIA H200", "precision": "fp32", "repeat": 3}])
        with pytest.raises(store.MixedResultsError, match=r"precision \['tf32'\]"):
            s.append([{**base, "gpu_name": "NVIDIA H200", "precision": "tf32", "repeat": 4}])
        with pytest.raises(store.MixedResultsError, match="gpu_name"):
            s.append([{**base, "gpu_name": "NVIDIA A100", "precision": "fp32", "repeat": 5}])
    with store.RowStore(path, store.TRAIN_COLUMNS, allow_raw=True, mixed_ok=True) as s:
        s.append([{**base, "gpu_name": "NVIDIA A100", "precision": "bf16"}])
    assert len(store.read_rows(path)) == 4
    store.check_compatible(tmp_path / "elsewhere.csv", [{"gpu_name": "any"}])  # no file: anything goes


def test_load_results_adds_missing_schema_columns_as_nan(tmp_path):
    cols = [c for c in store.PHASE_COLUMNS if c != "uncertainty_j"]
    pd.DataFrame([dict.fromkeys(cols, 1)]).to_csv(tmp_path / "p.csv", index=False)
    rows = store.load_results("p", tmp_path)
    assert rows.attrs["missing_columns"] == ["uncertainty_j"] and rows.uncertainty_j.isna().all()
    with pytest.raises(store.MissingResultsError, match="greenai.campaign"):
        store.load_results("nope", tmp_path)


def test_campaign_without_gpu_says_so_first_with_exit_2(capsys, monkeypatch):
    import torch

    from greenai import campaign

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert campaign.main(["-e", "cifar10", "--data-root", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("greenai campaign: no GPU") and len(err.strip().splitlines()) == 1
    assert "download=True" not in err and "not found" not in err


def test_campaign_dataset_problems_are_listed_without_download_advice(tmp_path):
    from greenai import campaign
    from greenai import experiments as ex

    with pytest.raises(ex.GridError) as info:
        ex.validate(campaign.EXPERIMENTS["cifar10_pair"].specs(), data_root=tmp_path)
    msg = str(info.value)
    assert "CIFAR-10 not found under" in msg and "download=True" not in msg


def test_measurement_fields_carry_cpu_reason_edges_and_every_method():
    from greenai.energy import Measurement

    m = Measurement(key="w", begin_unix_s=1.7e9, duration_s=2.0, method="counter", gpu_energy_j={2: 100.0},
                    energy_by_method={"counter": 100.0, "smi": 98.0}, counter_updates=20, uncertainty_j=0.5,
                    cpu_energy_note="RAPL files not readable",
                    edges={"begin": {2: {"temperature_c": 40.0, "sm_clock_mhz": 1980.0, "power_limit_w": 700.0}},
                           "end": {2: {"temperature_c": 55.0, "sm_clock_mhz": 1755.0, "power_limit_w": 700.0}}},
                    warnings=["short window"])
    f = store.measurement_fields(m)
    assert set(store.MEASUREMENT_COLUMNS) <= set(f)
    assert (f["begin_temperature_c"], f["end_temperature_c"], f["end_sm_clock_mhz"]) == (40.0, 55.0, 1755.0)
    assert f["metered_gpus"] == "2" and f["energy_smi_j"] == 98.0 and math.isnan(f["energy_tdp_j"])
    assert math.isnan(f["cpu_energy_j"]) and f["cpu_energy_note"] == "RAPL files not readable"
    assert f["counter_updates"] == 20.0 and f["warnings"] == "short window"
    none = store.measurement_fields(None)
    assert none["cpu_energy_note"] == "no meter" and math.isnan(none["begin_power_limit_w"])
    # every field is a column of each kind of row: nothing of the measurement is dropped
    for kind in ("train", "phases", "layers"):
        assert set(f) <= set(store.COLUMNS[kind]), kind
