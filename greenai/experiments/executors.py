"""Where the cells of a sweep run: in this process, or on Dask workers holding one GPU each.

:class:`InProcess` (the default): every cell on this process's device, rows
appended as they are measured. :class:`DaskExecutor` spreads the cells (one
:class:`~greenai.experiments.grids.RunSpec` each) over the workers of a Dask
cluster: the GPUs of this host (:func:`local_gpu_cluster`), CPU worker processes
(:func:`local_cpu_cluster`, for tests and smoke runs), or any running scheduler
given by its address. A worker measures into a
:class:`~greenai.experiments.store.MemoryStore` and returns the rows; the client
appends them through the one :class:`~greenai.experiments.store.RowStore`.
Cells are submitted longest first, may be pinned to a GPU kind, are retried
once and never dropped silently; every worker warms up before the first cell.
The details: ``docs/campaign.md`` (where the cells run).

Dask is an optional dependency (``pip install 'greenai[cluster]'``); this module
imports it only when an executor is made.
"""

from __future__ import annotations

import math
import os
import socket
import sys
from collections import deque
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from greenai import nvml
from greenai.experiments.cost import cell_cost_s, longest_first
from greenai.experiments.grids import GridError, RunSpec, validate
from greenai.experiments.store import COLUMNS, KEY_COLUMNS, MemoryStore, RowStore, row_key
from greenai.experiments.sweep import SweepSummary, progress_bar


class InProcess:
    """Every cell in this process, one after another (the default executor)."""

    description = "in-process"

    def run(self, specs: Sequence[RunSpec], csv_path: str | Path, **kwargs) -> SweepSummary:
        from greenai.experiments.runners import run  # torch

        return run(specs, csv_path, **kwargs)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class CellFailure:
    """A cell that did not finish after its retry: the spec, the error text, the attempts made."""

    spec: RunSpec
    error: str
    attempts: int

    def describe(self) -> str:
        return f"{self.spec.describe()}: {self.error} (after {self.attempts} attempt(s))"


@dataclass
class CellResult:
    """What a worker returns for one cell: its rows and where they were measured."""

    rows: list
    written: int
    skipped: int
    seconds: float
    worker: dict
    log: list = field(default_factory=list)


def _dask():
    try:
        import dask  # noqa: F401
        import distributed  # optional: distributed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("the Dask executors need dask[distributed]: pip install 'greenai[cluster]'") from exc
    return distributed


#: the scheduler setting of the clusters made here: a worker's death fails its task at once, and the
#: client retries it once. Set it in the scheduler's config of a cluster started elsewhere
#: (``dask-scheduler``, ``SLURMCluster(scheduler_options=...)``) for the same semantics; with Dask's
#: default (3) the scheduler itself reruns a cell whose worker died before the client's one retry.
SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": 0}


def local_cpu_cluster(n_workers: int = 2, **kwargs):
    """A ``LocalCluster`` of ``n_workers`` CPU worker processes with one thread each (tests, smoke runs).

    Made with ``distributed.scheduler.allowed-failures = 0``, so a cell whose worker
    dies comes back to the client at once, which retries it once (exactly one retry).
    """
    distributed = _dask()
    import dask  # optional: dask

    with dask.config.set(SCHEDULER_CONFIG):
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, **kwargs)
    cluster.description = f"distributed LocalCluster, {n_workers} CPU worker(s)"
    return cluster


def local_gpu_cluster(gpus: str | Sequence[int] = "all", dask_cuda: bool = True, **kwargs):
    """One Dask worker per local GPU, one thread each: ``dask-cuda``'s ``LocalCUDACluster``.

    Parameters
    ----------
    gpus : "all" or list of int
        The CUDA indices of this host's GPUs to use (``"all"``: every GPU; a
        string "0,1" is a list).
    dask_cuda : bool
        Use ``dask-cuda`` (default); False makes the ``distributed``-only equivalent below.

    Each worker process sees its GPU as ``cuda:0`` (``CUDA_VISIBLE_DEVICES`` lists it
    first; the worker narrows it to that one before CUDA starts), and its meter
    reads that GPU's NVML index, found by UUID. Without ``dask-cuda`` installed,
    an equivalent cluster of ``distributed`` Nannies, each given its one GPU in
    ``CUDA_VISIBLE_DEVICES``, is made instead (said on stderr and in ``.description``).
    """
    distributed = _dask()
    import dask  # optional: dask

    visible = [g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    if isinstance(gpus, str) and gpus != "all":
        gpus = [int(g) for g in gpus.split(",") if g.strip()]
    if gpus == "all":
        if visible:
            devices = visible
        else:
            nvml.init()
            try:
                devices = [str(i) for i in range(nvml.device_count())]
            finally:
                nvml.shutdown()
    else:
        devices = [visible[i] if visible else str(i) for i in gpus]
    if not devices:
        raise RuntimeError("no GPU found on this host (NVML counts none)")
    with dask.config.set(SCHEDULER_CONFIG):
        if not dask_cuda:
            return _nanny_per_gpu(distributed, devices, **kwargs)
        try:
            from dask_cuda import LocalCUDACluster  # optional: dask_cuda
        except Exception as exc:  # noqa: BLE001 - missing, or its CUDA bindings fail to import
            print(f"dask-cuda not importable ({type(exc).__name__}: {exc}); one distributed Nanny per GPU instead",
                  file=sys.stderr)
            return _nanny_per_gpu(distributed, devices, **kwargs)
        try:
            cluster = LocalCUDACluster(CUDA_VISIBLE_DEVICES=",".join(devices), n_workers=len(devices),
                                       threads_per_worker=1, dashboard_address=None, **kwargs)
        except Exception as exc:  # noqa: BLE001 - e.g. a dask-cuda too old or new for this distributed
            print(f"LocalCUDACluster failed ({type(exc).__name__}: {exc}); one distributed Nanny per GPU instead",
                  file=sys.stderr)
            return _nanny_per_gpu(distributed, devices, **kwargs)
        cluster.description = f"dask-cuda LocalCUDACluster, {len(devices)} GPU worker(s)"
        return cluster


def _nanny_per_gpu(distributed, devices: list[str], **kwargs):
    """A ``SpecCluster`` with one Nanny per GPU whose ``CUDA_VISIBLE_DEVICES`` is that GPU alone."""
    from distributed import Nanny, Scheduler, SpecCluster  # optional: distributed

    workers = {f"gpu{d}": {"cls": Nanny, "options": {"nthreads": 1, "env": {"CUDA_VISIBLE_DEVICES": d}}}
               for d in devices}
    cluster = SpecCluster(workers=workers, scheduler={"cls": Scheduler, "options": {"dashboard_address": None}},
                          **kwargs)
    cluster.description = f"distributed SpecCluster (no dask-cuda), {len(devices)} GPU worker(s)"
    return cluster


# --------------------------------------------------------------------------- on the worker

_WORKER_ENVS: dict = {}
_WORKER_CACHES: dict = {}


def _narrow_visible_devices() -> None:
    """Make this worker process see only the first GPU of its ``CUDA_VISIBLE_DEVICES`` (before CUDA starts).

    ``LocalCUDACluster`` gives worker *i* the list rotated to start at GPU *i*; the
    work runs on ``cuda:0`` either way, this only hides the other GPUs from it.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    if "," not in visible:
        return
    import torch  # heavy: torch

    if not torch.cuda.is_initialized():
        os.environ["CUDA_VISIBLE_DEVICES"] = visible.split(",")[0].strip()


def worker_environment(device: str | None = None, idle_s: float = 0.0, methods=None):
    """This worker process's :class:`~greenai.experiments.environment.Environment`, made once."""
    key = (device, idle_s, tuple(methods) if isinstance(methods, (list, tuple)) else methods)
    if key not in _WORKER_ENVS:
        _narrow_visible_devices()
        from greenai.experiments.environment import make_environment  # heavy: torch

        _WORKER_ENVS[key] = make_environment(device, idle_s=idle_s, methods=methods)
    return _WORKER_ENVS[key]


def _worker_address() -> str:
    try:
        from distributed import get_worker  # optional: distributed

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid{os.getpid()}"


def worker_info(env_options: dict) -> dict:
    """Where this worker measures: address, host, GPU name, NVML index and UUID, idle power [W]."""
    env = worker_environment(**env_options)
    return {"address": _worker_address(), "host": env.host or socket.gethostname(), "gpu_name": env.gpu_name,
            "gpu_index": env.gpu_index, "gpu_uuid": env.gpu_uuid, "device": str(env.device),
            "idle_power_w": env.idle_power_w, "pid": os.getpid()}


def _worker_cache(data_root):
    """This worker process's :class:`~greenai.experiments.environment.DataCache` (datasets loaded once)."""
    from greenai.experiments.environment import DataCache  # heavy: torch

    return _WORKER_CACHES.setdefault(str(data_root), DataCache(data_root))


def warm_worker(env_options: dict, specs: Sequence[RunSpec], runner_kwargs: dict) -> dict:
    """Warm this worker up for ``specs`` before the timed sweep; return the record of
    :func:`~greenai.experiments.environment.warm_up` (times [s], what it did) with the worker's ``pid``."""
    from greenai.experiments.environment import warm_up  # heavy: torch

    env = worker_environment(**env_options)
    record = warm_up(env, specs, _worker_cache(runner_kwargs.get("data_root")))
    record["pid"] = os.getpid()
    return record


def run_cell(kind: str, spec: RunSpec, csv_name: str, done: set, env_options: dict,
             runner_kwargs: dict) -> CellResult:
    """Run one cell on this worker into memory; return its rows (the client writes them)."""
    from greenai.experiments.runners import RUNNERS  # torch

    env = worker_environment(**env_options)
    store = MemoryStore(COLUMNS[kind], done, name=Path(csv_name).stem)
    lines: list[str] = []
    t0 = time.perf_counter()
    cache = _worker_cache(runner_kwargs.get("data_root"))
    summary = RUNNERS[kind]([spec], csv_name, env=env, store=store, progress=False, validate_first=False,
                              log=lines.append, cache=cache, **runner_kwargs)
    return CellResult(rows=store.rows, written=summary.written, skipped=summary.skipped,
                      seconds=time.perf_counter() - t0, worker=worker_info(env_options), log=lines)


# --------------------------------------------------------------------------- on the client


def worker_label(info: dict) -> str:
    """A short name of a worker's GPU for the progress bar: ``host:gpuN`` (or the worker's address)."""
    index = info.get("gpu_index")
    if isinstance(index, (int, float)) and index == index:
        return f"{info.get('host', '?')}:gpu{int(index)}"
    return str(info.get("address", "?")).rsplit("/", 1)[-1]


class DaskExecutor:
    """Run the cells of a sweep on Dask workers, one cell per worker (one GPU) at a time.

    Parameters
    ----------
    address : str or Cluster, optional
        A running scheduler's address (``tcp://host:8786``), or a cluster object
        (``LocalCUDACluster``, ``SLURMCluster``, :func:`local_cpu_cluster` …).
        Default: :func:`local_gpu_cluster` over ``gpus``.
    gpus : "all" or list of int
        With no ``address``: which local GPUs get a worker.
    device : str, optional
        The workers' torch device (default ``cuda`` where there is one, else ``cpu``).
    idle_s : float
        Idle power measured by each worker when it starts [s] (0 skips it).
    gpu_kind : str or callable, optional
        Pin cells to workers whose GPU name contains this text (case-insensitive),
        or ``gpu_kind(spec)`` → such a text or None (not pinned).
    resources : dict or callable, optional
        Dask worker resources each cell needs (``{"H200": 1}``), or ``resources(spec)``
        → such a dict; workers must be started with them (``--resources``).
    retries : int
        Further attempts of a cell whose worker died or that raised (default 1),
        on another worker where one is eligible; then the cell is reported.
    cell : callable
        The function run per cell on a worker (default :func:`run_cell`).
    close_cluster : bool
        Close the cluster object given as ``address`` with the executor (one it made is always closed).
    cost : callable or None
        ``cost(spec)`` → expected duration of a cell [s] (default :func:`~greenai.experiments.cost.cell_cost_s`);
        cells are submitted longest first, ties in the given order. None: the given order.
    warm : callable or None
        The warm-up run once on every worker before the first cell of each :meth:`run`
        (default :func:`warm_worker`); None skips it.

    Attributes
    ----------
    start_s : float
        Seconds this executor took to start [s]: making its cluster (when it made one; a cluster
        object given as ``address`` was started before and is not counted), connecting, waiting for
        the workers and making their environments (its first :meth:`start`).
    """

    def __init__(self, address=None, *, gpus: str | Sequence[int] = "all", device: str | None = None,
                 idle_s: float = 0.0, methods=None, gpu_kind: str | Callable | None = None,
                 resources: dict | Callable | None = None, retries: int = 1, cell: Callable = run_cell,
                 close_cluster: bool = False, cost: Callable | None = cell_cost_s,
                 warm: Callable | None = warm_worker):
        t0 = time.perf_counter()
        distributed = _dask()
        self._own_cluster = address if close_cluster and not isinstance(address, str) else None
        if address is None:
            self._own_cluster = address = local_gpu_cluster(gpus)
        self._cluster = None if isinstance(address, str) else address
        self.description = getattr(address, "description", None) or (
            f"dask scheduler {address}" if isinstance(address, str) else type(address).__name__)
        self.client = distributed.Client(address)
        self.env_options = {"device": device, "idle_s": float(idle_s), "methods": methods}
        self.gpu_kind = gpu_kind
        self.resources = resources
        self.retries = int(retries)
        self.cell = cell
        self.cost = cost
        self.warm = warm
        self.workers: dict[str, dict] = {}
        self.start_s = math.nan
        self._init_s = time.perf_counter() - t0

    # -- lifecycle
    def close(self) -> None:
        self.client.close()
        if self._own_cluster is not None:
            self._own_cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, wait_s: float = 120.0) -> dict[str, dict]:
        """Make every worker's environment (device, meter, idle power) once; return ``{address: info}``."""
        t0 = time.perf_counter()
        n = len(getattr(self._cluster, "workers", {}) or {}) if self._cluster is not None else 1
        self.client.wait_for_workers(max(n, 1), timeout=wait_s)
        workers = self._refresh()
        if math.isnan(self.start_s):
            self.start_s = self._init_s + time.perf_counter() - t0
        return workers

    def _refresh(self) -> dict[str, dict]:
        """Set up workers that joined since (a restarted one), forget those that left."""
        addresses = sorted(self._scheduler_workers())
        for gone in [a for a in self.workers if a not in addresses]:
            del self.workers[gone]
        missing = [a for a in addresses if a not in self.workers]
        futures = [self.client.submit(worker_info, self.env_options, workers=[a], allow_other_workers=False,
                                      pure=False, key=f"greenai-setup-{a}") for a in missing]
        for a, info in zip(missing, self.client.gather(futures)):
            self.workers[a] = info
        return self.workers

    def _scheduler_workers(self) -> dict:
        try:
            return self.client.scheduler_info(n_workers=-1)["workers"]
        except TypeError:  # distributed before 2025: all workers by default
            return self.client.scheduler_info()["workers"]

    # -- pinning
    def _eligible(self, spec: RunSpec) -> list[str] | None:
        """Addresses a cell may run on (None: any worker)."""
        kind = self.gpu_kind(spec) if callable(self.gpu_kind) else self.gpu_kind
        if not kind:
            return None
        return [a for a, info in self.workers.items() if str(kind).lower() in str(info["gpu_name"]).lower()]

    def _resources(self, spec: RunSpec):
        return (self.resources(spec) if callable(self.resources) else self.resources) or None

    # -- the sweep
    def run(self, specs: Sequence[RunSpec], csv_path: str | Path, *, data_root=None, progress: bool = True,
            log: Callable[[str], None] | None = None, validate_first: bool = True, env=None,
            allow_raw: bool | None = None, **runner_kwargs) -> SweepSummary:
        """Run ``specs`` (all of one kind) on the workers; the client appends their rows to ``csv_path``.

        ``env`` is ignored (each worker makes its own); other keyword arguments go to the runner
        (``checkpoint_dir``, ``replay_window_s``). ``allow_raw`` lets the client write into the
        committed ``results/raw`` (default: when every worker runs on a CUDA device).
        """
        specs = list(specs)
        kinds = {s.kind for s in specs}
        if len(kinds) > 1:
            raise GridError([f"one CSV holds one kind of run; got kinds {sorted(kinds)}"])
        if not specs:
            return SweepSummary()
        kind = kinds.pop()
        if validate_first:
            validate(specs, data_root=data_root)
        runner_kwargs = {"data_root": data_root, **runner_kwargs}
        if "checkpoint_dir" in runner_kwargs and runner_kwargs["checkpoint_dir"] is None:
            runner_kwargs.pop("checkpoint_dir")
        self.start()
        if allow_raw is None:
            allow_raw = bool(self.workers) and all(str(i["device"]).startswith("cuda") for i in self.workers.values())
        store = RowStore(csv_path, COLUMNS[kind], allow_raw=allow_raw,
                         declared={"precision": {s.precision for s in specs}})
        try:
            return self._run(specs, csv_path, kind, store, progress, log, runner_kwargs)
        finally:
            store.close()  # the file's writer lock

    def _run(self, specs, csv_path, kind, store, progress, log, runner_kwargs) -> SweepSummary:
        from greenai.experiments.runners import PENDING  # heavy: torch

        key_cols = KEY_COLUMNS[kind]
        done = store.keys(key_cols)
        summary = SweepSummary(start_s=self.start_s)
        unplaceable = []
        todo: list[tuple[RunSpec, list[str] | None]] = []
        for spec in specs:
            eligible = self._eligible(spec)
            if eligible == []:
                unplaceable.append(f"{spec.describe()}: no worker has a GPU of kind {self.gpu_kind!r} "
                                   f"(workers: {sorted({i['gpu_name'] for i in self.workers.values()})})")
                continue
            names = {self.workers[a]["gpu_name"] for a in (eligible or self.workers)}
            pendings = [PENDING[kind](spec, self._base(spec, name), done) for name in sorted(names)]
            if any(units == 0 for units, _, _ in pendings):  # complete on one of the eligible GPU kinds
                summary.skipped += max(skipped for units, skipped, _ in pendings if units == 0)
                continue
            todo.append((spec, eligible))
        if unplaceable:
            raise GridError(unplaceable)
        if self.cost is not None:  # longest first; stable, so ties keep the grid's order
            eligible_of = {id(spec): eligible for spec, eligible in todo}
            todo = [(spec, eligible_of[id(spec)]) for spec in longest_first([s for s, _ in todo], self.cost)]
        if todo and self.warm is not None:
            t_warm = time.perf_counter()
            summary.warmup = self._warm_up(todo, runner_kwargs, log)
            summary.warmup_s = time.perf_counter() - t_warm
        start = time.perf_counter()

        from distributed import as_completed  # optional: distributed

        token = uuid.uuid4().hex[:8]  # this sweep's task keys: never a result left by another client or call
        attempts: dict[str, int] = {}
        tried_on: dict[str, list[str]] = {}
        future_spec = {}

        def submit(spec, eligible, avoid=()):
            """Submit a cell; unpinned cells are unrestricted (queued by the scheduler) unless ``avoid`` names
            workers still alive (a cell that raised there)."""
            rid = spec.run_id()
            attempts[rid] = attempts.get(rid, 0) + 1
            alive = [a for a in avoid if a in self.workers]
            workers = eligible
            if alive:
                allowed = eligible if eligible is not None else sorted(self.workers)
                workers = [a for a in allowed if a not in alive] or eligible
            mine = {k for k in done if self._same_cell(k, spec, key_cols)}
            fut = self.client.submit(self.cell, kind, spec, str(csv_path), mine, self.env_options, runner_kwargs,
                                     key=f"greenai-cell-{rid}-{token}-{attempts[rid]}", pure=False, workers=workers,
                                     allow_other_workers=False, resources=self._resources(spec), retries=0)
            future_spec[fut.key] = (spec, eligible)
            summary.order.append(rid)
            return fut

        # at most one cell per worker in flight: a worker holds only the cell it runs, so a dying worker
        # takes no queued cell with it (the rest wait here, not in a worker's queue)
        waiting = deque((spec, eligible, ()) for spec, eligible in todo)
        futures = as_completed([], with_results=False)
        in_flight = 0

        def fill():
            nonlocal in_flight
            try:
                limit = len(self._scheduler_workers())
            except Exception:  # noqa: BLE001
                limit = len(self.workers)
            while waiting and in_flight < max(limit, 1):
                futures.add(submit(*waiting.popleft()))
                in_flight += 1

        bar = progress_bar(len(todo), Path(csv_path).stem, progress)
        per_gpu: dict[str, int] = {}
        fill()
        try:
            for fut in futures:
                in_flight -= 1
                spec, eligible = future_spec.pop(fut.key)
                rid = spec.run_id()
                if fut.status != "finished":
                    try:
                        exc = fut.exception()
                    except BaseException as err:  # noqa: BLE001 - cancelled: lost with the scheduler
                        exc = err
                    where = _worker_of(exc) or self._erred_on(fut.key)
                    tried_on.setdefault(rid, []).extend(where)
                    if attempts[rid] <= self.retries:
                        if log:
                            log(f"{spec.describe()}: {_short(exc)}; retrying on another worker")
                        try:
                            self._refresh()
                        except Exception:  # noqa: BLE001 - best effort: the retry may go anywhere eligible
                            pass
                        waiting.appendleft((spec, self._eligible(spec) if eligible is not None else None,
                                            tuple(tried_on[rid])))
                    else:
                        summary.failed.append(CellFailure(spec, _short(exc), attempts[rid]))
                        bar.update(1)
                    fut.release()
                    fill()
                    continue
                result: CellResult = fut.result()
                fut.release()
                new = [r for r in result.rows if row_key(r, key_cols) not in done]
                store.append(new)
                done.update(row_key(r, key_cols) for r in new)
                summary.written += len(new)
                summary.skipped += result.skipped + len(result.rows) - len(new)
                label = worker_label(result.worker)
                per_gpu[label] = per_gpu.get(label, 0) + 1
                bar.set_postfix_str(" ".join(f"{k}={v}" for k, v in sorted(per_gpu.items())), refresh=False)
                bar.update(1)
                if log:
                    for line in result.log:
                        log(f"[{label}] {line}")
                fill()
        finally:
            bar.close()
        summary.seconds = time.perf_counter() - start
        summary.cells_per_worker = per_gpu
        return summary

    def _warm_up(self, todo: list[tuple[RunSpec, list[str] | None]], runner_kwargs: dict, log) -> dict[str, dict]:
        """Run :attr:`warm` on every worker (all at once) for the cells it may get; ``{worker label: record}``.

        A worker whose warm-up fails is logged and recorded with its ``error``; its cells still run
        (a cell that fails there is retried and reported as any other).
        """
        token = uuid.uuid4().hex[:8]
        futures = {}
        for a in sorted(self.workers):
            mine = [spec for spec, eligible in todo if eligible is None or a in eligible]
            if mine:
                futures[a] = self.client.submit(self.warm, self.env_options, mine, runner_kwargs, workers=[a],
                                                allow_other_workers=False, pure=False,
                                                key=f"greenai-warmup-{a}-{token}")
        records = {}
        for a, fut in futures.items():
            label = worker_label(self.workers[a])
            try:
                records[label] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker: its cells go elsewhere
                records[label] = {"error": _short(exc)}
                if log:
                    log(f"[{label}] warm-up failed: {_short(exc)}")
            fut.release()
        return records

    def _erred_on(self, key) -> list[str]:
        """The workers a task raised on (the scheduler's record), best effort."""
        try:
            return list(self.client.run_on_scheduler(_erred_on_scheduler, key=key))
        except Exception:  # noqa: BLE001
            return []

    def _base(self, spec: RunSpec, gpu_name: str) -> dict:
        return {"experiment": spec.experiment, "gpu_name": gpu_name, "model": spec.model, "dataset": spec.dataset,
                "data_source": spec.source, "precision": spec.precision, "batch_size": spec.batch_size,
                "repeat": spec.repeat}

    @staticmethod
    def _same_cell(key: tuple, spec: RunSpec, key_cols: Sequence[str]) -> bool:
        """Whether a stored row key belongs to ``spec``'s cell (any GPU)."""
        k = dict(zip(key_cols, key))
        want = row_key(_spec_key_fields(spec), ("experiment", "model", "dataset", "precision", "batch_size",
                                                 "repeat"))
        got = tuple(k[c] for c in ("experiment", "model", "dataset", "precision", "batch_size", "repeat"))
        return got == want


def _spec_key_fields(spec: RunSpec) -> dict:
    return {"experiment": spec.experiment, "model": spec.model, "dataset": spec.dataset,
            "precision": spec.precision, "batch_size": spec.batch_size, "repeat": spec.repeat}


def _short(exc: BaseException | None) -> str:
    text = f"{type(exc).__name__}: {exc}" if exc is not None else "cancelled"
    return text if len(text) < 300 else text[:297] + "..."


def _worker_of(exc) -> list[str]:
    """The worker a ``KilledWorker`` names (the one that died), if any."""
    last = getattr(exc, "last_worker", None)
    if last is None:
        return []
    where = getattr(last, "address", None) or (last if isinstance(last, str) else None)
    return [where] if where else []


def _erred_on_scheduler(dask_scheduler=None, key=None) -> list[str]:
    ts = dask_scheduler.tasks.get(key)
    return sorted(getattr(ts, "erred_on", None) or []) if ts is not None else []


def make_executor(gpus: str | None = None, scheduler: str | None = None, cpu_workers: int | None = None,
                  **kwargs):
    """The executor a CLI asks for: in-process (no option), all/listed local GPUs, a scheduler, or CPU workers."""
    chosen = [n for n, v in (("--gpus", gpus), ("--scheduler", scheduler), ("--cpu-workers", cpu_workers)) if v]
    if len(chosen) > 1:
        raise ValueError(f"choose one of {', '.join(chosen)}")
    if scheduler:
        return DaskExecutor(scheduler, **kwargs)
    if cpu_workers:
        return DaskExecutor(local_cpu_cluster(int(cpu_workers)), close_cluster=True, **{"device": "cpu", **kwargs})
    if gpus:
        return DaskExecutor(None, gpus=gpus, **kwargs)
    return InProcess()
