"""`make clean` removes only what is regenerated and untracked."""

from __future__ import annotations

import glob
import shutil
import subprocess

import pytest

from greenai import paths


def _git(*args) -> str:
    return subprocess.run(["git", *args], cwd=paths.REPO_ROOT, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_make_clean_removes_nothing_tracked():
    try:
        _git("rev-parse", "--git-dir")
    except subprocess.CalledProcessError:
        pytest.skip("not a git checkout")
    dry = subprocess.run(["make", "-n", "clean"], cwd=paths.REPO_ROOT, capture_output=True, text=True, check=True).stdout
    removed = [arg for line in dry.splitlines() if line.startswith("rm ") for arg in line.split()[1:]
               if not arg.startswith("-")]
    assert "results/report" in removed and "notebooks/*.ipynb" in removed
    for pattern in removed:
        assert not pattern.startswith(("results/raw", "results/notebooks", "data")), pattern
        for path in glob.glob(str(paths.REPO_ROOT / pattern)) or [pattern]:
            rel = str(paths.REPO_ROOT.joinpath(path).relative_to(paths.REPO_ROOT))
            assert _git("ls-files", "--", rel) == "", f"make clean would delete tracked {rel}"
    # the __pycache__ sweep deletes folders named __pycache__ only, never under .venv
    assert any("__pycache__" in line and "-prune" in line and ".venv" in line for line in dry.splitlines())
