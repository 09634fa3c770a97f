"""Non-blocking (event-edged) windows of greenai.energy on a simulated GPU.

Only two things are simulated: ``pynvml`` (tests/nvml_double.py, an energy
counter advancing in steps) and the CUDA stream/event pair. :class:`SimStream`
is a GPU queue: "kernels" launched on it run one after another on a thread,
the fake GPU drawing ``busy_w`` while one runs and ``idle_w`` otherwise; an
event recorded on it completes when the kernels launched before it are done,
as a CUDA event does.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import time

import pytest

from greenai.energy import EdgeTimeoutError, EnergyMeter, PendingMeasurement, WindowError
from nvml_double import FakeGpu, ManualClock, installed

IDLE_W, BUSY_W, STEP_S = 60.0, 400.0, 0.02


class SimEvent:
    def __init__(self, is_done):
        self._is_done = is_done

    def query(self) -> bool:
        return self._is_done()


class SimStream:
    """A GPU queue running launched kernels in order, changing the fake GPU's power."""

    def __init__(self, fake, index: int = 0):
        self.fake, self.index = fake, index
        self.queue: collections.deque[float] = collections.deque()
        self.cond = threading.Condition()
        self.launched = self.completed = 0
        self.stopped = False
        self.busy_spans: list[tuple[float, float]] = []  # (start, end) of each busy period [perf_counter s]
        self._busy_since: float | None = None
        fake.set_power(index, IDLE_W)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def launch(self, duration_s: float) -> None:
        with self.cond:
            self.queue.append(duration_s)
            self.launched += 1
            self.cond.notify_all()

    def record_event(self) -> SimEvent:
        with self.cond:
            n = self.launched
        return SimEvent(lambda: self.completed >= n)

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.stopped:
                    self.cond.wait()
                if self.stopped:
                    return
                duration_s = self.queue.popleft()
            if self._busy_since is None:
                self._busy_since = time.perf_counter()
                self.fake.set_power(self.index, BUSY_W)
            time.sleep(duration_s)
            with self.cond:
                self.completed += 1
                if not self.queue:
                    self.fake.set_power(self.index, IDLE_W)
                    self.busy_spans.append((self._busy_since, time.perf_counter()))
                    self._busy_since = None

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        self.thread.join()


class HungStream:
    """A stream whose events never complete (a hung kernel)."""

    def record_event(self) -> SimEvent:
        return SimEvent(lambda: False)


@pytest.fixture
def fake(monkeypatch):
    yield from installed(monkeypatch, [FakeGpu(power_w=IDLE_W, step_s=STEP_S)])


@pytest.fixture
def gpu(fake):
    stream = SimStream(fake)
    yield stream
    stream.stop()


def launch_work(stream: SimStream, kernels: int, kernel_s: float) -> None:
    for _ in range(kernels):
        stream.launch(kernel_s)


def check_window(m, fake, span) -> None:
    """``m`` covers the GPU's busy ``span`` (not cutting queued work short, not running on for long)
    and its energy is the true energy over the window, within one counter step at each edge."""
    offset = time.time() - time.perf_counter()
    begin = m.begin_unix_s - offset
    end = begin + m.duration_s
    t0, t1 = span
    assert begin <= t0 + 0.005 and end >= t1 - 0.005, (begin - t0, end - t1)
    assert end - t1 < 0.15
    assert abs(m.energy_j - fake.true_energy_j(0, begin, end)) <= m.uncertainty_j + 1e-6


def test_event_edged_window_returns_at_once_and_measures_what_a_blocking_one_does(fake, gpu):
    with EnergyMeter(counter_poll_period_s=0.005) as meter:
        meter.begin_window("blocking", streams=[gpu])
        launch_work(gpu, 10, 0.04)
        blocking = meter.end_window("blocking", streams=[gpu])  # waits for the 0.4 s of work

        meter.begin_window("events", block=False, streams=[gpu])
        launch_work(gpu, 10, 0.04)
        t = time.perf_counter()
        pending = meter.end_window("events", block=False, streams=[gpu])
        returned_after_s = time.perf_counter() - t
        assert isinstance(pending, PendingMeasurement)
        assert not pending.done()  # the "GPU" is still working
        events = pending.result(timeout=5.0)

    assert returned_after_s < 0.02  # the GPU's ≥ 0.4 s of work is not waited for
    busy_power_w = []
    for m, (t0, t1) in zip((blocking, events), gpu.busy_spans):
        assert m.method == "counter"
        check_window(m, fake, (t0, t1))
        # the same work: busy power over the busy span (+ idle power over the rest of the window)
        busy_j = m.energy_j - IDLE_W * (m.duration_s - (t1 - t0))
        assert abs(busy_j - BUSY_W * (t1 - t0)) <= m.uncertainty_j
        busy_power_w.append(busy_j / (t1 - t0))
    assert busy_power_w[1] == pytest.approx(busy_power_w[0], abs=(events.uncertainty_j + blocking.uncertainty_j) / 0.4)
    assert events.uncertainty_j > 0 and events.counter_updates >= 10
    assert events.edges["begin"][0]["sm_clock_mhz"] == 1980  # edge state read by the edge thread


def test_back_to_back_event_windows_share_edges_and_sum_to_one_blocking_window(gpu):
    chunks = 5
    with EnergyMeter() as meter:
        meter.begin_window("run", streams=[gpu])
        meter.begin_window("chunk-0", block=False, streams=[gpu])
        pending = []
        for i in range(chunks):
            launch_work(gpu, 4, 0.03)
            nxt = f"chunk-{i + 1}" if i + 1 < chunks else None
            pending.append(meter.end_window(f"chunk-{i}", block=False, streams=[gpu], begin_next=nxt))
        whole = meter.end_window("run", streams=[gpu])
        parts = [p.result(timeout=5.0) for p in pending]

    assert [p.key for p in parts] == [f"chunk-{i}" for i in range(chunks)]
    # shared edges: the parts tile the run with no gap and no overlap
    assert sum(p.duration_s for p in parts) == pytest.approx(whole.duration_s, abs=0.01)
    for a, b in zip(parts, parts[1:]):
        assert a.begin_unix_s + a.duration_s == pytest.approx(b.begin_unix_s, abs=1e-3)
    # ... so their energies add up to the whole, within one counter step at each of its two edges
    step_j = BUSY_W * STEP_S
    assert abs(sum(p.energy_j for p in parts) - whole.energy_j) <= 2 * step_j
    for p in parts:  # the GPU works through the queue without a pause: busy power throughout
        assert p.energy_j == pytest.approx(BUSY_W * p.duration_s, abs=p.uncertainty_j + 2 * step_j)
    assert len(gpu.busy_spans) == 1


def test_edge_the_gpu_never_reaches_times_out_with_a_clear_error(monkeypatch):
    clock = ManualClock()
    gen = installed(monkeypatch, [FakeGpu(power_w=IDLE_W, step_s=STEP_S)], clock=clock)
    next(gen)
    with EnergyMeter(edge_timeout_s=0.3, counter_poll_period_s=None, clock=clock) as meter:
        meter.begin_window("hung", block=False)
        pending = meter.end_window("hung", block=False, streams=[HungStream()])
        clock.advance(0.29)
        with pytest.raises(concurrent.futures.TimeoutError):
            pending.result(timeout=0.05)  # before its deadline the edge is still awaited
        clock.advance(0.02)
        with pytest.raises(EdgeTimeoutError, match=r"window 'hung', end edge: the GPU did not reach .* within 0.3 s"):
            pending.result(timeout=10.0)
    gen.close()


def test_a_blocking_edge_on_a_hung_stream_times_out_and_the_meter_stays_usable(fake, gpu):
    with EnergyMeter(edge_timeout_s=0.3) as meter:
        # a blocking edge on a hung stream fails too, and the meter stays usable
        meter.begin_window("blocking-hung")
        with pytest.raises(EdgeTimeoutError, match="did not reach"):
            meter.end_window("blocking-hung", streams=[HungStream()])
        meter.begin_window("after", block=False, streams=[gpu])
        launch_work(gpu, 3, 0.03)
        after = meter.end_window("after", block=False, streams=[gpu]).result(timeout=5.0)
        check_window(after, fake, gpu.busy_spans[-1])


def test_blocking_end_of_a_window_begun_at_an_event(fake, gpu):
    with EnergyMeter() as meter:
        meter.begin_window("mixed", block=False, streams=[gpu])
        launch_work(gpu, 5, 0.04)
        m = meter.end_window("mixed", streams=[gpu])
    check_window(m, fake, gpu.busy_spans[-1])


def test_close_reads_pending_edges_first(gpu):
    meter = EnergyMeter()
    meter.begin_window("w", block=False, streams=[gpu])
    launch_work(gpu, 5, 0.04)
    pending = meter.end_window("w", block=False, streams=[gpu])
    meter.close()
    assert pending.done()
    assert pending.result().energy_j > 0


def test_without_cuda_work_a_non_blocking_edge_is_read_at_once(monkeypatch):
    clock = ManualClock()
    gen = installed(monkeypatch, [FakeGpu(power_w=IDLE_W, step_s=STEP_S)], clock=clock)
    fake = next(gen)
    with EnergyMeter(clock=clock) as meter:
        t0 = clock()
        meter.begin_window("w", block=False)
        clock.advance(0.3)
        pending = meter.end_window("w", block=False)
        t1 = clock()
        assert pending.done()
        m = pending.result()
    gen.close()
    assert m.duration_s == pytest.approx(0.3, abs=1e-9)
    assert abs(m.energy_j - fake.true_energy_j(0, t0, t1)) <= m.uncertainty_j + 2 * IDLE_W * STEP_S


def test_time_only_meter_gives_nan_energy_with_its_reason_through_events(monkeypatch, gpu):
    import pynvml

    monkeypatch.setattr(pynvml, "nvmlInit", lambda: (_ for _ in ()).throw(pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)))
    with EnergyMeter(methods="auto") as meter:
        meter.begin_window("w", block=False, streams=[gpu])
        launch_work(gpu, 3, 0.03)
        m = meter.end_window("w", block=False, streams=[gpu]).result(timeout=5.0)
    assert m.method == "none" and m.energy_j != m.energy_j
    t0, t1 = gpu.busy_spans[-1]
    assert m.duration_s >= t1 - t0 - 0.01  # the window covers the queued work
    assert any("GPU energy unavailable" in w for w in m.warnings)


def test_one_edge_ends_and_begins_several_windows_and_windows_can_be_cancelled(gpu):
    with EnergyMeter() as meter:
        start = meter.edge(block=False, streams=[gpu])
        meter.begin_window("epoch", at=start)
        meter.begin_window("steps", at=start)
        meter.begin_window("scratch", at=start)
        launch_work(gpu, 4, 0.03)
        end = meter.edge(block=False, streams=[gpu])
        epoch = meter.end_window("epoch", at=end)
        steps = meter.end_window("steps", at=end, begin_next="steps-2")
        meter.cancel_window("scratch")
        with pytest.raises(WindowError, match="no open window 'scratch'"):
            meter.end_window("scratch")
        with pytest.raises(WindowError, match="'steps-2' is already open"):
            meter.begin_window("steps-2")
        a, b = epoch.result(timeout=5.0), steps.result(timeout=5.0)
    assert (a.energy_j, a.duration_s, a.begin_unix_s) == (b.energy_j, b.duration_s, b.begin_unix_s)
