"""Provenance written beside every recorded measurement (``<name>.meta.json``):
which GPU, driver, library versions and code produced the rows, and when."""

from __future__ import annotations

import datetime as _dt
import json
import platform
import os
import subprocess
from pathlib import Path

from greenai import __version__, paths


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
        import torch

        meta["torch"] = torch.__version__
        meta["cuda"] = torch.version.cuda
        if torch.backends.cudnn.is_available():
            meta["cudnn"] = torch.backends.cudnn.version()
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    try:
        from greenai import nvml

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


def write_meta(csv_path: Path, **extra) -> Path:
    """Write (or update) ``<csv>.meta.json`` beside ``csv_path``.

    ``extra`` (campaign name, description, seconds taken …) is merged over the
    environment description. An existing file keeps its earlier runs under
    ``"runs"`` so appending rows from several sessions loses no provenance.
    """
    csv_path = Path(csv_path)
    meta_path = csv_path.with_suffix(".meta.json")
    run = {**environment_metadata(), **extra}
    previous = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    runs = previous.get("runs", [])
    runs.append(run)
    meta = {"file": csv_path.name, **run, "runs": runs}
    meta_path.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return meta_path


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
