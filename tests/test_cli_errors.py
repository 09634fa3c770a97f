"""A user's mistake on the command line is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from greenai import cli


@pytest.mark.parametrize("argv, says", [
    (["reproduce", "--only", "nope"], "no notebook matches --only 'nope'"),
    (["reproduce", "--check", "--quick"], "--check compares with the committed outputs"),
    (["models", "--dataset", "nope"], "unknown dataset 'nope'"),
    (["models", "--image-size", "0"], "--image-size must be a positive"),
    (["models", "--image-size", "8"], "--image-size 8 is too small: "),
])
def test_user_mistake_is_one_line_on_stderr_with_exit_code_2(argv, says, capsys, tmp_path):
    written = tmp_path / "table.csv"
    if argv[0] == "models":
        argv = [*argv, "--csv", str(written)]
    assert cli.main(argv) == 2
    assert not written.exists()
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err
    assert err.startswith(f"greenai {argv[0]}: ")


def test_models_table_into_an_unwritable_csv_is_one_line_and_exit_2(capsys, tmp_path):
    target = tmp_path / "no-such-folder" / "table.csv"
    assert cli.main(["models", "--csv", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"greenai models: cannot write {target}: ") and len(err.strip().splitlines()) == 1
    assert not target.parent.exists()


@pytest.fixture
def no_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("argv, says", [
    (["--device", "cuda"], "no GPU found"),
    (["--device", "cuda", "--quick"], "no GPU found"),
    (["--device", "tpu", "--quick"], "--device 'tpu': the campaign runs on cuda or cuda:N (a GPU), or on cpu"),
    (["--device", "mps", "--quick"], "--device 'mps': the campaign runs on cuda"),
    (["--scheduler", "notanaddress", "--quick"], "--scheduler notanaddress: missing port number"),
    (["--quick", "--device", "cpu", "--out", "{raw}/trial"], "lies inside"),
    (["--scheduler", "tcp://127.0.0.1:9", "--device", "cpu", "--out", "{raw}"], "a --device cpu run writes elsewhere"),
])
def test_campaign_mistakes_are_one_line_and_write_nothing(argv, says, no_cuda, capsys, tmp_path, monkeypatch):
    from greenai import campaign, paths

    raw, scratch = tmp_path / "raw", tmp_path / "scratch"  # stand-ins: the check is on paths.RAW_DIR
    monkeypatch.setattr(paths, "RAW_DIR", raw)
    monkeypatch.setattr(paths, "SCRATCH_DIR", scratch)
    raw.mkdir()
    argv = [a.replace("{raw}", str(raw)) for a in argv]
    assert campaign.main(["-e", "hardware", "--idle-s", "0", "--no-progress", *argv]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("greenai campaign: ") and says in lines[0], err
    assert "Traceback" not in err
    assert list(raw.iterdir()) == [] and not scratch.exists()


def test_report_without_the_notebooks_extra_is_one_line(tmp_path):
    """``python -m greenai.report`` where nbconvert/nbformat cannot be imported (the extra not installed)."""
    import os
    import subprocess
    import sys

    from greenai import paths

    code = ("import sys; sys.modules['nbconvert'] = None; sys.modules['nbformat'] = None; "
            "sys.modules['papermill'] = None; from greenai import report; sys.exit(report.main(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT), "GREENAI_OUTPUT_DIR": str(tmp_path)}
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_x.ipynb").write_text("{}")  # an executed notebook to render: the report gets that far
    proc = subprocess.run([sys.executable, "-c", code, "--out", str(tmp_path / "site")], capture_output=True,
                          text=True, env=env, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("greenai report: ") and "Traceback" not in proc.stderr
    assert "pip install 'greenai[notebooks]'" in lines[0]
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("content", [b"name,age\nbob,3\nann,4", b"\x89PNG\r\n\x1a\n\x00\x00binary"])
def test_campaign_into_a_foreign_file_is_one_line_and_leaves_it_untouched(content, capsys, tmp_path):
    from greenai import campaign

    foreign = tmp_path / "kpi_hardware.csv"  # where `-e hardware` writes its rows
    foreign.write_bytes(content)
    argv = ["-e", "hardware", "--quick", "--device", "cpu", "--idle-s", "0", "--no-progress", "--out", str(tmp_path)]
    assert campaign.main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("greenai campaign: ") and "kpi_hardware.csv" in lines[0], err
    assert foreign.read_bytes() == content
    assert not (tmp_path / "kpi_hardware.meta.json").exists()


def test_a_notebook_glob_without_suffix_names_each_notebook_once(tmp_path, monkeypatch):
    from greenai import paths, reproduce

    for name in ("05_prediction.py", "05_prediction.ipynb", "06_accuracy.py"):
        (tmp_path / name).write_text("")
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", tmp_path)
    assert [p.name for p in reproduce.notebook_sources("05_*")] == ["05_prediction.py"]
    assert [p.name for p in reproduce.notebook_sources()] == ["05_prediction.py", "06_accuracy.py"]
