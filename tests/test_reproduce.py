"""Executed notebooks carry no absolute path of the machine that ran them."""

from __future__ import annotations

import re

import nbformat
import pytest

from greenai import paths, reproduce

#: An absolute path into a checkout (…/results/…, …/notebooks/…, …/data/…) after a quote, bracket or space.
MACHINE_PATH = re.compile(r"""['"(\s](/(?:[\w.-]+/)+(?:results|notebooks|data)/)""")


def test_executed_notebook_paths_become_relative_to_the_checkout(tmp_path):
    root = paths.REPO_ROOT
    cell = nbformat.v4.new_code_cell("save_figure(fig, 'fig_x')", outputs=[
        nbformat.v4.new_output("execute_result", data={"text/plain": f"PosixPath('{root}/results/figures/fig_x.png')"},
                               execution_count=1),
        nbformat.v4.new_output("stream", name="stdout", text=f"wrote {root}/results/tables/t.csv\nkept /elsewhere/x\n"),
    ])
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["papermill"] = {"input_path": f"{root}/notebooks/x.ipynb", "output_path": f"{root}/results/notebooks/x.ipynb"}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    reproduce._strip_machine_paths(path)
    text = path.read_text()
    assert str(root) not in text
    back = nbformat.read(path, as_version=4)
    assert back.metadata.papermill.input_path == "notebooks/x.ipynb"
    assert back.cells[0].outputs[0].data["text/plain"] == "PosixPath('results/figures/fig_x.png')"
    assert back.cells[0].outputs[1].text == "wrote results/tables/t.csv\nkept /elsewhere/x\n"


def _executed_copy(tmp_path, name, when):
    """A notebook as papermill leaves it: random cell ids, timings, kernel timestamps."""
    import uuid

    # the kernel may deliver what one cell prints in one chunk or several, depending on timing
    chunks = [["1\n2\n"], ["1\n", "2\n"]][name == "b.ipynb"]
    cells = [nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell("print(1)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=t) for t in chunks])]
    for cell in cells:
        cell["id"] = uuid.uuid4().hex[:8]
        cell.metadata["papermill"] = {"duration": 0.01, "start_time": when, "end_time": when,
                                      "exception": False, "status": "completed"}
        cell.metadata["execution"] = {"iopub.status.busy": when, "shell.execute_reply": when}
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["papermill"] = {"duration": 1.5, "start_time": when, "end_time": when, "version": "2.6.0"}
    path = tmp_path / name
    nbformat.write(nb, path)
    reproduce._strip_volatile_metadata(path)
    return path


def test_two_runs_of_the_same_notebook_are_the_same_file(tmp_path):
    first = _executed_copy(tmp_path, "a.ipynb", "2026-11-29T22:30:16.446908+00:00")
    second = _executed_copy(tmp_path, "b.ipynb", "2026-11-30T08:00:00.000000+00:00")
    assert first.read_bytes() == second.read_bytes()
    nb = nbformat.read(first, as_version=4)
    assert [c.id for c in nb.cells] == ["cell-0", "cell-1"]
    assert nb.cells[0].metadata.papermill == {"exception": False, "status": "completed"}
    assert nb.metadata.papermill == {"version": "2.6.0"} and [o.text for o in nb.cells[1].outputs] == ["1\n2\n"]


@pytest.mark.parametrize("committed", sorted((paths.RESULTS_DIR / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_committed_executed_notebooks_carry_no_machine_path(committed):
    found = sorted(set(MACHINE_PATH.findall(committed.read_text())))
    assert not found, f"absolute paths in {committed.name}: {found} (re-run make reproduce)"


def test_the_machine_path_pattern_finds_absolute_paths_only():
    assert MACHINE_PATH.findall("PosixPath('/home/me/greenai/results/figures/a.png')") == ["/home/me/greenai/results/"]
    assert MACHINE_PATH.findall("PosixPath('results/figures/a.png') see https://example.org/results/") == []


#: notebooks cheap enough to execute twice, in full (not QUICK), in the test suite
CHEAP = ("01_measurement", "02_layer_energy", "07_power_limit")


def _outputs(root):
    """Every file a notebook run wrote under ``root`` (figures, tables, claims), by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.parent.name in ("figures", "tables", "claims")}


@pytest.mark.slow
def test_cheap_notebooks_run_twice_give_the_committed_bytes(tmp_path, monkeypatch):
    runs = []
    for run in ("a", "b"):
        out = tmp_path / run
        monkeypatch.setenv("GREENAI_OUTPUT_DIR", str(out))
        for name in CHEAP:
            reproduce.run_notebook(paths.NOTEBOOKS_DIR / f"{name}.py", output_dir=out / "notebooks")
        runs.append(_outputs(out))
    first, second = runs
    assert first == second
    assert len(first) >= 6
    for rel, content in first.items():
        committed = paths.RESULTS_DIR / rel
        assert committed.exists(), f"{rel} is written by a notebook but not committed"
        assert committed.read_bytes() == content, f"{rel} differs from the committed output (run make reproduce)"
    for name in CHEAP:  # the executed copies too, but for where they were written
        executed = [(tmp_path / run / "notebooks" / f"{name}.ipynb").read_text() for run in ("a", "b")]
        executed = [text.replace(str(tmp_path / run), "results") for text, run in zip(executed, "ab")]
        assert executed[0] == executed[1]


def _commit_outputs(root, files):
    import subprocess

    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_differing_outputs_ignores_only_the_volatile_fields(tmp_path, monkeypatch):
    dispatch = "results/notebooks/08_dispatch.ipynb"
    table = "results/tables/t.csv"
    _commit_outputs(tmp_path, {dispatch: '"864 solves in 4.4 s; largest gap 1e-13"', table: "a,b\n1,2\n",
                               "results/raw/r.csv": "x\n1\n"})
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    assert reproduce.differing_outputs() == []
    (tmp_path / dispatch).write_text('"864 solves in 51.2 s; largest gap 1e-13"')
    assert reproduce.differing_outputs() == []
    (tmp_path / dispatch).write_text('"865 solves in 51.2 s; largest gap 1e-13"')
    assert reproduce.differing_outputs() == [f"M {dispatch}"]
    (tmp_path / dispatch).write_text('"864 solves in 4.4 s; largest gap 1e-13"')
    (tmp_path / table).write_text("a,b\n1,2.0000000001\n")
    (tmp_path / "results/figures").mkdir()
    (tmp_path / "results/figures/new.png").write_bytes(b"\x89PNG")
    assert reproduce.differing_outputs() == [f"M {table}", "?? results/figures/new.png"]


def test_differing_outputs_needs_a_git_checkout(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.raises(RuntimeError, match="no git checkout"):
        reproduce.differing_outputs()


@pytest.mark.parametrize("machine, flags, pinned", [
    ("x86_64", {"sse2", "avx", "avx2", "fma", "avx512f"}, True),  # AVX-512 there: still the AVX2 paths
    ("x86_64", {"sse2", "avx2", "fma"}, True),
    ("x86_64", {"sse2", "avx"}, False),  # no AVX2: the Haswell kernels would not run
    ("aarch64", {"asimd"}, False),
])
def test_kernel_environment_fixes_threads_everywhere_and_the_avx2_paths_where_they_run(machine, flags, pinned):
    env = reproduce.kernel_environment(machine, flags)
    assert {env[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")} == {"1"}
    assert ("OPENBLAS_CORETYPE" in env) is pinned and ("NPY_DISABLE_CPU_FEATURES" in env) is pinned
    if pinned:
        assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["ATEN_CPU_CAPABILITY"] == "avx2"
        assert "X86_V4" in env["NPY_DISABLE_CPU_FEATURES"].split()


def test_a_notebook_kernel_runs_in_the_kernel_environment_and_keeps_a_value_set_by_the_caller(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the caller's value is kept
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    source = tmp_path / "99_env.py"
    source.write_text("# %%\nimport os\nprint(os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('OMP_NUM_THREADS'))\n")
    executed = reproduce.run_notebook(source, output_dir=tmp_path / "out")
    printed = nbformat.read(executed, as_version=4).cells[-1].outputs[0].text
    assert printed == "1 3\n"
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # restored after the run
