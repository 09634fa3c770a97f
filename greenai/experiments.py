"""Experiment grids, run resumably, one CSV row per measured epoch (thesis 4.1).

A :class:`Grid` (models × datasets × batch sizes × precisions × repeats, with
``epochs`` measured epochs or windows each) expands into :class:`RunSpec` s.
Grids come from Python or from YAML (:func:`load_grids`)::

    experiment: batch_size
    models: [alexnet]
    datasets: [fashion_mnist]
    batch_sizes: [64, 128, 256, 512, 1024, 2048]
    epochs: 2
    repeats: 3

Three kinds of run, each writing its own CSV columns:

``train`` (:func:`run_training`)
    Warm-up steps (excluded), then ``epochs`` measured windows. A window is a
    full epoch (default), a fixed ``max_steps`` or an automatically sized
    window of at least ``window_s`` seconds (steps chosen from the warm-up's
    step time; recorded). Per-epoch energy of a partial window is extrapolated
    linearly by samples and flagged (``epoch_energy_extrapolated``).
``phases`` (:func:`run_phase_design`)
    The windows of :func:`greenai.train.phase_energy_by_design`, one row each.
``layers`` (:func:`run_layer_profile`)
    :func:`greenai.profile.profile_layers`: one row per layer type and per layer.

Every row carries the metadata of DESIGN.md's data flow. Rows are appended
(flush + fsync) as soon as a window finishes; a rerun reads the CSV, skips
every row key already present and carries on, so a sweep killed at any moment
loses at most the window in progress and never duplicates a row. Multi-epoch
``train`` runs checkpoint model, optimiser and RNG state after every epoch so
that the resumed run continues exactly where it stopped.

:func:`validate` checks a whole grid before any GPU time is spent and raises one
:class:`GridError` listing every problem.
"""

from __future__ import annotations

import copy
import csv
import datetime as _dt
import hashlib
import io
import itertools
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch

from greenai import train as _train

#: kinds of run
KINDS: tuple[str, ...] = ("train", "phases", "layers")
#: data sources of a run
SOURCES: tuple[str, ...] = ("real", "synthetic")

#: columns identifying one row of each kind (a rerun skips rows whose key exists)
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "train": ("experiment", "gpu_name", "model", "dataset", "data_source", "precision", "batch_size", "repeat",
              "epoch_index"),
    "phases": ("experiment", "gpu_name", "model", "dataset", "data_source", "precision", "batch_size", "repeat",
               "window", "window_repeat"),
    "layers": ("experiment", "gpu_name", "model", "dataset", "data_source", "precision", "batch_size", "repeat",
               "level", "layer"),
}

_META_COLUMNS = ("driver", "torch_version", "cuda_version", "device", "image_size", "in_channels", "num_classes",
                 "n_train", "optimizer", "lr", "macs", "params", "branch_count", "warmup_steps", "idle_power_w",
                 "idle_kind", "timestamp_utc")

#: every column of a ``train`` row, in file order
TRAIN_COLUMNS: tuple[str, ...] = KEY_COLUMNS["train"] + (
    "mode", "steps", "samples", "epoch_fraction", "duration_s", "energy_j", "power_w", "energy_method",
    "energy_counter_j", "energy_smi_j", "counter_updates", "uncertainty_j", "energy_above_idle_j",
    "epoch_duration_s", "epoch_energy_j", "epoch_energy_extrapolated",
    "h2d_s", "forward_s", "backward_s", "optimizer_s", "other_s",
    "h2d_energy_thesis_j", "forward_energy_thesis_j", "backward_energy_thesis_j", "optimizer_energy_thesis_j",
    "train_loss", "test_accuracy", "warnings") + _META_COLUMNS

#: every column of a ``phases`` row
PHASE_COLUMNS: tuple[str, ...] = KEY_COLUMNS["phases"] + (
    "steps", "duration_s", "energy_j", "counter_updates", "uncertainty_j",
    "h2d_s", "forward_s", "backward_s", "optimizer_s") + _META_COLUMNS

#: every column of a ``layers`` row
LAYER_COLUMNS: tuple[str, ...] = KEY_COLUMNS["layers"] + (
    "layer_type", "module_class", "layer_params", "modules", "calls_per_step", "profiled_steps", "steps_per_epoch",
    "time_per_step_s", "time_per_epoch_s", "share_of_forward", "window_power_w", "energy_thesis_per_epoch_j",
    "replay_passes", "replay_time_per_step_s", "replay_power_w", "replay_energy_per_step_j",
    "energy_measured_per_epoch_j", "replay_counter_updates", "replay_uncertainty_j",
    "forward_time_per_step_s", "unhooked_time_per_step_s", "hook_overhead_fraction") + _META_COLUMNS

COLUMNS: dict[str, tuple[str, ...]] = {"train": TRAIN_COLUMNS, "phases": PHASE_COLUMNS, "layers": LAYER_COLUMNS}


class GridError(ValueError):
    """A grid has invalid entries; the message lists every problem found."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the experiment grid; fix them and rerun:\n  - "
                         + "\n  - ".join(self.problems))


class ResultsFileError(RuntimeError):
    """A results CSV cannot be appended to (different columns); use another file."""


# --------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class RunSpec:
    """One run: a model trained on a dataset with one batch size, precision and repeat.

    Attributes
    ----------
    experiment : str
        Name of the experiment (first column of each row).
    kind : {"train", "phases", "layers"}
    epochs : int
        Measured epochs (or windows) of a ``train`` run; design repeats of a
        ``phases`` run; ignored for ``layers``.
    source : {"real", "synthetic"}
        Real dataset files or the synthetic stand-in of identical shape.
    max_steps : int, optional
        Fixed steps per window (else full epochs, or ``window_s``).
    window_s : float, optional
        Target window length [s]; steps chosen from the warm-up step time.
    warmup_steps : int
        Unmeasured training steps before the first window.
    evaluate : bool
        Measure test accuracy after each epoch (real data only, outside windows).
    image_size : int
        Height and width the batches are resized to [px] (thesis: 224).
    limit : int, optional
        Use only the first ``limit`` samples of each split (tests, smoke runs).
    """

    experiment: str
    model: str
    dataset: str
    batch_size: int
    precision: str = "default"
    repeat: int = 0
    epochs: int = 1
    kind: str = "train"
    source: str = "real"
    max_steps: int | None = None
    window_s: float | None = None
    warmup_steps: int = 10
    evaluate: bool = False
    optimizer: str = "sgd"
    lr: float = 0.01
    image_size: int = 224
    seed: int = 0
    limit: int | None = None

    def describe(self) -> str:
        return (f"{self.experiment}: {self.model} on {self.dataset} ({self.source}), batch {self.batch_size}, "
                f"{self.precision}, repeat {self.repeat}")

    def run_id(self) -> str:
        """Stable short hash of the spec (names checkpoint files)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]


_SPEC_FIELDS = {f.name for f in fields(RunSpec)}


@dataclass
class Grid:
    """A Cartesian grid of runs.

    ``models × datasets × batch_sizes × precisions × range(repeats)``; every other
    :class:`RunSpec` field may be given in ``options``. Repeats are the outer
    loop so that each repeat of the grid is spread over time.
    """

    experiment: str
    models: Sequence[str]
    datasets: Sequence[str]
    batch_sizes: Sequence[int]
    precisions: Sequence[str] = ("default",)
    repeats: int = 1
    options: dict = field(default_factory=dict)

    def specs(self) -> list[RunSpec]:
        unknown = set(self.options) - _SPEC_FIELDS
        if unknown:
            raise GridError([f"grid {self.experiment!r}: unknown option(s) {sorted(unknown)}; "
                             f"valid: {sorted(_SPEC_FIELDS - {'experiment', 'model', 'dataset', 'batch_size', 'precision', 'repeat'})}"])
        out = []
        for repeat, model, dataset, batch, precision in itertools.product(
                range(int(self.repeats)), self.models, self.datasets, self.batch_sizes, self.precisions):
            out.append(RunSpec(experiment=self.experiment, model=model, dataset=dataset, batch_size=batch,
                               precision=precision, repeat=repeat, **self.options))
        return out


def grid_from_dict(d: dict) -> Grid:
    """A :class:`Grid` from a mapping (as read from YAML); list-valued keys are the axes."""
    d = dict(d)
    try:
        experiment = d.pop("experiment")
        models = d.pop("models")
        datasets = d.pop("datasets")
        batch_sizes = d.pop("batch_sizes")
    except KeyError as exc:
        raise GridError([f"grid {d.get('experiment', '?')!r} lacks the key {exc.args[0]!r} "
                         "(need experiment, models, datasets, batch_sizes)"]) from None
    precisions = d.pop("precisions", ["default"])
    repeats = d.pop("repeats", 1)
    return Grid(experiment=experiment, models=_aslist(models), datasets=_aslist(datasets),
                batch_sizes=_aslist(batch_sizes), precisions=_aslist(precisions), repeats=repeats, options=d)


def _aslist(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def load_grids(path: str | Path) -> list[Grid]:
    """Grids from a YAML file: one mapping, a list of mappings, or ``{grids: [...]}``."""
    import yaml

    data = yaml.safe_load(Path(path).read_text())
    if isinstance(data, dict) and "grids" in data:
        data = data["grids"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise GridError([f"{path}: expected a mapping or a list of mappings, got {type(data).__name__}"])
    return [grid_from_dict(d) for d in data]


def expand(grids: Iterable[Grid | RunSpec]) -> list[RunSpec]:
    """Flatten grids (and loose specs) into a list of specs."""
    out: list[RunSpec] = []
    for g in grids:
        out.extend(g.specs() if isinstance(g, Grid) else [g])
    return out


# --------------------------------------------------------------------------- validation


def validate(specs: Sequence[RunSpec], data_root: str | Path | None = None, check_data: bool = True) -> None:
    """Check every spec; raise one :class:`GridError` naming every problem.

    Checks: known model and dataset, batch size ≥ 1, epochs ≥ 1, repeat ≥ 0,
    known precision, optimiser, kind and source, accuracy not asked of
    synthetic data, real dataset files present (when ``check_data``), and no
    two specs with the same row key.
    """
    from greenai import data as _data
    from greenai import models as _models

    problems: list[str] = []

    def bad(spec, msg):
        problems.append(f"{spec.describe()}: {msg}")

    real_checked: dict[str, str | None] = {}
    seen: dict[tuple, RunSpec] = {}
    for s in specs:
        if s.kind not in KINDS:
            bad(s, f"unknown kind {s.kind!r}; choose one of {', '.join(KINDS)}")
        try:
            _models.model_info(s.model)
        except _models.UnknownModelError:
            bad(s, f"unknown model {s.model!r}; valid: {', '.join(_models.MODEL_NAMES)}")
        if s.dataset not in _data.DATASETS:
            bad(s, f"unknown dataset {s.dataset!r}; valid: {', '.join(_data.DATASETS)}")
        elif s.source == "real" and check_data:
            if s.dataset not in real_checked:
                real_checked[s.dataset] = _missing_real_data(s.dataset, data_root)
            if real_checked[s.dataset]:
                bad(s, f"real dataset missing: {real_checked[s.dataset]} (or set source: synthetic)")
        if not isinstance(s.batch_size, int) or s.batch_size < 1:
            bad(s, f"batch size must be an integer >= 1, got {s.batch_size!r}")
        if not isinstance(s.epochs, int) or s.epochs < 1:
            bad(s, f"epochs must be an integer >= 1, got {s.epochs!r}")
        if not isinstance(s.repeat, int) or s.repeat < 0:
            bad(s, f"repeat must be an integer >= 0, got {s.repeat!r}")
        if s.precision not in _train.PRECISIONS:
            bad(s, f"unknown precision {s.precision!r}; choose one of {', '.join(_train.PRECISIONS)}")
        if s.optimizer not in _train.OPTIMIZERS:
            bad(s, f"unknown optimizer {s.optimizer!r}; choose one of {', '.join(_train.OPTIMIZERS)}")
        if s.source not in SOURCES:
            bad(s, f"unknown source {s.source!r}; choose one of {', '.join(SOURCES)}")
        if s.evaluate and s.source != "real":
            bad(s, "accuracy is never reported from synthetic data; set evaluate: false")
        if s.max_steps is not None and (not isinstance(s.max_steps, int) or s.max_steps < 1):
            bad(s, f"max_steps must be an integer >= 1 or null, got {s.max_steps!r}")
        if s.window_s is not None and not (isinstance(s.window_s, (int, float)) and s.window_s > 0):
            bad(s, f"window_s must be > 0 or null, got {s.window_s!r}")
        if s.kind in ("phases", "layers") and s.max_steps is None and s.window_s is None:
            bad(s, f"a {s.kind!r} run needs max_steps or window_s")
        if not isinstance(s.warmup_steps, int) or s.warmup_steps < 0:
            bad(s, f"warmup_steps must be an integer >= 0, got {s.warmup_steps!r}")
        if not isinstance(s.image_size, int) or s.image_size < 8:
            bad(s, f"image_size must be an integer >= 8, got {s.image_size!r}")
        if s.limit is not None and (not isinstance(s.limit, int) or s.limit < 1):
            bad(s, f"limit must be an integer >= 1 or null, got {s.limit!r}")
        ident = (s.experiment, s.kind, s.model, s.dataset, s.source, s.precision, s.batch_size, s.repeat)
        if ident in seen:
            bad(s, "appears twice in the grid (same experiment, model, dataset, source, precision, batch, repeat)")
        seen[ident] = s
    if problems:
        raise GridError(problems)


def _missing_real_data(dataset: str, data_root) -> str | None:
    from greenai import data as _data

    try:
        _data.load_dataset(dataset, train=True, root=data_root, synthetic=False)
    except _data.DatasetNotFoundError as exc:
        return str(exc).splitlines()[0]
    return None


# --------------------------------------------------------------------------- CSV rows


def _repair_tail(path: Path) -> None:
    """Drop a partial last line left by a process killed mid-write."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        f.seek(cut)
        f.truncate()


class RowWriter:
    """Append rows to a CSV with fixed columns, flushing and fsyncing each write."""

    def __init__(self, path: str | Path, columns: Sequence[str]):
        self.path = Path(path)
        self.columns = tuple(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _repair_tail(self.path)
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, newline="") as f:
                header = tuple(next(csv.reader(f), ()))
            if header != self.columns:
                raise ResultsFileError(
                    f"{self.path} has other columns than this kind of run writes; append to a new file "
                    f"(extra: {sorted(set(header) - set(self.columns))}, missing: {sorted(set(self.columns) - set(header))})")
        else:
            self._write_text(self._line(dict(zip(self.columns, self.columns))))

    def _line(self, row: dict) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([_cell(row.get(c)) for c in self.columns])
        return buf.getvalue()

    def _write_text(self, text: str) -> None:
        with open(self.path, "a", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def append(self, rows: Sequence[dict]) -> None:
        """Append ``rows`` in one write (all or, if killed, at most a partial last line)."""
        self._write_text("".join(self._line(r) for r in rows))

    def keys(self, key_columns: Sequence[str]) -> set[tuple[str, ...]]:
        """Row keys already in the file, as tuples of strings."""
        if not self.path.exists():
            return set()
        with open(self.path, newline="") as f:
            return {tuple(r[c] for c in key_columns) for r in csv.DictReader(f)}


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (float, int)) or hasattr(v, "item"):  # numpy scalars too: never "np.float64(...)"
        try:
            v = v.item() if hasattr(v, "item") else v
        except (TypeError, ValueError):
            return str(v)
        if isinstance(v, float):
            return "" if math.isnan(v) else repr(v)
    return str(v)


def _key(row: dict, key_columns: Sequence[str]) -> tuple[str, ...]:
    return tuple(_cell(row.get(c)) for c in key_columns)


# --------------------------------------------------------------------------- environment


@dataclass
class Environment:
    """Where runs execute: device, meter, and the metadata put in every row."""

    device: torch.device
    meter: object | None
    gpu_name: str
    driver: str | None
    torch_version: str
    cuda_version: str | None
    idle_power_w: float = math.nan
    idle_kind: str = ""


def make_environment(device: str | torch.device | None = None, meter="default", idle_s: float = 0.0,
                     methods: Sequence[str] | str | None = None) -> Environment:
    """Pick the device, open an energy meter and (optionally) measure idle power.

    Parameters
    ----------
    device : str or torch.device, optional
        Default ``cuda`` when available, else ``cpu``.
    meter : EnergyMeter, None or "default"
        ``"default"`` opens an :class:`greenai.energy.EnergyMeter` on the GPU
        with ``methods`` (default ``("counter", "smi")``: the counter, plus the
        thesis' 1 Hz log for comparison), or ``methods="auto"`` on a CPU
        (time only, NaN energy). ``None``: no meter.
    idle_s : float
        Seconds of idle measured after opening the meter (0 skips it) [s].
    """
    from greenai import metadata

    device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    env_meta = metadata.environment_metadata()  # before the meter holds NVML
    if isinstance(meter, str) and meter == "default":
        from greenai.energy import EnergyMeter

        if device.type == "cuda":
            meter = EnergyMeter(gpu_indices=[nvml_index(device)], methods=methods or ("counter", "smi"))
        else:
            meter = EnergyMeter(methods="auto")
    gpu_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    env = Environment(device=device, meter=meter, gpu_name=gpu_name, driver=env_meta.get("driver"),
                      torch_version=torch.__version__, cuda_version=torch.version.cuda)
    if meter is not None and idle_s > 0:
        if device.type == "cuda":
            torch.zeros(1, device=device)  # hold a CUDA context: the idle of a training process
        m = meter.measure_idle(idle_s)
        env.idle_power_w = m.idle_power_w
        env.idle_kind = m.idle_kind
    return env


def nvml_index(device: torch.device) -> int:
    """NVML's index of the GPU that torch calls ``device``.

    They differ when ``CUDA_VISIBLE_DEVICES`` hides or reorders GPUs (one process per GPU):
    matched by UUID, so the meter reads the GPU that does the work.
    """
    from greenai import nvml

    uuid = str(torch.cuda.get_device_properties(device).uuid)
    nvml.init()
    try:
        return nvml.index_of_uuid(uuid)
    finally:
        nvml.shutdown()


# --------------------------------------------------------------------------- preparing a run


class _DataCache:
    """Dataset splits loaded once per (dataset, source, train) within a sweep."""

    def __init__(self, data_root=None):
        self.data_root = data_root
        self._splits: dict[tuple, object] = {}

    def split(self, dataset: str, source: str, train: bool, limit: int | None = None):
        from greenai import data as _data

        key = (dataset, source, train, limit)
        if key not in self._splits:
            self._splits[key] = _data.load_dataset(dataset, train=train, root=self.data_root,
                                                   synthetic=(source == "synthetic"), limit=limit)
        return self._splits[key]


_MACS_CACHE: dict[tuple, tuple[float, float]] = {}


def model_macs(model_name: str, in_channels: int, num_classes: int, image_size: int) -> tuple[float, float]:
    """(MACs per image, parameters) of a model via :func:`greenai.macs.count_macs`; NaN if unavailable."""
    key = (model_name, in_channels, num_classes, image_size)
    if key not in _MACS_CACHE:
        from greenai import models as _models

        try:
            from greenai.macs import count_macs

            with torch.device("meta"):  # counted without memory or arithmetic
                net = _models.build_model(model_name, in_channels, num_classes)
            counted = count_macs(net, (in_channels, image_size, image_size))
            _MACS_CACHE[key] = (float(counted.macs), float(counted.params))
        except ImportError as exc:  # thop missing on a bare GPU machine
            print(f"MACs not counted ({exc}); recording NaN", file=sys.stderr)
            net = _models.build_model(model_name, in_channels, num_classes)
            _MACS_CACHE[key] = (math.nan, float(sum(p.numel() for p in net.parameters())))
    return _MACS_CACHE[key]


@dataclass
class _Prepared:
    trainer: _train.Trainer
    meta: dict
    n_train: int
    steps_per_epoch: float


def _prepare(spec: RunSpec, env: Environment, cache: _DataCache) -> _Prepared:
    from greenai import data as _data
    from greenai import models as _models

    train_split = cache.split(spec.dataset, spec.source, True, spec.limit)
    ds = _data.DATASETS[spec.dataset]
    in_channels, num_classes = int(ds.channels), int(ds.num_classes)
    torch.manual_seed(spec.seed * 1000 + spec.repeat)
    model = _models.build_model(spec.model, in_channels, num_classes).to(env.device)
    batches = _data.GpuBatches(train_split, spec.batch_size, env.device, image_size=spec.image_size, shuffle=True,
                               seed=spec.seed * 1000 + spec.repeat)
    test_batches = None
    if spec.evaluate:
        test_batches = _data.GpuBatches(cache.split(spec.dataset, spec.source, False, spec.limit), max(spec.batch_size, 256),
                                        env.device, image_size=spec.image_size, shuffle=False)
    trainer = _train.Trainer(model, batches, env.device, meter=env.meter, precision=spec.precision,
                             optimizer=spec.optimizer, lr=spec.lr, test_batches=test_batches)
    macs, params = model_macs(spec.model, in_channels, num_classes, spec.image_size)
    n_train = int(len(train_split.labels))
    data_source = getattr(train_split, "source", spec.source)
    if data_source != spec.source:
        raise RuntimeError(f"{spec.describe()}: asked for {spec.source} data, the loader returned {data_source}")
    meta = {
        "experiment": spec.experiment, "gpu_name": env.gpu_name, "model": spec.model, "dataset": spec.dataset,
        "data_source": data_source, "precision": spec.precision, "batch_size": spec.batch_size,
        "repeat": spec.repeat, "driver": env.driver, "torch_version": env.torch_version,
        "cuda_version": env.cuda_version, "device": str(env.device), "image_size": spec.image_size,
        "in_channels": in_channels, "num_classes": num_classes, "n_train": n_train, "optimizer": spec.optimizer,
        "lr": spec.lr, "macs": macs, "params": params,
        "branch_count": _models.model_info(spec.model)["branch_count"], "warmup_steps": spec.warmup_steps,
        "idle_power_w": env.idle_power_w, "idle_kind": env.idle_kind,
    }
    return _Prepared(trainer=trainer, meta=meta, n_train=n_train, steps_per_epoch=n_train / spec.batch_size)


def _spec_meta_key(spec: RunSpec, env: Environment) -> dict:
    """The key fields known before any data is loaded (data_source = spec.source)."""
    return {"experiment": spec.experiment, "gpu_name": env.gpu_name, "model": spec.model, "dataset": spec.dataset,
            "data_source": spec.source, "precision": spec.precision, "batch_size": spec.batch_size,
            "repeat": spec.repeat}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _free(prepared: _Prepared | None, device: torch.device) -> None:
    if prepared is not None:
        del prepared.trainer
    if device.type == "cuda":
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------- runners


@dataclass
class SweepSummary:
    """Rows written and skipped (already present) by one call of a runner."""

    written: int = 0
    skipped: int = 0
    seconds: float = 0.0


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def _sweep(specs: Sequence[RunSpec], csv_path: str | Path, columns: Sequence[str], key_cols: Sequence[str],
           pending: Callable, run_spec: Callable, env: Environment | None, data_root, progress: bool,
           validate_first: bool) -> SweepSummary:
    """The loop every runner shares.

    Validates all specs before any GPU time is spent, asks ``pending(spec,
    base_key, done_keys)`` what of each spec the CSV still lacks (``(units,
    skipped, payload)``; ``units`` = 0 skips the spec), then for each remaining
    spec prepares model and data, calls ``run_spec(spec, prepared, payload,
    writer, done_keys, bar)`` → ``(written, skipped)``, and frees the GPU
    memory, with a progress bar over the pending units.
    """
    specs = list(specs)
    if validate_first:
        validate(specs, data_root=data_root)
    env = env or make_environment()
    writer = RowWriter(csv_path, columns)
    done = writer.keys(key_cols)
    cache = _DataCache(data_root)
    summary = SweepSummary()
    start = time.perf_counter()
    todo = []
    for spec in specs:
        units, skipped, payload = pending(spec, _spec_meta_key(spec, env), done)
        summary.skipped += skipped
        if units:
            todo.append((spec, units, payload))
    bar = _progress(sum(units for _, units, _ in todo), Path(csv_path).stem, progress)
    try:
        for spec, _, payload in todo:
            bar.set_description(f"{spec.model}/{spec.dataset}/b{spec.batch_size}/r{spec.repeat}")
            prepared = _prepare(spec, env, cache)
            try:
                written, skipped = run_spec(spec, prepared, payload, writer, done, bar)
            finally:
                _free(prepared, env.device)
            summary.written += written
            summary.skipped += skipped
    finally:
        bar.close()
    summary.seconds = time.perf_counter() - start
    return summary


def run_training(specs: Sequence[RunSpec], csv_path: str | Path, env: Environment | None = None,
                 data_root=None, checkpoint_dir: str | Path | None = None, progress: bool = True,
                 log: Callable[[str], None] | None = None, validate_first: bool = True) -> SweepSummary:
    """Run ``train`` specs, appending one row per measured epoch/window to ``csv_path``.

    Parameters
    ----------
    specs : sequence of RunSpec
        Validated as a whole first (see :func:`validate`).
    csv_path : path
        Results CSV (created with a header, or appended to; rows already there are skipped).
    env : Environment, optional
        Device and meter; default :func:`make_environment` ().
    checkpoint_dir : path, optional
        Where multi-epoch runs keep their state between epochs (default
        ``<csv folder>/.checkpoints``); a finished run deletes its checkpoint.
    log : callable, optional
        Receives one line per written row (for device logs).
    """
    specs = list(specs)
    if any(s.kind != "train" for s in specs):
        raise GridError([f"{s.describe()}: kind {s.kind!r} given to run_training" for s in specs if s.kind != "train"])
    key_cols = KEY_COLUMNS["train"]
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else Path(csv_path).parent / ".checkpoints"

    def pending(spec, base, done):
        missing = [e for e in range(spec.epochs) if _key({**base, "epoch_index": e}, key_cols) not in done]
        return len(missing), spec.epochs - len(missing), missing

    def run_spec(spec, prepared, missing, writer, done, bar):
        return _run_one_training(spec, prepared, missing, writer, ckpt_dir, log, bar), 0

    return _sweep(specs, csv_path, TRAIN_COLUMNS, key_cols, pending, run_spec, env, data_root, progress, validate_first)


def _run_one_training(spec: RunSpec, prep: _Prepared, missing: list[int], writer: RowWriter, ckpt_dir: Path,
                      log, bar) -> int:
    trainer = prep.trainer
    full_epochs = spec.max_steps is None and spec.window_s is None
    written = 0
    if full_epochs:
        ckpt = ckpt_dir / f"{spec.run_id()}.pt"
        start_epoch = 0
        if ckpt.exists() and spec.epochs > 1:
            state = torch.load(ckpt, map_location=trainer.device, weights_only=False)
            if state["epoch"] + 1 <= missing[0]:
                trainer.load_state_dict(state["trainer"])
                start_epoch = state["epoch"] + 1
        # warm-up is excluded and leaves no trace: restore weights, optimiser and RNG afterwards
        saved = copy.deepcopy(trainer.state_dict())
        trainer.warmup(spec.warmup_steps, epoch=start_epoch)
        trainer.load_state_dict(saved)
        del saved
        for epoch in range(start_epoch, max(missing) + 1):
            result = trainer.train_epoch(epoch)
            if spec.evaluate:
                result.test_accuracy = trainer.evaluate()
            if epoch in missing:
                writer.append([_train_row(spec, prep, result, mode="epoch")])
                written += 1
                bar.update(1)
                if log:
                    log(_log_line(spec, result))
            if spec.epochs > 1 and epoch < spec.epochs - 1:
                ckpt.parent.mkdir(parents=True, exist_ok=True)
                tmp = ckpt.with_suffix(".tmp")
                torch.save({"epoch": epoch, "trainer": trainer.state_dict()}, tmp)
                os.replace(tmp, ckpt)
        if ckpt.exists() and max(missing) >= spec.epochs - 1:
            ckpt.unlink()
        return written
    # fixed-length windows after warm-up, over one continuing batch stream
    step_s = _timed_warmup(trainer, spec.warmup_steps)
    if spec.max_steps is not None:
        steps = spec.max_steps
    else:
        steps = _train.steps_for_duration(step_s, spec.window_s, min_steps=5)
    stream = _train.cycle_batches(trainer.train_batches, start_epoch=0)
    for index in missing:  # windows are interchangeable: run only the missing ones
        result = trainer.train_epoch(index, max_steps=steps, batch_iter=stream)
        writer.append([_train_row(spec, prep, result, mode="window")])
        written += 1
        bar.update(1)
        if log:
            log(_log_line(spec, result))
    return written


def _timed_warmup(trainer: _train.Trainer, warmup_steps: int) -> float:
    """Warm up; return seconds per step over the last half of the warm-up (NaN if too short)."""
    first = warmup_steps // 2
    trainer.warmup(first)
    rest = warmup_steps - first
    if rest <= 0:
        return math.nan
    return trainer.time_steps(rest, epoch=0)


def _train_row(spec: RunSpec, prep: _Prepared, result: _train.EpochResult, mode: str) -> dict:
    row = {**prep.meta, **result.as_row(), "mode": mode, "timestamp_utc": _now()}
    fraction = result.samples / prep.n_train
    m = result.measurement
    by_method = getattr(m, "energy_by_method", {}) or {}
    row.update({
        "epoch_fraction": fraction,
        "epoch_duration_s": result.duration_s / fraction,
        "epoch_energy_j": result.energy_j / fraction,
        "epoch_energy_extrapolated": not (mode == "epoch" and abs(fraction - 1.0) < 0.01),
        "energy_counter_j": by_method.get("counter", math.nan),
        "energy_smi_j": by_method.get("smi", math.nan),
    })
    return row


def _log_line(spec: RunSpec, r: _train.EpochResult) -> str:
    return (f"{spec.experiment} {spec.model} {spec.dataset} b{spec.batch_size} {spec.precision} r{spec.repeat} "
            f"e{r.epoch_index}: {r.steps} steps {r.duration_s:.2f} s {r.energy_j:.1f} J {r.power_w:.0f} W "
            f"loss {r.train_loss:.3f}")


def run_phase_design(specs: Sequence[RunSpec], csv_path: str | Path, env: Environment | None = None,
                     data_root=None, progress: bool = True, log=None, validate_first: bool = True) -> SweepSummary:
    """Run ``phases`` specs: design windows (see :func:`greenai.train.phase_energy_by_design`), one row each.

    ``spec.epochs`` is the number of design repeats; each window runs
    ``max_steps`` steps, or, per window kind, enough steps to last ``window_s`` seconds.
    A spec whose rows are all present is skipped; a partially written spec is
    completed (missing windows only).
    """
    key_cols = KEY_COLUMNS["phases"]

    def keys(base, spec):
        return [_key({**base, "window": w, "window_repeat": r}, key_cols)
                for r in range(spec.epochs) for w in _train.DESIGN_WINDOWS]

    def pending(spec, base, done):
        wanted = keys(base, spec)
        present = sum(k in done for k in wanted)
        return (0, present, None) if present == len(wanted) else (1, 0, None)

    def run_spec(spec, prep, _, writer, done, bar):
        prep.trainer.warmup(spec.warmup_steps)
        split = _train.phase_energy_by_design(prep.trainer, steps=spec.max_steps, repeats=spec.epochs,
                                              window_s=None if spec.max_steps else spec.window_s)
        rows = [{**prep.meta, **w.as_row(), "timestamp_utc": _now()} for w in split.windows]
        new = [row for row in rows if _key(row, key_cols) not in done]  # complete a partly written spec
        writer.append(new)
        if log:
            log(f"{spec.describe()}: {({w.upto: w.steps for w in split.windows})} steps/window; J/step by difference "
                + ", ".join(f"{k} {v:.3f}" for k, v in split.by_difference_j.items()))
        bar.update(1)
        return len(new), len(rows) - len(new)

    return _sweep(specs, csv_path, PHASE_COLUMNS, key_cols, pending, run_spec, env, data_root, progress, validate_first)


def run_layer_profile(specs: Sequence[RunSpec], csv_path: str | Path, env: Environment | None = None,
                      data_root=None, progress: bool = True, log=None, replay_window_s: float | None = 3.0,
                      validate_first: bool = True) -> SweepSummary:
    """Run ``layers`` specs with :func:`greenai.profile.profile_layers`.

    Profiles ``max_steps`` training steps (or ``window_s`` seconds' worth) with
    hooks, replays each layer type for ``replay_window_s`` seconds, and writes
    one row per layer type (``level="type"``) and per leaf layer (``level="layer"``)
    in one append.
    """
    from greenai import profile as _profile

    key_cols = KEY_COLUMNS["layers"]

    def pending(spec, base, done):
        profiled = _key(base, key_cols[:8]) in {k[:8] for k in done}
        return (0, 1, None) if profiled else (1, 0, None)

    def run_spec(spec, prep, _, writer, done, bar):
        step_s = _timed_warmup(prep.trainer, max(spec.warmup_steps, 2))
        steps = spec.max_steps or _train.steps_for_duration(step_s, spec.window_s, min_steps=5)
        prof = _profile.profile_layers(prep.trainer, steps=steps, steps_per_epoch=prep.steps_per_epoch,
                                       replay_window_s=replay_window_s)
        common = {**prep.meta, "profiled_steps": prof.steps, "steps_per_epoch": prof.steps_per_epoch,
                  "window_power_w": prof.window_power_w,
                  "forward_time_per_step_s": prof.forward_time_per_step_s,
                  "unhooked_time_per_step_s": prof.unhooked_time_per_step_s,
                  "hook_overhead_fraction": prof.hook_overhead_fraction, "timestamp_utc": _now()}
        rows = []
        for r in prof.by_type.to_dict("records"):
            rows.append({**common, **r, "level": "type", "layer": r["layer_type"],
                         "layer_params": r.get("params")})
        for r in prof.by_layer.to_dict("records"):
            rows.append({**common, **r, "level": "layer", "modules": 1, "layer_params": r.get("params"),
                         "calls_per_step": r["calls"] / prof.steps})
        writer.append(rows)
        if log:
            log(f"{spec.describe()}: {steps} steps profiled, hook overhead "
                f"{prof.hook_overhead_fraction:+.1%}; shares "
                + ", ".join(f"{t} {s:.1%}" for t, s in zip(prof.by_type.layer_type, prof.by_type.share_of_forward)))
        bar.update(1)
        return len(rows), 0

    return _sweep(specs, csv_path, LAYER_COLUMNS, key_cols, pending, run_spec, env, data_root, progress, validate_first)


RUNNERS: dict[str, Callable] = {"train": run_training, "phases": run_phase_design, "layers": run_layer_profile}


def run(specs: Sequence[RunSpec], csv_path: str | Path, **kwargs) -> SweepSummary:
    """Dispatch specs (all of one kind) to their runner."""
    kinds = {s.kind for s in specs}
    if len(kinds) != 1:
        raise GridError([f"one CSV holds one kind of run; got kinds {sorted(kinds)}"])
    return RUNNERS[kinds.pop()](specs, csv_path, **kwargs)


def read_rows(csv_path: str | Path):
    """The rows of a results CSV as a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(csv_path)


# --------------------------------------------------------------------------- analysis of recorded rows


class MissingResultsError(FileNotFoundError):
    """A results CSV the analysis needs is not there; the message says how to make it."""


def load_results(name: str, raw_dir: str | Path | None = None):
    """Rows of ``<raw_dir>/<name>.csv`` (default ``results/raw``) as a DataFrame.

    Raises
    ------
    MissingResultsError
        The file is missing: run ``python -m greenai.campaign`` on a GPU (or the
        notebook with ``MEASURE=True``) first.
    """
    import pandas as pd

    from greenai import paths

    path = Path(raw_dir or paths.RAW_DIR) / f"{name}.csv"
    if not path.exists():
        raise MissingResultsError(f"{path} does not exist; measure it on a GPU with `python -m greenai.campaign` "
                                  f"(or run the notebook with MEASURE=True) and commit it under results/raw/")
    return pd.read_csv(path)


def per_run(rows, extra_keys: Sequence[str] = ()):
    """Average the measured epochs/windows of each run (one row per repeat).

    Returns the run keys plus ``epoch_energy_j``, ``epoch_duration_s``, ``power_w``,
    ``macs``, ``params``, ``branch_count``, ``test_accuracy`` (last epoch) and
    ``windows`` (how many rows were averaged).
    """
    keys = ["gpu_name", "model", "dataset", "data_source", "precision", "batch_size", "repeat", *extra_keys]
    agg = rows.groupby(keys, sort=False).agg(
        epoch_energy_j=("epoch_energy_j", "mean"), epoch_duration_s=("epoch_duration_s", "mean"),
        power_w=("power_w", "mean"), macs=("macs", "first"), params=("params", "first"),
        branch_count=("branch_count", "first"), test_accuracy=("test_accuracy", "last"),
        extrapolated=("epoch_energy_extrapolated", "any"), windows=("epoch_index", "count"))
    return agg.reset_index()


def summarize(rows, by: Sequence[str]):
    """Mean, standard deviation and count over repeats of per-run averages, grouped by ``by``.

    Columns: ``by``, then ``<quantity>_mean``/``_std`` for energy per epoch [J],
    duration per epoch [s] and power [W], ``repeats`` and ``macs``.
    """
    runs = per_run(rows)
    g = runs.groupby(list(by), sort=False)
    out = g.agg(epoch_energy_j_mean=("epoch_energy_j", "mean"), epoch_energy_j_std=("epoch_energy_j", "std"),
                epoch_duration_s_mean=("epoch_duration_s", "mean"), epoch_duration_s_std=("epoch_duration_s", "std"),
                power_w_mean=("power_w", "mean"), repeats=("repeat", "nunique"), macs=("macs", "first"),
                branch_count=("branch_count", "first"))
    return out.reset_index()


def percent_change(table, column: str, x: str, pairs: Sequence[tuple]) -> dict:
    """``100 · (y(b) − y(a)) / y(a)`` for each ``(a, b)`` in ``pairs`` where ``y = table[column]`` indexed by ``x``."""
    y = table.set_index(x)[column]
    return {(a, b): 100.0 * (y.loc[b] - y.loc[a]) / y.loc[a] for a, b in pairs if a in y.index and b in y.index}


@dataclass
class LogLogFit:
    """``log10(E) = intercept + slope · log10(MACs)`` fitted by OLS (statsmodels).

    ``slope_ci`` is the 95 % confidence interval; ``r2`` the coefficient of
    determination on log axes; ``n`` the number of points.
    """

    slope: float
    intercept: float
    slope_ci: tuple[float, float]
    r2: float
    n: int

    def predict(self, macs):
        import numpy as np

        return 10 ** (self.intercept + self.slope * np.log10(macs))


def loglog_fit(macs, energy_j) -> LogLogFit:
    """Fit the thesis' log-log linear relation between MACs and energy per epoch (4.1.4)."""
    import numpy as np
    import statsmodels.api as sm

    x = np.log10(np.asarray(macs, dtype=float))
    y = np.log10(np.asarray(energy_j, dtype=float))
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        raise ValueError(f"need at least 3 finite (MACs, energy) points for a fit, got {int(ok.sum())}")
    res = sm.OLS(y[ok], sm.add_constant(x[ok])).fit()
    lo, hi = res.conf_int()[1]
    return LogLogFit(slope=float(res.params[1]), intercept=float(res.params[0]), slope_ci=(float(lo), float(hi)),
                     r2=float(res.rsquared), n=int(ok.sum()))


def phase_energy_table(rows):
    """Per-step phase energy from ``phase_design`` rows, three ways, per model [J per step].

    Columns: ``gpu_name``, ``model``, ``batch_size``, ``phase``, ``time_s`` (mean
    per full step), ``by_difference_j``, ``by_regression_j``, ``thesis_j``
    (full-step window's average power × phase time, the thesis' way),
    ``power_w`` (fitted), ``by_difference_bound_j`` (the counter's resolution
    carried into the difference: uncertainty / steps of the two windows
    differenced, added), ``resolved`` (|by_difference| above that bound) and
    ``thesis_error`` = thesis / by_difference − 1.
    """
    import pandas as pd

    out = []
    for (gpu, model, batch), g in rows.groupby(["gpu_name", "model", "batch_size"], sort=False):
        windows = [_train.DesignWindow(upto=r.window, repeat=int(r.window_repeat), steps=int(r.steps),
                                       duration_s=float(r.duration_s), energy_j=float(r.energy_j),
                                       phase_s={p: float(getattr(r, f"{p}_s")) for p in _train.PHASES
                                                if _train.PHASES.index(p) <= _train.PHASES.index(r.window)})
                   for r in g.itertuples(index=False)]
        split = _train.split_phase_energy(windows)
        full = g[g.window == _train.DESIGN_WINDOWS[-1]]
        avg_power_w = float(full.energy_j.sum(min_count=len(full)) / full.duration_s.sum())
        # counter resolution per step of each window kind (mean over repeats of uncertainty / steps)
        bound = (g.uncertainty_j / g.steps).groupby(g.window).mean()
        previous = 0.0
        for p in _train.PHASES:
            t = split.full_step_phase_s[p]
            u = float(bound.get(p, math.nan)) + previous  # a difference inherits both windows' bounds
            previous = float(bound.get(p, math.nan))
            out.append({"gpu_name": gpu, "model": model, "batch_size": batch, "phase": p, "time_s": t,
                        "by_difference_j": split.by_difference_j[p], "by_difference_bound_j": u,
                        "by_regression_j": split.by_regression_j[p],
                        "thesis_j": avg_power_w * t, "power_w": split.power_w[p],
                        "window_power_w": avg_power_w})
    table = pd.DataFrame(out)
    if len(table):
        table["resolved"] = table.by_difference_j.abs() > table.by_difference_bound_j
        table["thesis_error"] = table.thesis_j / table.by_difference_j - 1.0
    return table


# --------------------------------------------------------------------------- figures of notebook 04


def plot_grouped_bars(summary, x: str, hue: str, y: str = "epoch_energy_j_mean", yerr: str | None = "epoch_energy_j_std",
                      ylabel: str = "energy per epoch [J]", title: str = "", log: bool = False):
    """Grouped bars of ``summary[y]`` by ``x`` and ``hue`` (error bars from ``yerr``)."""
    import matplotlib.pyplot as plt
    import numpy as np

    xs = list(dict.fromkeys(summary[x]))
    hues = list(dict.fromkeys(summary[hue]))
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(xs) * max(1, len(hues)) / 2), 4))
    width = 0.8 / len(hues)
    for k, h in enumerate(hues):
        part = summary[summary[hue] == h].set_index(x).reindex(xs)
        err = part[yerr].fillna(0).to_numpy() if yerr and yerr in part else None
        bars = ax.bar(np.arange(len(xs)) + (k - (len(hues) - 1) / 2) * width, part[y], width, yerr=err, capsize=3,
                      label=str(h))
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(np.arange(len(xs)), xs, rotation=20 if len(xs) > 4 else 0)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(title=hue, fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_batch_size(summary, title: str = ""):
    """Figs 4.3/4.4: energy per epoch and average power vs batch size (log2 axis)."""
    import matplotlib.pyplot as plt

    fig, (ax_e, ax_p) = plt.subplots(1, 2, figsize=(10, 4))
    ax_e.errorbar(summary.batch_size, summary.epoch_energy_j_mean, yerr=summary.epoch_energy_j_std.fillna(0),
                  marker="o", capsize=3)
    ax_e.set_xscale("log", base=2)
    ax_e.set_xlabel("batch size")
    ax_e.set_ylabel("energy per epoch [J]")
    ax_e.set_title("energy per epoch (mean ± sd over repeats)")
    ax_p.plot(summary.batch_size, summary.power_w_mean, marker="s", color="tab:red", label="average power [W]")
    ax_p.set_xscale("log", base=2)
    ax_p.set_xlabel("batch size")
    ax_p.set_ylabel("average power [W]")
    ax_t = ax_p.twinx()
    ax_t.plot(summary.batch_size, summary.epoch_duration_s_mean, marker="^", color="tab:blue", label="time per epoch [s]")
    ax_t.set_ylabel("time per epoch [s]")
    ax_t.grid(False)
    ax_p.set_title("power and time per epoch")
    fig.legend(loc="lower center", ncol=2, fontsize=8, bbox_to_anchor=(0.75, -0.02))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def total_energy_over_epochs(rows, epochs: Sequence[int] = (10, 20, 30, 40, 50)):
    """Figs 4.5/4.6: total energy of ``N`` epochs per batch size [J].

    ``N × mean energy per epoch`` with the spread over repeats (sd × N), from the
    measured epochs (we measure 2 epochs per run, not 10–50: per-epoch energy is
    stationary after warm-up, so the total scales linearly; the table says so in
    ``basis``).
    """
    import pandas as pd

    s = summarize(rows, ["batch_size"])
    out = [{"batch_size": r.batch_size, "epochs": n, "total_energy_j": n * r.epoch_energy_j_mean,
            "total_energy_j_sd": n * (r.epoch_energy_j_std if r.epoch_energy_j_std == r.epoch_energy_j_std else 0.0),
            "basis": "epochs x measured mean per epoch"} for r in s.itertuples() for n in epochs]
    return pd.DataFrame(out)


def plot_total_energy(totals, title: str = ""):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for b, g in totals.groupby("batch_size"):
        ax.errorbar(g.epochs, g.total_energy_j / 1e3, yerr=g.total_energy_j_sd / 1e3, marker="o", capsize=3,
                    label=f"batch {b}")
    ax.set_xlabel("epochs")
    ax.set_ylabel("total training energy [kJ]")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_macs_energy(runs, fit: LogLogFit | None = None, y: str = "epoch_energy_j", label: str = "model",
                     hue: str | None = None, ylabel: str = "energy per epoch [J]", title: str = "",
                     annotate: bool = True):
    """Figs 4.7/4.9/4.10-4.13: MACs vs a per-epoch quantity on log-log axes, with the fitted line."""
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(7, 5))
    sns.scatterplot(data=runs, x="macs", y=y, hue=hue, ax=ax, s=50)
    if annotate:
        for r in runs.drop_duplicates(label).itertuples():
            ax.annotate(getattr(r, label), (r.macs, getattr(r, y)), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    if fit is not None:
        xs = np.logspace(np.log10(runs.macs.min()), np.log10(runs.macs.max()), 50)
        ax.plot(xs, fit.predict(xs), "k--", lw=1,
                label=f"log-log fit: slope {fit.slope:.2f} [{fit.slope_ci[0]:.2f}, {fit.slope_ci[1]:.2f}], "
                      f"R² {fit.r2:.2f}")
        ax.legend(fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MACs per image (224×224)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_phase_energy(table, title: str = ""):
    """Energy per step per phase: thesis' way vs by difference vs by regression."""
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        t = table[table.model == model]
        x = np.arange(len(t))
        w = 0.27
        ax.bar(x - w, t.thesis_j * 1e3, w, label="thesis: avg power × time", color="tab:gray")
        bound = t.by_difference_bound_j * 1e3 if "by_difference_bound_j" in t else None
        ax.bar(x, t.by_difference_j * 1e3, w, yerr=bound, capsize=3, color="tab:green",
               label="measured: difference of windows (± counter bound)")
        ax.bar(x + w, t.by_regression_j * 1e3, w, label="measured: regression", color="tab:olive")
        ax.set_xticks(x, t.phase)
        ax.set_ylabel("energy per training step [mJ]")
        ax.set_title(f"{model}, batch {t.batch_size.iloc[0]}")
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_epoch_series(rows, title: str = ""):
    """Energy per epoch and test accuracy vs epoch index of one run, with the cumulative energy
    measured beside ``N × mean`` (the linear extrapolation used for Figs 4.5/4.6)."""
    import matplotlib.pyplot as plt

    r = rows.sort_values("epoch_index")
    n = r.epoch_index + 1
    fig, (ax_e, ax_c) = plt.subplots(1, 2, figsize=(10, 4))
    ax_e.plot(n, r.energy_j, marker="o", label="energy per epoch [J]")
    ax_e.set_xlabel("epoch")
    ax_e.set_ylabel("energy per epoch [J]")
    ax_e.set_ylim(0, r.energy_j.max() * 1.15)
    if r.test_accuracy.notna().any():
        ax_a = ax_e.twinx()
        ax_a.plot(n, r.test_accuracy, marker="s", color="tab:green", label="test accuracy")
        ax_a.set_ylabel("test accuracy")
        ax_a.grid(False)
    ax_c.plot(n, r.energy_j.cumsum() / 1e3, marker="o", label="measured, cumulative")
    ax_c.plot(n, n * r.energy_j.mean() / 1e3, "k--", label="epochs × mean per epoch")
    ax_c.set_xlabel("epochs")
    ax_c.set_ylabel("total energy [kJ]")
    ax_c.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
