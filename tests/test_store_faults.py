"""The row store under faults: writers killed at random points, concurrent writers, foreign files, torn metas.

Each fault test counts rows lost, duplicated and files left unreadable; all must be 0.
"""

from __future__ import annotations

import inspect
import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from greenai import paths
from greenai.experiments import store

COLUMNS = ("k", "note", "big", "val")
BIG_CHARS = 160_000  # above the csv module's default field limit (128 KiB)


def expected_row(k, big_every=10):
    """Row k of the writer: every third has newlines and quotes, every ``big_every``-th a 160 kB field."""
    note = f'first {k}\nsecond, "quoted"\r\nthird' if k % 3 == 0 else f"plain {k}"
    big = ("x" * BIG_CHARS + str(k)) if big_every and k % big_every == 3 else ""
    return {"k": k, "note": note, "big": big, "val": k / 7}


#: a writer subprocess: the rows above, written through the store (see ``writer``)
WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from greenai.experiments import store
    path, n, batch, mode, big_every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    first, step = (0, 1) if len(sys.argv) < 7 else (int(sys.argv[6]), int(sys.argv[7]))
    print("ready", flush=True)
    sys.stdin.readline()  # "go": two writers start together

    def write(s, keys):
        done = s.keys(("k",))
        s.append([expected_row(k, big_every) for k in keys if (str(k),) not in done])

    keys = list(range(first, n, step))
    if mode == "create":         # n new files, each created by both writers at once
        for i in keys:
            s = store.RowStore(f"{path}-{i}.csv", COLUMNS, wait_s=60)
            write(s, [0])
            s.close()
    elif mode == "one-store":      # a campaign: one store for the whole run
        s = store.RowStore(path, COLUMNS)
        for i in range(0, len(keys), batch):
            write(s, keys[i:i + batch])
        s.close()
    else:                        # a store per batch, waiting for the other writer
        cols = COLUMNS + (("extra",) if mode == "widen" else ())
        for i in range(0, len(keys), batch):
            s = store.RowStore(path, cols, wait_s=60)
            write(s, keys[i:i + batch])
            s.close()
""")


@pytest.fixture
def writer(tmp_path) -> Path:
    script = tmp_path / "writer.py"
    rows = f"COLUMNS = {COLUMNS!r}\nBIG_CHARS = {BIG_CHARS}\n\n" + inspect.getsource(expected_row)
    script.write_text(rows + WRITER.replace("{root!r}", repr(str(paths.REPO_ROOT))))
    return script


def start(script: Path, *args, go: bool = True) -> subprocess.Popen:
    """A writer subprocess, imported and ready; started at once unless ``go`` is false (then :func:`go`)."""
    proc = subprocess.Popen([sys.executable, str(script), *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    if go:
        release(proc)
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.write("go\n")
    proc.stdin.flush()


def finish(path: Path, n: int) -> None:
    """Resume in this process, as a rerun would: append the keys the file lacks."""
    s = store.RowStore(path, COLUMNS)
    try:
        done = s.keys(("k",))
        s.append([expected_row(k) for k in range(n) if (str(k),) not in done])
    finally:
        s.close()


def damage(path: Path, n: int, big_every: int = 10) -> dict:
    """Rows lost (missing or altered), duplicated, and whether the file is unreadable, keys ``0..n-1``."""
    try:
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert tuple(rows.columns[:len(COLUMNS)]) == COLUMNS
    except Exception:  # noqa: BLE001 - any failure to read counts
        return {"lost": n, "duplicated": 0, "unreadable": 1}
    counts = rows.k.value_counts()
    lost = 0
    for k in range(n):
        got = rows[rows.k == str(k)]
        want = expected_row(k, big_every)
        if got.empty or got.note.iloc[0] not in (store.cell(want["note"]), want["note"]) \
                or want["big"] != got.big.iloc[0] or float(got.val.iloc[0]) != want["val"]:
            lost += 1
    return {"lost": lost, "duplicated": int((counts - 1).clip(lower=0).sum()), "unreadable": 0}


def add(total: dict, one: dict) -> dict:
    return {k: total.get(k, 0) + v for k, v in one.items()}


@pytest.mark.slow
def test_writers_killed_at_random_points_lose_and_duplicate_nothing(tmp_path, writer):
    """50 writers killed with SIGKILL at a random moment, each file then resumed and finished."""
    n, trials = 16, 50
    runs_s = []
    for i in range(3):  # a whole run, from the writer's start; the fastest of three, so that a run slowed by
        path = tmp_path / f"calibrate_{i}.csv"  # other work on the machine does not set kill times past the end
        proc = start(writer, path, n, 2, "one-store", 10)
        t0 = time.perf_counter()
        proc.wait(timeout=60)
        runs_s.append(time.perf_counter() - t0)
    full_s = min(runs_s)
    total, kills, killed_mid_write, torn = damage(path, n), 0, 0, 0
    for trial in range(trials):
        rng = random.Random(trial)
        path = tmp_path / f"killed_{trial}.csv"
        # every second file is killed twice: the second writer resumes it, with less left to write, so it is
        # more often done before its kill; every kill counts towards how many struck mid-write
        for batch in ([2] if trial % 2 else []) + [rng.choice([1, 2, 3])]:
            proc = start(writer, path, n, batch, "one-store", 10)
            time.sleep(rng.uniform(0, full_s))
            proc.send_signal(signal.SIGKILL)
            kills += 1
            killed_mid_write += proc.wait() == -signal.SIGKILL
        torn += path.exists() and not path.read_bytes().endswith(b"\n")
        try:
            finish(path, n)
        except Exception:  # noqa: BLE001 - a resume that fails leaves the file unreadable for the sweep
            total = add(total, {"lost": n, "duplicated": 0, "unreadable": 1})
            continue
        total = add(total, damage(path, n))
    print(f"{trials} SIGKILL trials, {kills} kills ({killed_mid_write} before the writer finished, {torn} left a "
          f"torn last row): {total}")
    assert killed_mid_write >= kills // 2
    assert total == {"lost": 0, "duplicated": 0, "unreadable": 0}


@pytest.mark.parametrize("seed", range(12))
def test_a_write_torn_at_any_byte_is_dropped_and_never_counted(tmp_path, seed):
    """A kill inside a write, made exact: the file cut at a random byte of its last rows, then resumed."""
    n = 14
    path = tmp_path / "torn.csv"
    finish(path, n)
    data = path.read_bytes()
    rng = random.Random(seed)
    cut = rng.randrange(len(data) - 3 * BIG_CHARS // 2, len(data))  # inside the last rows (one of 160 kB)
    path.write_bytes(data[:cut])
    s = store.RowStore(path, COLUMNS)
    s.close()
    finish(path, n)
    assert damage(path, n) == {"lost": 0, "duplicated": 0, "unreadable": 0}


# ---------------------------------------------------------------- concurrent writers


def run_two(writer, path, a: tuple, b: tuple) -> None:
    procs = [start(writer, path, *a, go=False), start(writer, path, *b, go=False)]
    for p in procs:
        release(p)
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()


def test_two_writers_with_the_same_keys_write_each_once(tmp_path, writer):
    path = tmp_path / "same.csv"
    run_two(writer, path, (200, 1, "per-batch", 0), (200, 1, "per-batch", 0))
    assert damage(path, 200, 0) == {"lost": 0, "duplicated": 0, "unreadable": 0}


def test_two_writers_with_different_keys_write_all(tmp_path, writer):
    path = tmp_path / "different.csv"
    run_two(writer, path, (200, 1, "per-batch", 0, 0, 2), (200, 1, "per-batch", 0, 1, 2))
    assert damage(path, 200, 0) == {"lost": 0, "duplicated": 0, "unreadable": 0}


def test_a_header_widened_while_another_writer_appends_loses_no_row(tmp_path, writer):
    path = tmp_path / "widen.csv"
    store.RowStore(path, COLUMNS).close()
    appender = start(writer, path, 200, 1, "one-store", 0, 0, 2)
    # the campaign has its store open (it has appended) before the other writer tries to widen the header:
    # the widening waits for the file's writer lock (a writer that opened second, on a file already widened
    # with a column it does not know, would refuse the file: another kind of row)
    deadline = time.perf_counter() + 60
    while len(path.read_bytes().splitlines()) < 2 and time.perf_counter() < deadline and appender.poll() is None:
        time.sleep(0.005)
    widener = start(writer, path, 200, 1, "widen", 0, 1, 2)
    for p in (appender, widener):
        assert p.wait(timeout=120) == 0, p.stderr.read()
    assert damage(path, 200, 0) == {"lost": 0, "duplicated": 0, "unreadable": 0}
    assert pd.read_csv(path).columns[-1] == "extra"


def test_two_writers_creating_a_file_write_one_header(tmp_path, writer):
    n = 100
    run_two(writer, tmp_path / "new", (n, 1, "create", 0), (n, 1, "create", 0))
    total, headers = {}, 0
    for i in range(n):
        path = tmp_path / f"new-{i}.csv"
        headers += sum(line.startswith("k,note,big,val") for line in path.read_text().splitlines()) - 1
        total = add(total, damage(path, 1, 0))
    assert (headers, total) == (0, {"lost": 0, "duplicated": 0, "unreadable": 0})


def test_a_second_writer_gives_up_naming_the_holder(tmp_path, writer):
    path = tmp_path / "held.csv"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(paths.REPO_ROOT)!r})
        from greenai.experiments import store
        s = store.RowStore({str(path)!r}, ("a",))
        print("open", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        t0 = time.perf_counter()
        with pytest.raises(store.WriterBusyError) as info:
            store.RowStore(path, ("a",), wait_s=0.3)
        assert 0.3 <= time.perf_counter() - t0 < 5
        msg = str(info.value)
        assert f"pid {holder.pid} on " in msg and " since " in msg and "-c" in msg and "\n" not in msg
    finally:
        holder.kill()
        holder.wait()
    # the holder's death frees the file at once
    store.RowStore(path, ("a",), wait_s=0).close()


# ---------------------------------------------------------------- files that are no results file


FOREIGN = {
    "notes.csv": b"name,age\nbob,3\nalice,4",                 # a user's CSV, no final newline
    "photo.png": bytes(range(256)) * 64 + b"\n\x89PNG",        # binary
    "latin1.csv": "caf\xe9,prix\n1,2\n3,".encode("latin-1"),   # not UTF-8
    "no_header.csv": b"\n1,2\n3,",                               # no header line
    "one_line.csv": b"k,note",                                   # no complete line at all
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_a_foreign_file_is_refused_untouched(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(FOREIGN[name])
    for open_it in (lambda: store.RowStore(path, ("a", "b")), lambda: store.RowStore(path, ("k", "note")),
                    lambda: store.append_row(path, {"energy_j": 5.0, "command": "true"})):
        with pytest.raises(store.ResultsFileError, match="choose another file|new file|another kind"):
            open_it()
        assert path.read_bytes() == FOREIGN[name]


# ---------------------------------------------------------------- the meta file


def test_a_torn_or_corrupt_meta_is_kept_aside_and_a_new_one_begun(tmp_path, monkeypatch):
    from greenai import metadata

    monkeypatch.setattr(metadata, "environment_metadata", lambda: {"hostname": "h"})  # no torch, no NVML

    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("a\n1\n")
    meta = metadata.write_meta(csv_path, campaign="first")
    good = meta.read_text()
    meta.write_text(good[: len(good) // 2])  # torn: a writer killed mid-write, in place
    with pytest.warns(metadata.MetaWarning, match=r"rows.meta.json is no valid meta .*kept as "
                                                   r"rows.meta.json.corrupt-1, a new one begun"):
        metadata.write_meta(csv_path, campaign="second")
    assert (tmp_path / "rows.meta.json.corrupt-1").read_text() == good[: len(good) // 2]
    new = json.loads(meta.read_text())
    assert new["campaign"] == "second" and [r["campaign"] for r in new["runs"]] == ["second"]
    assert new["corrupt_meta_kept_as"] == "rows.meta.json.corrupt-1"
    # a second corruption never overwrites the first one kept aside
    meta.write_text('["not", "an", "object"]')
    with pytest.warns(metadata.MetaWarning, match="corrupt-2"):
        metadata.write_meta(csv_path, campaign="third")
    assert (tmp_path / "rows.meta.json.corrupt-1").read_text() == good[: len(good) // 2]
    # a valid meta gains a run, keeping the earlier ones
    metadata.write_meta(csv_path, campaign="fourth")
    assert [r["campaign"] for r in json.loads(meta.read_text())["runs"]] == ["third", "fourth"]
    assert sorted(p.name for p in tmp_path.iterdir() if ".tmp" in p.name) == []


def test_meta_writers_in_parallel_keep_every_run(tmp_path):
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("a\n1\n")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(paths.REPO_ROOT)!r})
        from greenai import metadata
        metadata.environment_metadata = lambda: {{"hostname": "h"}}  # no torch, no NVML
        for i in range(5):
            metadata.write_meta(__import__("pathlib").Path({str(csv_path)!r}), campaign=sys.argv[1] + str(i))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, tag]) for tag in "ab"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    runs = [r["campaign"] for r in json.loads(csv_path.with_suffix(".meta.json").read_text())["runs"]]
    assert sorted(runs) == sorted(f"{t}{i}" for t in "ab" for i in range(5))
