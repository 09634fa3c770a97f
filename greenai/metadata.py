"""Provenance written beside every recorded measurement (``<name>.meta.json``):
which GPU, driver, library versions and code produced the rows, and when."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import os
import subprocess
import warnings
from pathlib import Path

from greenai import __version__, nvml, paths
from greenai.filelock import atomic_write, locked


def environment_metadata() -> dict:
    """Describe the software and GPU environment of this process.

    Read-only: NVML is queried for each GPU's name, UUID (which physical card
    ran: two cards of one kind differ by several percent in energy), power
    limit and memory, and for the driver version. Works without
    a GPU (the GPU fields are then empty lists / ``None``).
    """
    meta: dict = {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "greenai_version": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "hostname": platform.node(),
        "gpus": [],
        "driver": None,
        "torch": None,
        "cuda": None,
        "cudnn": None,
    }
    try:
        import torch  # heavy: torch

        meta["torch"] = torch.__version__
        meta["cuda"] = torch.version.cuda
        if torch.backends.cudnn.is_available():
            meta["cudnn"] = torch.backends.cudnn.version()
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    try:
        nvml.init()
        try:
            meta["driver"] = nvml.driver_version()
            for i in range(nvml.device_count()):
                gpu = nvml.Gpu(i)
                meta["gpus"].append({"index": i, "name": gpu.name, "uuid": gpu.uuid(),
                                     "power_limit_w": gpu.power_management_limit_w(),
                                     "memory_total_gib": gpu.memory_total_gib()})
        finally:
            nvml.shutdown()
    except Exception as exc:  # no NVML library, no GPU, no permission
        meta["nvml_error"] = f"{type(exc).__name__}: {exc}"
    return meta


class MetaWarning(UserWarning):
    """A ``.meta.json`` was not valid: it was kept aside (``<name>.meta.json.corrupt-N``) and a new one begun."""


def write_meta(csv_path: Path, **extra) -> Path:
    """Add this run's description to ``<csv>.meta.json`` beside ``csv_path``.

    ``extra`` (campaign name, description, seconds taken …) is merged over the
    environment description. The file keeps every run under ``"runs"`` (the
    latest also at the top level), so appending rows from several sessions loses
    no provenance. It is replaced atomically (temporary file, fsync,
    ``os.replace``) under the CSV's writer lock
    (:mod:`greenai.filelock`). A file that is no valid meta (not
    JSON, no object, ``runs`` no list) is never overwritten: it is renamed to
    ``<name>.meta.json.corrupt-N`` with a one-line :class:`MetaWarning` and the
    new file names it (``"corrupt_meta_kept_as"``).
    """
    csv_path = Path(csv_path)
    meta_path = csv_path.with_suffix(".meta.json")
    run = {**environment_metadata(), **extra}
    with locked(csv_path, wait_s=60.0):
        runs, kept_as = _previous_runs(meta_path)
        runs.append(run)
        meta = {"file": csv_path.name, **run, "runs": runs}
        if kept_as:
            meta["corrupt_meta_kept_as"] = kept_as
        atomic_write(meta_path, json.dumps(meta, indent=2, default=str) + "\n")
    return meta_path


def _previous_runs(meta_path: Path) -> tuple[list, str | None]:
    """The runs an existing meta file records, and the name it was kept aside as if it is no valid meta."""
    if not meta_path.exists():
        return [], None
    try:
        previous = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(previous, dict):
            raise ValueError(f"a JSON {type(previous).__name__}, no object")
        runs = previous.get("runs")
        if runs is None:  # a meta of one run, written before runs were kept: that run comes first
            runs = [{k: v for k, v in previous.items() if k != "file"}] if previous else []
        if not isinstance(runs, list):
            raise ValueError(f"its runs are a {type(runs).__name__}, no list")
        return runs, None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        n = 1
        while (aside := meta_path.with_name(f"{meta_path.name}.corrupt-{n}")).exists():
            n += 1
        os.replace(meta_path, aside)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        warnings.warn(f"{meta_path.name} is no valid meta ({reason}); kept as {aside.name}, a new one begun",
                      MetaWarning, stacklevel=3)
        return [], aside.name


def _git_commit() -> str | None:
    """The commit of the code that ran: ``$GREENAI_GIT_COMMIT`` if set, else ``git rev-parse HEAD``.

    The variable is for a copy of the checkout without its ``.git`` (or with a stale one): the
    caller names the commit it copied.
    """
    if os.environ.get("GREENAI_GIT_COMMIT"):
        return os.environ["GREENAI_GIT_COMMIT"].strip()
    try:
        out = subprocess.run(
            ["git", "-C", str(paths.REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5,
        )
        return out.stdout.strip() or None
    except Exception:
        return None
