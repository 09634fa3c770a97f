"""The row store: one CSV per experiment, one writer, resumable (DESIGN.md's data flow).

Every row the package records (a training epoch or window, a phase-design
window, a layer, a ``greenai measure`` run) is appended here by
:class:`RowStore`: one write per batch of rows, flushed and fsynced, so a
process killed at any moment leaves at most a partial last line, which the
next open drops. A rerun reads the row keys already present (:meth:`RowStore.keys`)
and skips them: a sweep killed at any moment loses at most the window in
progress and never duplicates a row.

Schema changes are additive. When a writer knows columns the file lacks, the
file's header is extended with them (at the end; the file is rewritten
atomically) and the older rows read as NaN for them; the store says so with a
:class:`SchemaWarning`. A file with columns the writer does not know is refused
(:class:`ResultsFileError`: another kind of row). A row carrying a key that is no
column is never dropped silently: :class:`UnknownColumnsError` under
``strict=True`` (the default when ``GREENAI_STRICT_ROWS=1``, as in the tests),
else a :class:`SchemaWarning` naming the keys.

This module imports no torch.
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from pathlib import Path
from typing import Sequence

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

#: what a row carries of the meter's :class:`~greenai.energy.Measurement` beyond energy, duration and power
#: (:func:`measurement_fields`); appended to each kind's columns, so older CSVs extend (older rows NaN)
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "window_begin_unix_s", "energy_sampled_j", "energy_tdp_j", "cpu_energy_j", "cpu_energy_note",
    "begin_temperature_c", "end_temperature_c", "begin_sm_clock_mhz", "end_sm_clock_mhz",
    "begin_power_limit_w", "end_power_limit_w", "metered_gpus")

#: where a row was measured: the host, the GPU's NVML index (NVML's numbering, which ignores
#: ``CUDA_VISIBLE_DEVICES``) and its UUID (``GPU-…``); NaN/empty on a CPU. Appended to each kind's
#: columns (after :data:`MEASUREMENT_COLUMNS`), so older CSVs extend and their rows read NaN
PLACEMENT_COLUMNS: tuple[str, ...] = ("host", "gpu_index", "gpu_uuid")

#: every column of a ``train`` row, in file order
TRAIN_COLUMNS: tuple[str, ...] = KEY_COLUMNS["train"] + (
    "mode", "steps", "samples", "epoch_fraction", "duration_s", "energy_j", "power_w", "energy_method",
    "energy_counter_j", "energy_smi_j", "counter_updates", "uncertainty_j", "energy_above_idle_j",
    "epoch_duration_s", "epoch_energy_j", "epoch_energy_extrapolated",
    "h2d_s", "forward_s", "backward_s", "optimizer_s", "other_s",
    "h2d_energy_thesis_j", "forward_energy_thesis_j", "backward_energy_thesis_j", "optimizer_energy_thesis_j",
    "train_loss", "test_accuracy", "warnings") + _META_COLUMNS + MEASUREMENT_COLUMNS + PLACEMENT_COLUMNS

#: every column of a ``phases`` row
PHASE_COLUMNS: tuple[str, ...] = KEY_COLUMNS["phases"] + (
    "steps", "duration_s", "energy_j", "counter_updates", "uncertainty_j",
    "h2d_s", "forward_s", "backward_s", "optimizer_s") + _META_COLUMNS + (
    "energy_method", "power_w", "energy_counter_j", "energy_smi_j", "energy_above_idle_j", "warnings"
) + MEASUREMENT_COLUMNS + PLACEMENT_COLUMNS

#: every column of a ``layers`` row
LAYER_COLUMNS: tuple[str, ...] = KEY_COLUMNS["layers"] + (
    "layer_type", "module_class", "layer_params", "modules", "calls_per_step", "profiled_steps", "steps_per_epoch",
    "time_per_step_s", "time_per_epoch_s", "share_of_forward", "window_power_w", "energy_thesis_per_epoch_j",
    "replay_passes", "replay_time_per_step_s", "replay_power_w", "replay_energy_per_step_j",
    "energy_measured_per_epoch_j", "replay_counter_updates", "replay_uncertainty_j",
    "forward_time_per_step_s", "unhooked_time_per_step_s", "hook_overhead_fraction") + _META_COLUMNS + (
    "replay_duration_s", "window_energy_j", "window_duration_s", "energy_method", "energy_counter_j", "energy_smi_j",
    "counter_updates", "uncertainty_j", "energy_above_idle_j", "warnings") + MEASUREMENT_COLUMNS + PLACEMENT_COLUMNS

COLUMNS: dict[str, tuple[str, ...]] = {"train": TRAIN_COLUMNS, "phases": PHASE_COLUMNS, "layers": LAYER_COLUMNS}


def measurement_fields(m) -> dict:
    """The columns of one meter window for a row: everything ``Measurement.as_row`` knows.

    ``energy_method``, ``energy_j``-related totals (``energy_<method>_j``,
    ``energy_above_idle_j``, ``counter_updates``, ``uncertainty_j``), the CPU
    package energy with the reason when it is NaN (``cpu_energy_note``), the
    window-edge temperature [°C], SM clock [MHz] and power limit [W] of the
    metered GPU, its begin time [Unix s] and the ``warnings``. ``m`` is a
    :class:`greenai.energy.Measurement`, or None (no meter: NaN, with the reason).
    Runners meter one GPU; with several, the edges are those of the lowest
    index (all indices in ``metered_gpus``).
    """
    from greenai.energy import METHODS

    nan = math.nan
    if m is None:
        out = dict.fromkeys(MEASUREMENT_COLUMNS, nan)
        out.update({"cpu_energy_note": "no meter", "metered_gpus": "", "energy_method": None,
                    "energy_above_idle_j": nan, "counter_updates": nan, "uncertainty_j": nan, "warnings": ""})
        out.update({f"energy_{k}_j": nan for k in METHODS})
        return out
    out = {"window_begin_unix_s": m.begin_unix_s, "energy_method": m.method,
           "energy_above_idle_j": m.energy_above_idle_j,
           "counter_updates": float(m.counter_updates) if m.counter_updates is not None else nan,
           "uncertainty_j": m.uncertainty_j, "cpu_energy_j": m.cpu_energy_j,
           "cpu_energy_note": "" if math.isfinite(m.cpu_energy_j) else (m.cpu_energy_note or "RAPL not read"),
           "warnings": "; ".join(str(w) for w in m.warnings)}
    out.update({f"energy_{k}_j": m.energy_by_method.get(k, nan) for k in METHODS})
    gpus = sorted(set(m.gpu_energy_j) | set(m.edges.get("begin", {})))
    out["metered_gpus"] = " ".join(str(g) for g in gpus)
    for edge in ("begin", "end"):
        state = m.edges.get(edge, {}).get(gpus[0], {}) if gpus else {}
        for name in ("temperature_c", "sm_clock_mhz", "power_limit_w"):
            out[f"{edge}_{name}"] = state.get(name, nan)
    return out


class ResultsFileError(ValueError):
    """A results CSV cannot be appended to (it has columns this writer does not know); use another file."""


class UnknownColumnsError(ValueError):
    """A row carries keys that are no column of its file (they would be lost)."""


class SchemaWarning(UserWarning):
    """The store extended a file's columns, or dropped a row's unknown keys (non-strict mode)."""


def strict_default() -> bool:
    """Strict rows (unknown keys are errors) when ``GREENAI_STRICT_ROWS`` is ``1``."""
    return os.environ.get("GREENAI_STRICT_ROWS", "") == "1"


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



def _read_header(path: Path) -> tuple[str, ...]:
    with open(path, newline="") as f:
        return tuple(next(csv.reader(f), ()))


class RowStore:
    """Append rows to one CSV, flushing and fsyncing each write; resume by row key.

    Parameters
    ----------
    path : path
        The CSV (created with a header on the first write of a new file).
    columns : sequence of str
        The columns this writer knows, in the order of a new file.
    strict : bool, optional
        Raise :class:`UnknownColumnsError` for a row key that is no column
        (default :func:`strict_default`); else warn and drop it.

    Attributes
    ----------
    columns : tuple of str
        The file's columns, in file order (after any extension).
    added_columns : tuple of str
        Columns this open appended to an existing file (older rows NaN there).
    """

    def __init__(self, path: str | Path, columns: Sequence[str], strict: bool | None = None):
        self.path = Path(path)
        self.strict = strict_default() if strict is None else bool(strict)
        wanted = tuple(dict.fromkeys(columns))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _repair_tail(self.path)
        self.added_columns: tuple[str, ...] = ()
        if self.path.exists() and self.path.stat().st_size > 0:
            header = _read_header(self.path)
            unknown = [c for c in header if c not in wanted]
            if unknown:
                raise ResultsFileError(
                    f"{self.path} has other columns than this kind of run writes; append to a new file "
                    f"(extra: {sorted(unknown)}, missing: {sorted(set(wanted) - set(header))})")
            self.columns = header
            new = tuple(c for c in wanted if c not in header)
            if new:
                self._extend(new)
        else:
            self.columns = wanted
            self._write_text(self._line(dict(zip(self.columns, self.columns))))

    def _extend(self, new: tuple[str, ...]) -> None:
        """Append columns ``new`` to the header; older rows get empty cells (NaN). Atomic."""
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        n_old = len(rows) - 1
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(list(rows[0]) + list(new))
        for r in rows[1:]:
            w.writerow(r + [""] * len(new))
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            f.write(buf.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.columns = self.columns + new
        self.added_columns = new
        warnings.warn(f"{self.path.name}: {len(new)} new column(s) appended ({', '.join(new)}); "
                      f"its {n_old} older row(s) read as NaN for them", SchemaWarning, stacklevel=3)

    def _line(self, row: dict) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([cell(row.get(c)) for c in self.columns])
        return buf.getvalue()

    def _write_text(self, text: str) -> None:
        with open(self.path, "a", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def check(self, rows: Sequence[dict]) -> None:
        """Raise (strict) or warn about row keys that are no column of the file."""
        known = set(self.columns)
        unknown = sorted({k for r in rows for k in r if k not in known})
        if not unknown:
            return
        msg = f"{self.path.name}: row key(s) {unknown} are no column of this file"
        if self.strict:
            raise UnknownColumnsError(msg + "; add them to the kind's columns or drop them explicitly")
        warnings.warn(msg + "; not written", SchemaWarning, stacklevel=3)

    def append(self, rows: Sequence[dict]) -> None:
        """Append ``rows`` in one write (all or, if killed, at most a partial last line)."""
        rows = list(rows)
        self.check(rows)
        if rows:
            self._write_text("".join(self._line(r) for r in rows))

    def keys(self, key_columns: Sequence[str]) -> set[tuple[str, ...]]:
        """Row keys already in the file, as tuples of strings."""
        if not self.path.exists():
            return set()
        with open(self.path, newline="") as f:
            return {tuple(r[c] for c in key_columns) for r in csv.DictReader(f)}


class MemoryStore:
    """The store of a Dask worker: keeps the rows of one cell in memory for the client to append.

    The same interface as :class:`RowStore` (``columns``, ``check``, ``append``,
    ``keys``), so the runners and :func:`~greenai.experiments.sweep.sweep` work on
    it unchanged; ``done`` are the keys the client's file already holds. No file
    is written: the client is the one writer (:mod:`greenai.experiments.executors`).
    """

    def __init__(self, columns: Sequence[str], done=(), strict: bool | None = None, name: str = "rows"):
        self.path = Path(f"{name}.csv")  # for messages only
        self.columns = tuple(dict.fromkeys(columns))
        self.strict = strict_default() if strict is None else bool(strict)
        self.added_columns: tuple[str, ...] = ()
        self.rows: list[dict] = []
        self._done = set(done)

    check = RowStore.check

    def append(self, rows: Sequence[dict]) -> None:
        rows = list(rows)
        self.check(rows)
        known = set(self.columns)
        self.rows.extend({k: v for k, v in r.items() if k in known} for r in rows)

    def keys(self, key_columns: Sequence[str]) -> set[tuple[str, ...]]:
        """The keys the client said are present (``done``), as tuples of strings."""
        return set(self._done)


#: the name the runners used before the store (kept for callers of the old module)
RowWriter = RowStore


def cell(v) -> str:
    """The CSV text of one value: empty for None/NaN, ``repr`` for floats, never ``np.float64(...)``."""
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



def row_key(row: dict, key_columns: Sequence[str]) -> tuple[str, ...]:
    """The key of ``row`` as the store compares it (CSV text of each key column)."""
    return tuple(cell(row.get(c)) for c in key_columns)


def append_row(path: str | Path, row: dict, strict: bool | None = None) -> None:
    """Append one free-form row (e.g. ``greenai measure --csv``): its keys are the columns.

    A new file gets ``row``'s keys as header; keys the file lacks extend its
    header (older rows NaN, with a :class:`SchemaWarning`).

    Raises
    ------
    ResultsFileError
        The file has columns ``row`` lacks (another kind of row: use another file).
    """
    RowStore(path, list(row), strict=strict).append([row])


# --------------------------------------------------------------------------- reading


class MissingResultsError(FileNotFoundError):
    """A results CSV the analysis needs is not there; the message says how to make it."""


def read_rows(csv_path: str | Path):
    """The rows of a results CSV as a pandas DataFrame."""
    import pandas as pd

    return pd.read_csv(csv_path)


def kind_of(columns) -> str | None:
    """The kind of run whose rows have ``columns`` (by their key columns), or None."""
    cols = set(columns)
    for kind in ("layers", "phases", "train"):
        if set(KEY_COLUMNS[kind]) <= cols:
            return kind
    return None


def load_results(name: str, raw_dir: str | Path | None = None):
    """Rows of ``<raw_dir>/<name>.csv`` (default ``results/raw``) as a DataFrame.

    Columns of the row schema the file predates are added as NaN (older rows),
    and listed in ``frame.attrs["missing_columns"]``.

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
    frame = pd.read_csv(path)
    kind = kind_of(frame.columns)
    missing = [c for c in COLUMNS[kind] if c not in frame.columns] if kind else []
    for c in missing:
        frame[c] = math.nan
    frame.attrs["missing_columns"] = missing
    return frame
