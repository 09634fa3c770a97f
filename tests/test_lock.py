"""requirements.lock agrees with pyproject.toml, environment.yml and the Makefile, and is what is installed."""

from __future__ import annotations

import platform
import re
import sys
import tomllib
from importlib import metadata

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from greenai import paths

LOCK = paths.REPO_ROOT / "requirements.lock"


def _locked() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", LOCK.read_text(), flags=re.M)
    return {canonicalize_name(name): Version(version) for name, version in pins}


def _makefile_extras() -> list[str]:
    makefile = (paths.REPO_ROOT / "Makefile").read_text()
    return re.search(r"^EXTRAS\s*:=\s*(\S+)", makefile, flags=re.M).group(1).split(",")


def test_every_locked_pin_has_hashes():
    text = LOCK.read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 2)[2])
    assert len(blocks) == len(_locked()) > 100
    for block in blocks:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_lock_satisfies_pyproject_and_its_extras():
    project = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text())["project"]
    extras = _makefile_extras()
    assert set(extras) <= set(project["optional-dependencies"])
    wanted = project["dependencies"] + [r for e in extras for r in project["optional-dependencies"][e]]
    locked = _locked()
    for spec in map(Requirement, wanted):
        name = canonicalize_name(spec.name)
        assert name in locked, f"{spec} is not in requirements.lock: run `make lock`"
        assert spec.specifier.contains(locked[name], prereleases=True), \
            f"requirements.lock has {name}=={locked[name]}, pyproject.toml asks {spec}: run `make lock`"


def test_the_lock_was_made_for_the_makefiles_extras():
    command = LOCK.read_text().splitlines()[1]
    assert re.findall(r"--extra (\S+)", command) == _makefile_extras()
    assert "--python-version 3.11" in command and "--generate-hashes" in command


def test_environment_yml_installs_the_lock_on_the_locks_python():
    env = yaml.safe_load((paths.REPO_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip_section == ["-r requirements.lock"]


@pytest.mark.skipif((sys.version_info[:2], sys.platform, platform.machine()) != ((3, 11), "linux", "x86_64"),
                    reason="the lock is resolved for CPython 3.11 on x86_64 Linux")
@pytest.mark.skipif(sys.prefix != str(paths.REPO_ROOT / ".venv"), reason="not the environment `make setup` made")
def test_the_environment_is_the_lock():
    drift = {}
    for name, version in _locked().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            drift[name] = (str(version), str(installed))
    assert not drift, f"installed versions differ from requirements.lock (locked, installed): {drift}; run `make setup`"
