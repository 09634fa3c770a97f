"""The Dask executor on CPU workers: the same rows as in-process, one writer, a killed worker loses nothing,
cells submitted longest first after each worker's warm-up (a LocalCluster of 2 worker processes, the tiny
synthetic specs of test_experiments)."""

from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from greenai import experiments as ex
from greenai.experiments import executors

distributed = pytest.importorskip("distributed")

TINY = dict(source="synthetic", image_size=32, limit=12, warmup_steps=1, model="mobilenet_v1",
            dataset="fashion_mnist")
#: columns whose values do not depend on timing (nor on which process measured)
STABLE = ["steps", "samples", "epoch_fraction", "mode", "n_train", "macs", "params", "image_size", "data_source",
          "gpu_name", "host", "device", "epoch_energy_extrapolated"]


def specs() -> list[ex.RunSpec]:
    return [ex.RunSpec(experiment="d", batch_size=b, repeat=r, epochs=2, max_steps=2, **TINY)
            for b in (4, 6) for r in (0, 1)]


def frame(path: Path) -> pd.DataFrame:
    rows = pd.read_csv(path)
    return rows.sort_values(list(ex.KEY_COLUMNS["train"])).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The in-process rows, computed on one CPU thread like the Dask workers.

    Dask's nanny starts each worker with OMP_NUM_THREADS=1; on a CPU, torch's reduction order
    depends on its thread count, and on this tiny MobileNet two steps turn that reordering
    into a 4 % different loss. The pytest process's thread count depends on which tests ran
    before (torch fixes it at first use), so the reference pins it to the workers' one.
    """
    import torch

    path = tmp_path_factory.mktemp("inprocess") / "rows.csv"
    env = ex.make_environment("cpu", idle_s=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ex.InProcess().run(specs(), path, env=env, progress=False)
    finally:
        torch.set_num_threads(threads)
    return frame(path)


@pytest.fixture(scope="module")
def executor():
    with ex.DaskExecutor(ex.local_cpu_cluster(2), device="cpu", close_cluster=True) as executor:
        yield executor


def assert_same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    keys = list(ex.KEY_COLUMNS["train"])
    assert len(got) == len(want)
    pd.testing.assert_frame_equal(got[keys], want[keys])
    pd.testing.assert_frame_equal(got[STABLE], want[STABLE])
    # the same seeds and thread count train the same model: the loss agrees
    assert got.train_loss.to_numpy() == pytest.approx(want.train_loss.to_numpy(), rel=1e-4)


def test_dask_workers_give_the_rows_of_the_in_process_sweep(tmp_path, executor, reference):
    path = tmp_path / "rows.csv"
    summary = executor.run(specs(), path, progress=False)
    assert (summary.written, summary.skipped, summary.failed) == (8, 0, [])
    rows = frame(path)
    assert tuple(pd.read_csv(path).columns) == ex.TRAIN_COLUMNS
    assert_same_rows(rows, reference)
    # placement recorded: the host; no GPU, so no NVML index or UUID
    assert (rows.host == reference.host).all() and rows.gpu_index.isna().all() and rows.gpu_uuid.isna().all()
    assert sum(summary.cells_per_worker.values()) == 4
    # a rerun submits nothing and writes nothing
    again = executor.run(specs(), path, progress=False)
    assert (again.written, again.skipped) == (0, 8)
    assert len(pd.read_csv(path)) == 8


def kill_worker_cell(kind, spec, csv_name, done, env_options, runner_kwargs, marker):
    """A cell that kills its worker process: batch 4 / repeat 1 once (marker file), batch 6 / repeat 1 always."""
    marker = Path(marker)
    if spec.repeat == 1 and spec.batch_size == 6:
        os._exit(1)
    if spec.repeat == 1 and spec.batch_size == 4 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    return executors.run_cell(kind, spec, csv_name, done, env_options, runner_kwargs)


def test_a_killed_worker_loses_nothing_and_a_cell_that_always_dies_is_reported(tmp_path, executor, reference,
                                                                               monkeypatch):
    path = tmp_path / "rows.csv"
    marker = tmp_path / "killed-once"
    monkeypatch.setattr(executor, "cell", functools.partial(kill_worker_cell, marker=str(marker)))
    lines = []
    summary = executor.run(specs(), path, progress=False, log=lines.append)
    assert marker.exists(), "the cell never killed its worker"
    # the cell killed once was retried elsewhere; the one that always dies is reported after 2 attempts
    assert [(f.spec.batch_size, f.spec.repeat, f.attempts) for f in summary.failed] == [(6, 1, 2)]
    assert "KilledWorker" in summary.failed[0].error
    assert summary.written == 6 and sum("retrying" in line for line in lines) == 2
    want = reference[~((reference.batch_size == 6) & (reference.repeat == 1))].reset_index(drop=True)
    assert_same_rows(frame(path), want)
    # rerun with healthy cells: only the missing cell runs; nothing lost, nothing duplicated
    monkeypatch.setattr(executor, "cell", executors.run_cell)
    executor.start()
    again = executor.run(specs(), path, progress=False)
    assert (again.written, again.skipped, again.failed) == (2, 6, [])
    assert_same_rows(frame(path), reference)


def test_cells_pinned_to_a_gpu_kind_no_worker_has_are_refused_before_running(tmp_path, executor):
    executor.gpu_kind = "H200"
    try:
        with pytest.raises(ex.GridError, match="no worker has a GPU of kind 'H200'"):
            executor.run(specs(), tmp_path / "rows.csv", progress=False)
    finally:
        executor.gpu_kind = None
    assert not (tmp_path / "rows.csv").exists() or len(pd.read_csv(tmp_path / "rows.csv")) == 0
    # pinned to the kind the workers have ("cpu"), the cells run
    executor.gpu_kind = "CPU"
    try:
        summary = executor.run(specs()[:1], tmp_path / "rows.csv", progress=False)
    finally:
        executor.gpu_kind = None
    assert summary.written == 2 and not math.isnan(pd.read_csv(tmp_path / "rows.csv").steps.iloc[0])


def test_placement_columns_extend_an_older_csv_whose_rows_read_nan(tmp_path):
    path = tmp_path / "old.csv"
    old = [c for c in ex.TRAIN_COLUMNS if c not in ex.PLACEMENT_COLUMNS]
    path.write_text(",".join(old) + "\n")
    store = ex.RowStore(path, old)
    store.append([{c: "x" for c in ex.KEY_COLUMNS["train"]}])
    with pytest.warns(ex.SchemaWarning, match="host, gpu_index, gpu_uuid"):
        ex.InProcess().run(specs()[:1], path, env=ex.make_environment("cpu", idle_s=0), progress=False)
    rows = pd.read_csv(path)
    assert tuple(rows.columns[-3:]) == ex.PLACEMENT_COLUMNS
    assert rows.host.isna().iloc[0] and rows.host.notna().iloc[1:].all() and rows.gpu_index.isna().all()


@pytest.mark.parametrize("argv, message", [
    (["--gpu-kind", "H200"], "give --gpus or --scheduler"),
    (["--gpus", "all", "--scheduler", "tcp://x:8786"], "choose one of --gpus, --scheduler"),
    (["--gpus", "first"], "'all' or CUDA indices"),
    (["--cpu-workers", "2"], "use it with --quick --device cpu"),
])
def test_campaign_executor_flags_refuse_mistakes_with_one_line(argv, message, capsys):
    from greenai import campaign

    assert campaign.main(["-e", "hardware", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


CLIENT = """
import sys, time
from greenai import experiments as ex
from greenai.experiments import executors

def slow_cell(*args):
    time.sleep(1.0)
    return executors.run_cell(*args)

specs = [ex.RunSpec(experiment="d", batch_size=b, repeat=r, epochs=2, max_steps=2, **{tiny})
         for b in (4, 6) for r in (0, 1)]
with ex.DaskExecutor(sys.argv[1], device="cpu", cell=slow_cell) as executor:
    executor.run(specs, sys.argv[2], progress=False)
"""


def test_a_client_killed_mid_sweep_resumes_to_exactly_the_rows(tmp_path, executor, reference):
    """A second client on the same scheduler (its address, as --scheduler gives it) is killed after its first
    cell's rows are written; this client's rerun completes the file: nothing lost, nothing duplicated."""
    import signal
    import subprocess
    import sys

    path = tmp_path / "rows.csv"
    script = tmp_path / "client.py"
    script.write_text(CLIENT.replace("{tiny}", repr(TINY)))
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), executor.client.scheduler.address, str(path)],
                            cwd=root, env=env)
    deadline = time.monotonic() + 40
    rows = 0
    while time.monotonic() < deadline and proc.poll() is None:
        rows = len(pd.read_csv(path)) if path.exists() and path.stat().st_size else 0
        if rows >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the client finished (rc {proc.returncode}) before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = len(pd.read_csv(path))
    assert 2 <= written < 8
    again = executor.run(specs(), path, progress=False)
    assert again.written == 8 - written and again.skipped == written
    assert_same_rows(frame(path), reference)


# --------------------------------------------------------------------------- longest first, warm-up, timings


def test_cell_cost_grows_with_the_work_a_cell_runs():
    from greenai.experiments.cost import MAC_RATE, STEP_OVERHEAD_S, cell_cost_s, step_s

    base = ex.RunSpec(experiment="c", model="alexnet", dataset="fashion_mnist", batch_size=128, epochs=2,
                      max_steps=20, warmup_steps=10)
    cost = cell_cost_s(base)
    # the unit is seconds: 10 warm-up + 2 x 20 steps of (overhead + 3 x MACs x batch / rate), plus the setup
    assert step_s(base) == pytest.approx(STEP_OVERHEAD_S + 3 * 663_300_736 * 128 / MAC_RATE, rel=0.01)
    assert cost == pytest.approx(1.0 + 50 * step_s(base))
    assert cell_cost_s(replace(base, max_steps=40)) > cost           # more steps
    assert cell_cost_s(replace(base, epochs=3)) > cost               # more windows
    assert cell_cost_s(replace(base, batch_size=256)) > cost         # more samples
    assert cell_cost_s(replace(base, model="vgg11")) > 2 * cost      # 11 x the MACs
    # a window of window_s lasts window_s whatever the model; a full epoch runs ceil(samples / batch) steps
    timed = replace(base, max_steps=None, window_s=3.0)
    assert cell_cost_s(timed) == pytest.approx(1.0 + 10 * step_s(base) + 2 * 3.0)
    epoch = replace(base, max_steps=None, limit=1000)
    assert cell_cost_s(epoch) == pytest.approx(1.0 + 10 * step_s(base) + 2 * 8 * step_s(base))


def test_longest_first_is_stable_for_ties_and_puts_unknown_costs_last():
    from greenai.experiments.cost import longest_first

    specs = [ex.RunSpec(experiment="c", model="m", dataset="fashion_mnist", batch_size=b, repeat=r)
             for r in (0, 1) for b in (1, 3, 2)]
    cost = {1: 1.0, 2: 2.0, 3: math.nan}
    got = longest_first(specs, cost=lambda s: cost[s.batch_size])
    assert [(s.batch_size, s.repeat) for s in got] == [(2, 0), (2, 1), (1, 0), (1, 1), (3, 0), (3, 1)]


def test_warm_up_loads_the_cells_data_and_leaves_the_rng_as_it_was():
    import torch

    from greenai.experiments.environment import DataCache, warm_up

    env = ex.make_environment("cpu", idle_s=0)
    cache = DataCache()
    specs = [ex.RunSpec(experiment="w", batch_size=4, epochs=1, max_steps=1, **TINY),
             ex.RunSpec(experiment="w", batch_size=4, epochs=1, max_steps=1, precision="bf16",
                        **{**TINY, "dataset": "cifar10"})]
    state = torch.get_rng_state()
    record = warm_up(env, specs, cache)
    assert torch.equal(torch.get_rng_state(), state)
    assert (record["device"], record["cuda"], record["precisions"]) == ("cpu", False, ["bf16", "default"])
    assert [(d["dataset"], d["source"], d["train"], d["samples"]) for d in record["datasets"]] == [
        ("fashion_mnist", "synthetic", True, 12), ("cifar10", "synthetic", True, 12)]
    assert record["datasets"][1]["h2d_bytes"] == 12 * 3 * 32 * 32 + 12 * 8
    # the cells find their splits in the cache the warm-up filled
    assert cache.split("cifar10", "synthetic", True, 12) is cache.split("cifar10", "synthetic", True, 12)
    assert len(cache._splits) == 2
    parts = sum(record[k] for k in ("context_s", "kernels_s", "data_s", "macs_s"))
    assert 0 < parts <= record["seconds"]


def _note(path, text: str) -> None:
    with open(path, "a") as f:  # one short write per line: whole lines from several processes
        f.write(text + "\n")


def slow_warm(env_options, specs, runner_kwargs, log, sleep_s):
    """The real warm-up, made ``sleep_s`` longer; notes ``warm <pid> <end time>``."""
    time.sleep(sleep_s)
    record = executors.warm_worker(env_options, specs, runner_kwargs)
    _note(log, f"warm {os.getpid()} {time.time()}")
    return record


def noted_cell(kind, spec, csv_name, done, env_options, runner_kwargs, log):
    """A simulated cell (0.2 s, no rows); notes ``cell <pid> <start> <end> <run id>``."""
    t0 = time.time()
    time.sleep(0.2)
    _note(log, f"cell {os.getpid()} {t0} {time.time()} {spec.run_id()}")
    return executors.CellResult(rows=[], written=0, skipped=0, seconds=time.time() - t0,
                                worker=executors.worker_info(env_options))


@pytest.mark.slow  # a few seconds after the other tests; ~30 s alone (the workers' first MAC count)
def test_cells_go_longest_first_after_each_worker_warmed_up_once(tmp_path, executor, monkeypatch):
    """Given in a shuffled order, cells are submitted by their expected duration (more steps first, the
    repeats of one cell in the given order); each worker warms up once, before any cell of the sweep starts;
    the summary keeps the executor's start, the warm-up and the sweep apart."""
    log = tmp_path / "events.txt"
    sleep_s = 1.5
    monkeypatch.setattr(executor, "cell", functools.partial(noted_cell, log=str(log)))
    monkeypatch.setattr(executor, "warm", functools.partial(slow_warm, log=str(log), sleep_s=sleep_s))
    given = [ex.RunSpec(experiment=f"s{steps}", batch_size=4, repeat=r, epochs=1, max_steps=steps, **TINY)
             for r, steps in ((0, 1), (0, 3), (1, 1), (0, 2), (1, 3), (1, 2))]
    t0 = time.perf_counter()
    summary = executor.run(given, tmp_path / "rows.csv", progress=False)
    elapsed = time.perf_counter() - t0
    by_id = {s.run_id(): s for s in given}
    assert [(by_id[r].max_steps, by_id[r].repeat) for r in summary.order] == [
        (3, 0), (3, 1), (2, 0), (2, 1), (1, 0), (1, 1)]

    events = [line.split() for line in log.read_text().splitlines()]
    warms = [(int(e[1]), float(e[2])) for e in events if e[0] == "warm"]
    cells = [(int(e[1]), float(e[2]), float(e[3])) for e in events if e[0] == "cell"]
    worker_pids = sorted(info["pid"] for info in executor.workers.values())
    assert sorted(pid for pid, _ in warms) == worker_pids            # once per worker
    assert len(cells) == 6 and {pid for pid, _, _ in cells} <= set(worker_pids)
    assert max(end for _, end in warms) <= min(start for _, start, _ in cells)   # before any cell
    # each worker's record: what its warm-up did, on its CPU
    assert len(summary.warmup) == 2
    for record in summary.warmup.values():
        assert record["pid"] in worker_pids and record["device"] == "cpu" and not record["cuda"]
        assert [(d["dataset"], d["source"]) for d in record["datasets"]] == [("fashion_mnist", "synthetic")]
    # the three times are apart: the sweep covers the cells and not the warm-up
    assert summary.start_s > 0 and summary.warmup_s >= sleep_s
    assert summary.seconds >= max(end for *_, end in cells) - min(start for _, start, _ in cells)
    assert summary.seconds + summary.warmup_s <= elapsed
