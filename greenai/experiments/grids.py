"""Experiment grids and their validation (thesis 4.1).

A :class:`Grid` (models × datasets × batch sizes × precisions × repeats, with
``epochs`` measured epochs or windows each) expands into :class:`RunSpec` s.
Grids come from Python or from YAML (:func:`load_grids`)::

    experiment: batch_size
    models: [alexnet]
    datasets: [fashion_mnist]
    batch_sizes: [64, 128, 256, 512, 1024, 2048]
    epochs: 2
    repeats: 3

:func:`validate` checks a whole grid before any GPU time is spent and raises one
:class:`GridError` listing every problem. It decodes no dataset: real data is
checked by the presence of its files (:func:`missing_real_data`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

#: kinds of run
KINDS: tuple[str, ...] = ("train", "phases", "layers")
#: data sources of a run
SOURCES: tuple[str, ...] = ("real", "synthetic")


class GridError(ValueError):
    """A grid has invalid entries; the message lists every problem found."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the experiment grid; fix them and rerun:\n  - "
                         + "\n  - ".join(self.problems))


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
    import yaml  # heavy: yaml

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
    synthetic data, real dataset files present (when ``check_data``; by the
    presence of the files, without reading them), and no two specs with the
    same row key.
    """
    from greenai import models as _models  # heavy: torch
    from greenai.data import DATASETS  # heavy: numpy
    from greenai.train import OPTIMIZERS, PRECISIONS  # heavy: numpy

    problems: list[str] = []

    def bad(spec, msg):
        problems.append(f"{spec.describe()}: {msg}")

    real_checked: dict[tuple, str | None] = {}
    seen: dict[tuple, RunSpec] = {}
    for s in specs:
        if s.kind not in KINDS:
            bad(s, f"unknown kind {s.kind!r}; choose one of {', '.join(KINDS)}")
        try:
            _models.model_info(s.model)
        except _models.SourceMissingError as exc:  # a source package missing: how to install it
            bad(s, str(exc))
        except _models.UnknownModelError:
            bad(s, f"unknown model {s.model!r}; valid: {', '.join(_models.MODEL_NAMES)}")
        if s.dataset not in DATASETS:
            bad(s, f"unknown dataset {s.dataset!r}; valid: {', '.join(DATASETS)}")
        elif s.source == "real" and check_data:
            if (s.dataset, s.limit) not in real_checked:
                real_checked[(s.dataset, s.limit)] = missing_real_data(s.dataset, data_root, s.limit)
            if real_checked[(s.dataset, s.limit)]:
                bad(s, f"real dataset missing: {real_checked[(s.dataset, s.limit)]} (or set source: synthetic)")
        if not isinstance(s.batch_size, int) or s.batch_size < 1:
            bad(s, f"batch size must be an integer >= 1, got {s.batch_size!r}")
        if not isinstance(s.epochs, int) or s.epochs < 1:
            bad(s, f"epochs must be an integer >= 1, got {s.epochs!r}")
        if not isinstance(s.repeat, int) or s.repeat < 0:
            bad(s, f"repeat must be an integer >= 0, got {s.repeat!r}")
        if s.precision not in PRECISIONS:
            bad(s, f"unknown precision {s.precision!r}; choose one of {', '.join(PRECISIONS)}")
        if s.optimizer not in OPTIMIZERS:
            bad(s, f"unknown optimizer {s.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
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



def missing_real_data(dataset: str, data_root=None, limit: int | None = None) -> str | None:
    """Why the real files of ``dataset`` are not usable under ``data_root``, or None when present.

    ``limit``: the run uses only the first ``limit`` samples (CIFAR-10 then needs only the training
    batches they lie in).

    Checks that the files exist (no decoding: validating a grid of 89 runs must
    not read a dataset 89 times); see :func:`greenai.data.real_files_present`.
    """
    from greenai import data as _data  # heavy: numpy

    return _data.missing_files(dataset, data_root, limit)
