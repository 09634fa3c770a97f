"""The row store: one CSV per experiment, one writer, resumable (DESIGN.md's data flow).

Every row the package records (a training epoch or window, a phase-design
window, a layer, a ``greenai measure`` run) is appended here by
:class:`RowStore`: one write per batch of rows, flushed and fsynced, under the
file's writer lock (:mod:`greenai.filelock`; a second writer waits ``wait_s``
seconds, then :class:`WriterBusyError` names the holder). Readers
(:func:`load_results`) take no lock. A file of another kind is refused
(:class:`ResultsFileError`) and stays byte-identical; a torn last record is
dropped (:class:`DroppedRowsWarning`). Schema changes are additive: new columns
are appended to the header and older rows read NaN (:class:`SchemaWarning`); an
unknown key raises :class:`UnknownColumnsError` under ``strict=True``.
Committed measurements (``results/raw``) need ``allow_raw=True``
(:class:`ProtectedResultsError`), and mixed GPUs or precisions ``mixed_ok=True``
(:func:`check_compatible`, :class:`MixedResultsError`).

The locking, the repairs and the schema rules in full: ``docs/experiments.md``
("The row store"). This module imports no torch.
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from pathlib import Path
from typing import Sequence

from greenai import paths
from greenai.energy.results import METHODS, Measurement, measurement_row
from greenai.filelock import WriterLock, atomic_write

# values of any size read back (the default limit, 128 KiB, failed every resume after a long value)
csv.field_size_limit(2**31 - 1)
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


def measurement_fields(m: Measurement | None) -> dict:
    """The meter's columns of a row: :func:`greenai.energy.results.measurement_row` under this file's names.

    ``window_begin_unix_s`` and ``energy_method`` are the row's ``begin_unix_s``
    and ``method``; the window-edge temperature [°C], SM clock [MHz] and power
    limit [W] are those of the lowest metered GPU (all indices in
    ``metered_gpus``); ``cpu_energy_note`` says why ``cpu_energy_j`` is NaN.
    ``m`` None (no meter): NaN, with the reason.
    """
    nan = math.nan
    if m is None:
        out = dict.fromkeys(MEASUREMENT_COLUMNS, nan)
        out.update({"cpu_energy_note": "no meter", "metered_gpus": "", "energy_method": None,
                    "energy_above_idle_j": nan, "counter_updates": nan, "uncertainty_j": nan, "warnings": ""})
        out.update({f"energy_{k}_j": nan for k in METHODS})
        return out
    row = measurement_row(m)
    out = {"window_begin_unix_s": row["begin_unix_s"], "energy_method": row["method"],
           "counter_updates": float(row["counter_updates"]),
           "cpu_energy_note": "" if math.isfinite(m.cpu_energy_j) else (m.cpu_energy_note or "RAPL not read")}
    out.update({k: row[k] for k in ("energy_above_idle_j", "uncertainty_j", "cpu_energy_j", "warnings")})
    out.update({f"energy_{k}_j": row[f"energy_{k}_j"] for k in METHODS})
    gpus = sorted(set(m.gpu_energy_j) | set(m.edges.get("begin", {})))
    out["metered_gpus"] = " ".join(str(g) for g in gpus)
    for edge in ("begin", "end"):
        for name in ("temperature_c", "sm_clock_mhz", "power_limit_w"):
            out[f"{edge}_{name}"] = row.get(f"gpu{gpus[0]}_{edge}_{name}", nan) if gpus else nan
    return out


class ResultsFileError(ValueError):
    """A results CSV cannot be appended to (another kind of file, or damaged); use another file."""


class WriterBusyError(ResultsFileError):
    """Another process writes the file (the message names it: pid, host, since when, command)."""


class ProtectedResultsError(ResultsFileError):
    """A committed measurement file (``results/raw``) opened for writing by anything but a GPU campaign."""


class MixedResultsError(ResultsFileError):
    """Rows of another GPU or precision would join a committed file's rows (pass ``mixed_ok=True`` if meant)."""


class UnknownColumnsError(ValueError):
    """A row carries keys that are no column of its file (they would be lost)."""


class SchemaWarning(UserWarning):
    """The store extended a file's columns, or dropped a row's unknown keys (non-strict mode)."""


class DroppedRowsWarning(UserWarning):
    """Rows were left out: a torn last record, a record of the wrong field count, a duplicate key."""


def strict_default() -> bool:
    """Strict rows (unknown keys are errors) when ``GREENAI_STRICT_ROWS`` is ``1``."""
    return os.environ.get("GREENAI_STRICT_ROWS", "") == "1"


def is_protected(path: str | Path) -> bool:
    """Whether ``path`` lies in the committed measurements, :data:`greenai.paths.RAW_DIR`."""
    return Path(path).resolve().is_relative_to(Path(paths.RAW_DIR).resolve())


# --------------------------------------------------------------------------- the file's records


class _Record:
    """One CSV record: its first line number (1 = header), its text (with its newline), its fields."""

    __slots__ = ("line", "start", "raw", "fields")

    def __init__(self, line: int, start: int, raw: str, fields: list[str] | None):
        self.line, self.start, self.raw, self.fields = line, start, raw, fields

    def complete(self, n_fields: int) -> bool:
        """Ended by a newline outside quotes, and exactly ``n_fields`` fields."""
        return self.raw.endswith("\n") and self.fields is not None and len(self.fields) == n_fields


def _split(text: str) -> list[_Record]:
    """The records of ``text`` (header first): lines joined while a quote is open.

    A record's fields are None when the csv module cannot parse it (an open
    quote at the end of the file, a stray newline).
    """
    records, start, line, n = [], 0, 1, len(text)
    while start < n:
        end, quotes, lines = start, 0, 0
        while True:
            nl = text.find("\n", end)
            stop = n if nl < 0 else nl + 1
            quotes += text.count('"', end, stop)
            lines += 1
            end = stop
            if quotes % 2 == 0 or end >= n:
                break
        raw = text[start:end]
        try:
            fields = next(csv.reader([raw]), []) if quotes % 2 == 0 else None
        except csv.Error:
            fields = None
        records.append(_Record(line, start, raw, fields))
        start, line = end, line + lines
    return records


def _decode(data: bytes, path: Path) -> str:
    """The text of a results file, refusing (untouched) one that is not: binary, not UTF-8, no header."""
    first = data.split(b"\n", 1)[0]
    if b"\x00" in data[:65536]:
        raise ResultsFileError(f"{path} is a binary file, no results CSV; choose another file (it was not changed)")
    try:
        first.decode("utf-8")
    except UnicodeDecodeError:
        raise ResultsFileError(f"{path} is no UTF-8 text, no results CSV; choose another file "
                               f"(it was not changed)") from None
    if b"\n" not in data or not first.strip():
        raise ResultsFileError(f"{path} has no complete header line, no results CSV; choose another file "
                               f"(it was not changed)")
    return data.decode("utf-8", "surrogateescape")  # a torn multi-byte character in the tail stays a byte


def _header(records: list[_Record], path: Path) -> tuple[str, ...]:
    fields = records[0].fields
    if not fields or any(not c.strip() for c in fields) or len(set(fields)) != len(fields):
        raise ResultsFileError(f"{path} has no header of distinct column names, no results CSV; choose another "
                               f"file (it was not changed)")
    return tuple(fields)


def _scan(path: Path) -> tuple[tuple[str, ...], list[_Record], str]:
    """(header, records after it, text) of a results file; :class:`ResultsFileError` if it is none."""
    text = _decode(path.read_bytes(), path)
    records = _split(text)
    return _header(records, path), records[1:], text


def _keys_of(header: Sequence[str], records: list[_Record], key_columns: Sequence[str]) -> set[tuple[str, ...]]:
    """Keys of the complete records (a torn or malformed record counts for nothing)."""
    where = [header.index(c) for c in key_columns]
    n = len(header)
    return {tuple(r.fields[i] for i in where) for r in records if r.complete(n)}


# --------------------------------------------------------------------------- writing


class RowStore:
    """Append rows to one CSV, flushing and fsyncing each write; resume by row key; one writer.

    Parameters
    ----------
    path : path
        The CSV (created with a header on opening a new file).
    columns : sequence of str
        The columns this writer knows, in the order of a new file.
    strict : bool, optional
        Raise :class:`UnknownColumnsError` for a row key that is no column
        (default :func:`strict_default`); else warn and drop it.
    key_columns : sequence of str, optional
        The columns of a row's key: a row whose key the file holds is not
        appended (:class:`DroppedRowsWarning`). Default: the key of the kind
        ``columns`` belong to (:func:`kind_of`); none for free-form rows.
    allow_raw : bool, optional
        Open a file in :data:`greenai.paths.RAW_DIR` (only a GPU campaign does);
        else :class:`ProtectedResultsError`.
    mixed_ok : bool, optional
        Append rows of another ``gpu_name``/``precision`` to such a file (:func:`check_compatible`).
    declared : mapping of str to set of str, optional
        Values this writer says it writes (a grid's precisions): rows with them join a committed file
        although its rows have others (:func:`check_compatible`).
    wait_s : float, optional
        How long to wait for another writer of the file [s] before :class:`WriterBusyError`.

    Attributes
    ----------
    columns : tuple of str
        The file's columns, in file order (after any extension).
    added_columns : tuple of str
        Columns this open appended to an existing file (older rows NaN there).

    The store holds the file's writer lock until :meth:`close` (also on leaving a
    ``with`` block, on garbage collection, and at the end of the process).
    """

    def __init__(self, path: str | Path, columns: Sequence[str], strict: bool | None = None, *,
                 key_columns: Sequence[str] | None = None, allow_raw: bool = False, mixed_ok: bool = False,
                 declared: dict[str, set[str]] | None = None, wait_s: float | None = None):
        self.path = Path(path)
        self.strict = strict_default() if strict is None else bool(strict)
        wanted = tuple(dict.fromkeys(columns))
        kind = kind_of(wanted)
        self.key_columns = tuple(key_columns) if key_columns is not None else (KEY_COLUMNS[kind] if kind else None)
        self.protected = is_protected(self.path)
        if self.protected and not allow_raw:
            raise ProtectedResultsError(f"{self.path} is a committed measurement: only a GPU campaign writes to "
                                        f"results/raw; pass --out DIR to write elsewhere")
        self.mixed_ok = bool(mixed_ok)
        self.declared = {c: {cell(v) for v in vs} for c, vs in (declared or {}).items()}
        self.added_columns: tuple[str, ...] = ()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock = WriterLock(self.path, wait_s)
        except TimeoutError as exc:
            raise WriterBusyError(str(exc)) from None
        try:
            with self._lock:
                self._open(wanted)
        except BaseException:
            self._lock.release()
            raise

    # -- lifetime
    def close(self) -> None:
        """Release the file's writer lock (idempotent); the store cannot write afterwards."""
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.release()

    def __enter__(self) -> "RowStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        self.close()

    # -- under the lock
    def _open(self, wanted: tuple[str, ...]) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.columns = wanted
            atomic_write(self.path, self._line(dict(zip(wanted, wanted))))
            return
        header, records, text = _scan(self.path)  # refuses a foreign file before anything is written
        unknown = [c for c in header if c not in wanted]
        if unknown:
            raise ResultsFileError(
                f"{self.path} has other columns than this kind of run writes; append to a new file "
                f"(extra: {sorted(unknown)}, missing: {sorted(set(wanted) - set(header))})")
        self.columns = header
        if records and not records[-1].complete(len(header)):
            self._drop_tail(records[-1], text)
        new = tuple(c for c in wanted if c not in header)
        if new:
            self._extend(new)

    def _drop_tail(self, last: _Record, text: str) -> None:
        """Cut an incomplete last record (a writer killed mid-write), with a warning."""
        keep = len(text[:last.start].encode("utf-8", "surrogateescape"))
        with open(self.path, "rb+") as f:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        warnings.warn(f"{self.path.name}: dropped an incomplete last row (line {last.line}, "
                      f"{len(last.raw)} characters) left by an interrupted write", DroppedRowsWarning, stacklevel=4)

    def _extend(self, new: tuple[str, ...]) -> None:
        """Append columns ``new`` to the header; older rows get empty cells (NaN). Atomic."""
        header, records, _ = _scan(self.path)
        out = [self._line(dict(zip(header + new, header + new)), header + new)]
        for r in records:
            body = r.raw[:-2] if r.raw.endswith("\r\n") else r.raw[:-1]
            out.append(body + "," * len(new) + "\n")
        atomic_write(self.path, "".join(out).encode("utf-8", "surrogateescape"))
        self.columns = header + new
        self.added_columns = self.added_columns + new
        warnings.warn(f"{self.path.name}: {len(new)} new column(s) appended ({', '.join(new)}); "
                      f"its {len(records)} older row(s) read as NaN for them", SchemaWarning, stacklevel=4)

    def _refresh(self) -> list[_Record] | None:
        """Re-read the header (another writer of this process may have widened it) and mend a torn tail.

        Returns the records when they were read (keys needed, or a tail to mend)."""
        with open(self.path, "rb") as f:
            first = f.readline()
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - 1, 0))
            ends_clean = f.read(1) == b"\n"
        header = tuple(next(csv.reader([first.decode("utf-8")]), ()))
        if header != self.columns:
            missing = tuple(c for c in self.columns if c not in header)
            self.columns = header
            if missing:
                self._extend(missing)
        if ends_clean and not self.key_columns and not (self.protected and not self.mixed_ok):
            return None
        header, records, text = _scan(self.path)
        if records and not records[-1].complete(len(header)):
            self._drop_tail(records[-1], text)
            records = records[:-1]
        return records

    def _line(self, row: dict, columns: Sequence[str] | None = None) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([cell(row.get(c)) for c in (columns or self.columns)])
        return buf.getvalue()

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
        """Append ``rows`` in one write (all or, if killed, at most an incomplete last record).

        Under the writer lock: the header is re-read, rows whose key the file
        already holds (or that repeat a key of this batch) are left out with a
        :class:`DroppedRowsWarning`, and in a committed file the rows must match
        its GPU and precision (:func:`check_compatible`, unless ``mixed_ok``).
        """
        rows = list(rows)
        if not self._lock.held:
            raise ResultsFileError(f"{self.path}: this RowStore was closed; open a new one to append")
        with self._lock:
            records = self._refresh()
            self.check(rows)
            if self.key_columns and rows:
                rows = self._new_rows(rows, records)
            if not rows:
                return
            if self.protected and not self.mixed_ok:
                check_compatible(self.path, rows, records=(self.columns, records), declared=self.declared)
            text = "".join(self._line(r) for r in rows)
            with open(self.path, "a", newline="", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())

    def _new_rows(self, rows: list[dict], records: list[_Record]) -> list[dict]:
        seen = _keys_of(self.columns, records, self.key_columns)
        new, dup = [], 0
        for r in rows:
            k = row_key(r, self.key_columns)
            if k in seen:
                dup += 1
                continue
            seen.add(k)
            new.append(r)
        if dup:
            warnings.warn(f"{self.path.name}: {dup} row(s) not appended: their key is already in the file "
                          f"or earlier in this batch", DroppedRowsWarning, stacklevel=4)
        return new

    def keys(self, key_columns: Sequence[str]) -> set[tuple[str, ...]]:
        """Row keys of the file's complete rows, as tuples of strings (read under the writer lock)."""
        if not self.path.exists():
            return set()
        with self._lock:
            header, records, _ = _scan(self.path)
            return _keys_of(header, records, key_columns)


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

    def close(self) -> None:
        pass


_ESCAPES = str.maketrans({"\n": "\\n", "\r": "\\r", "\x00": "\\0"})


def cell(v) -> str:
    """The CSV text of one value: empty for None/NaN, ``repr`` for floats, never ``np.float64(...)``.

    A value's newline is written as the two characters ``\\n`` (carriage return
    ``\\r``, NUL ``\\0``): every record is one line, so a torn write is always
    a torn last line.
    """
    if v is None:
        return ""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (float, int)) or hasattr(v, "item"):  # numpy scalars too: never "np.float64(...)"
        try:
            v = v.item() if hasattr(v, "item") else v
        except (TypeError, ValueError):
            return str(v).translate(_ESCAPES)
        if isinstance(v, float):
            return "" if math.isnan(v) else repr(v)
    return str(v).translate(_ESCAPES)


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
        The file has columns ``row`` lacks (another kind of row: use another
        file), is no results CSV, or another process writes it.
    """
    with RowStore(path, list(row), strict=strict, key_columns=()) as store:
        store.append([row])


#: the columns whose values a committed file's new rows must share with its rows (:func:`check_compatible`)
COMPATIBLE_COLUMNS: tuple[str, ...] = ("gpu_name", "precision")


def check_compatible(path: str | Path, rows: Sequence[dict], records=None,
                     declared: dict[str, set[str]] | None = None) -> None:
    """Refuse ``rows`` whose ``gpu_name`` or ``precision`` is none of the values of the rows of ``path``
    (nor of ``declared``: the values a writer's grid says it writes, as CSV text).

    A committed file holds the measurements of one GPU and its precisions: rows
    of another one belong in another file. A missing or empty file accepts any
    rows; rows lacking the column are not compared. ``records`` (header and
    records, as the store holds them) saves reading the file again.

    Raises
    ------
    MixedResultsError
        The values differ; pass ``mixed_ok=True`` to the store when the mix is meant.
    """
    path = Path(path)
    if records is None:
        if not path.exists() or path.stat().st_size == 0:
            return
        header, recs, _ = _scan(path)
    else:
        header, recs = records
    complete = [r for r in recs if r.complete(len(header))]
    if not complete:
        return
    for col in COMPATIBLE_COLUMNS:
        if col not in header:
            continue
        i = header.index(col)
        have = {r.fields[i] for r in complete} | set((declared or {}).get(col, ()))
        new = {cell(r[col]) for r in rows if col in r} - have
        if new:
            raise MixedResultsError(f"{path.name}: rows of {col} {sorted(new)} would join its rows of "
                                    f"{sorted(have)}; write them to another file, or pass mixed_ok=True if "
                                    f"the mix is meant")


# --------------------------------------------------------------------------- reading


class MissingResultsError(FileNotFoundError):
    """A results CSV the analysis needs is not there; the message says how to make it."""


def kind_of(columns) -> str | None:
    """The kind of run whose rows have ``columns`` (by their key columns), or None."""
    cols = set(columns)
    for kind in ("layers", "phases", "train"):
        if set(KEY_COLUMNS[kind]) <= cols:
            return kind
    return None


def read_rows(csv_path: str | Path):
    """The valid rows of a results CSV as a pandas DataFrame.

    Left out, each with a :class:`DroppedRowsWarning` naming its line and
    listed in ``frame.attrs["dropped_rows"]`` (``"line N: why"``): a torn last
    record (no final newline, an open quote), a record without exactly the
    header's number of fields, and, in a file of a known kind (:func:`kind_of`),
    a row repeating an earlier row's key (the first is kept). A file with
    nothing to leave out is read exactly as ``pandas.read_csv`` reads it.

    Raises
    ------
    ResultsFileError
        The file is no results CSV (binary, not UTF-8, no header).
    """
    import pandas as pd  # heavy: pandas

    path = Path(csv_path)
    header, records, text = _scan(path)
    n = len(header)
    kind = kind_of(header)
    where = [header.index(c) for c in KEY_COLUMNS[kind]] if kind else None
    first: dict[tuple[str, ...], int] = {}
    dropped: list[str] = []
    kept: list[_Record] = []
    for r in records:
        if not r.raw.endswith("\n") or r.fields is None:
            dropped.append(f"line {r.line}: torn (no final newline or an open quote)")
        elif len(r.fields) != n:
            if not r.raw.strip():
                continue  # a blank line: pandas skips it too
            dropped.append(f"line {r.line}: {len(r.fields)} fields, the header has {n}")
        elif where is not None and (k := tuple(r.fields[i] for i in where)) in first:
            dropped.append(f"line {r.line}: repeats the key of line {first[k]}")
        else:
            if where is not None:
                first[k] = r.line
            kept.append(r)
    if not dropped:
        frame = pd.read_csv(path)
    else:
        warnings.warn(f"{path.name}: {len(dropped)} row(s) left out: {'; '.join(dropped)}", DroppedRowsWarning,
                      stacklevel=3)
        clean = text[:records[0].start] if records else text
        frame = pd.read_csv(io.StringIO(clean + "".join(r.raw for r in kept)))
    frame.attrs["dropped_rows"] = dropped
    return frame


def load_results(name: str, raw_dir: str | Path | None = None):
    """Rows of ``<raw_dir>/<name>.csv`` (default ``results/raw``) as a DataFrame, validated (:func:`read_rows`).

    Columns of the row schema the file predates are added as NaN (older rows),
    and listed in ``frame.attrs["missing_columns"]``; rows left out are listed
    in ``frame.attrs["dropped_rows"]`` (with a :class:`DroppedRowsWarning`).

    Raises
    ------
    MissingResultsError
        The file is missing: run ``python -m greenai.campaign`` on a GPU (or the
        notebook with ``MEASURE=True``) first.
    """
    path = Path(raw_dir or paths.RAW_DIR) / f"{name}.csv"
    if not path.exists():
        raise MissingResultsError(f"{path} does not exist; measure it on a GPU with `python -m greenai.campaign` "
                                  f"(or run the notebook with MEASURE=True) and commit it under results/raw/")
    frame = read_rows(path)
    kind = kind_of(frame.columns)
    missing = [c for c in COLUMNS[kind] if c not in frame.columns] if kind else []
    for c in missing:
        frame[c] = math.nan
    frame.attrs["missing_columns"] = missing
    return frame
