"""The writer lock of a results file, and atomic replacement of a file (standard library only).

One writer per file: a writer holds an exclusive :func:`fcntl.flock` on the
sidecar ``<file>.lock`` for as long as it writes (a
:class:`~greenai.experiments.store.RowStore` for its lifetime, ``write_meta``
for one update). The holder writes who it is into the lock file (process id,
host, since when [UTC], command), so a second writer that waited
:data:`WAIT_S` seconds in vain can say who holds the file. The operating system
releases the lock when the holder's process ends, however it ends (a killed
writer leaves no stale lock); the lock file itself stays (removing it would let
two writers lock two different files of one name).

Within one process the lock is shared (counted) by every writer of the file and
each operation is serialised by a thread lock (:meth:`WriterLock.__enter__`), so
one process may open a file twice (a resumed sweep in a test, ``write_meta``
after the sweep) without waiting for itself. A forked child does not inherit
the parent's hold.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import os
import socket
import sys
import threading
import time
from pathlib import Path

#: how long a second writer waits for the file's holder [s] before it gives up
WAIT_S: float = 10.0

_POLL_S = 0.05
_GUARD = threading.Lock()
_HELD: dict[str, "_Hold"] = {}


def lock_path(path: str | Path) -> Path:
    """The sidecar lock file of ``path``: ``<file>.lock`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


class _Hold:
    """This process's hold on one lock file: its descriptor, how many writers share it, the thread lock."""

    def __init__(self, fd: int):
        self.fd = fd
        self.count = 0
        self.pid = os.getpid()
        self.ops = threading.RLock()


def holder(path: str | Path) -> str:
    """Who holds the writer lock of ``path``, as its holder wrote it (empty when unknown)."""
    try:
        return lock_path(path).read_text(errors="replace").strip()
    except OSError:
        return ""


def _describe_self() -> str:
    since = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    command = " ".join(sys.argv) or sys.executable
    if len(command) > 200:
        command = command[:197] + "..."
    return f"pid {os.getpid()} on {socket.gethostname()} since {since} ({command})\n"


class WriterLock:
    """The writer lock of ``path`` (``<path>.lock``), taken on construction, held until :meth:`release`.

    Parameters
    ----------
    path : path
        The file written (the lock file is beside it).
    wait_s : float, optional
        How long to wait for another process holding it [s] (default :data:`WAIT_S`).

    Raises
    ------
    TimeoutError
        Another process held the lock for ``wait_s``; the message (one line) names it.
    """

    def __init__(self, path: str | Path, wait_s: float | None = None):
        self.path = Path(path)
        self.lock_file = lock_path(self.path)
        self._key = os.path.realpath(self.lock_file)
        self._hold: _Hold | None = None
        wait_s = WAIT_S if wait_s is None else float(wait_s)
        with _GUARD:
            hold = _HELD.get(self._key)
            if hold is not None and hold.pid != os.getpid():  # inherited through fork: not ours
                hold = None
            if hold is None:
                hold = _Hold(self._acquire(wait_s))
                _HELD[self._key] = hold
            hold.count += 1
            self._hold = hold

    def _acquire(self, wait_s: float) -> int:
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    who = holder(self.path) or "another process"
                    raise TimeoutError(f"{self.path} is being written by {who}; let it finish (waited "
                                       f"{wait_s:g} s) or write to another file") from None
                time.sleep(_POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _describe_self().encode(), 0)
        return fd

    def __enter__(self) -> "WriterLock":
        """One operation on the file: excludes the other threads of this process (other processes are
        excluded for the lock's lifetime)."""
        if self._hold is None:
            raise RuntimeError(f"the writer lock of {self.path} was released")
        self._hold.ops.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self._hold.ops.release()

    @property
    def held(self) -> bool:
        return self._hold is not None

    def release(self) -> None:
        """Give the lock back (the last writer of this process unlocks the file). Idempotent."""
        with _GUARD:
            hold, self._hold = self._hold, None
            if hold is None:
                return
            hold.count -= 1
            if hold.count > 0 or hold.pid != os.getpid():
                return
            _HELD.pop(self._key, None)
            try:
                os.ftruncate(hold.fd, 0)
                fcntl.flock(hold.fd, fcntl.LOCK_UN)
            finally:
                os.close(hold.fd)

    def __del__(self):
        try:
            self.release()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class locked:
    """``with locked(path):`` holds the writer lock of ``path`` for one operation (waiting up to ``wait_s``)."""

    def __init__(self, path: str | Path, wait_s: float | None = None):
        self.path, self.wait_s = path, wait_s
        self.lock: WriterLock | None = None

    def __enter__(self) -> WriterLock:
        self.lock = WriterLock(self.path, self.wait_s)
        try:
            return self.lock.__enter__()
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *exc) -> None:
        try:
            self.lock.__exit__(*exc)
        finally:
            self.lock.release()


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Replace ``path`` by ``data`` atomically: write a temporary file beside it, fsync, ``os.replace``.

    A reader (or a crash) sees the old file or the new one, never a mix. The
    caller holds the file's writer lock.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    payload = data.encode() if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # the rename itself survives a power cut once the folder is synced
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
