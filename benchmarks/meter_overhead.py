"""What the meter costs: AlexNet training throughput with and without it (GPU).

Three configurations, run in alternating order, ``--repeats`` times each:

- ``none``: no meter;
- ``counter``: the default :class:`~greenai.energy.EnergyMeter` (``counter``
  method and its background thread counting counter updates), one window per
  epoch;
- ``counter_nopoll``: the same without that thread (``counter_poll_period_s=None``);
- ``sampled``: the ``sampled`` method polling power every 10 ms, one window
  per epoch.

An "epoch" is ``--steps`` training steps (batch 256, 1×224×224, synthetic data
on the GPU); the default 234 steps are one 60k-image Fashion-MNIST epoch.
Shorter epochs make the window edges weigh more. Writes ``meter_overhead.csv`` (one row per
run) and ``meter_overhead.md`` (the summary) into ``--out-dir``
(default ``results/benchmarks``).

Usage (on a GPU)::

    PYTHONPATH=. python benchmarks/meter_overhead.py

``--suite nonblocking`` instead compares window *edges* (one run, alternating
configurations, ``--repeats`` each), writing ``meter_overhead_nonblocking.{csv,md,meta.json}``:

- ``none``: no meter;
- ``blocking_epoch`` / ``blocking_20``: the default meter, blocking windows
  (``torch.cuda.synchronize`` at each edge) every epoch / every 20 steps;
- ``nonblocking_epoch`` / ``nonblocking_20``: the same with ``block=False``
  (a CUDA event per edge, read by the meter's edge thread);
- ``zeus_epoch`` / ``zeus_20``: Zeus's ``ZeusMonitor`` (which synchronises at
  each edge), the anchor; skipped with a note where ``zeus`` is not installed.

Back-to-back greenai windows share their edge (``begin_next``); Zeus's cannot.
Every greenai run is also wrapped in one blocking window over the same work
(its edges sit at the run's own synchronisations, outside the timed part), and
the windows' energies are checked to add up to it within one counter step per
edge. Usage (on an H200, ≈3 min)::

    PYTHONPATH=. python benchmarks/meter_overhead.py --suite nonblocking
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measurement_methods import BATCH_SIZE, _model_source, alexnet_step_fn  # noqa: E402

from greenai import metadata, paths  # noqa: E402
from greenai.energy import EnergyMeter  # noqa: E402

#: configuration -> EnergyMeter keyword arguments (None: no meter)
CONFIGS: dict[str, dict | None] = {
    "none": None,
    "counter": dict(methods=("counter",)),  # the default meter, with its counter-update poller
    "counter_nopoll": dict(methods=("counter",), counter_poll_period_s=None),
    "sampled": dict(methods=("sampled",), sample_period_s=0.010),
}
#: the issue's bar for the counter method [%]
MAX_COUNTER_OVERHEAD_PCT = 1.0

#: --suite nonblocking: configuration -> (meter: None/"greenai"/"zeus", window every N steps or "epoch", blocking edges)
EDGE_CONFIGS: dict[str, tuple[str | None, int | str, bool]] = {
    "none": (None, "epoch", True),
    "blocking_epoch": ("greenai", "epoch", True),
    "blocking_20": ("greenai", 20, True),
    "nonblocking_20": ("greenai", 20, False),
    "nonblocking_epoch": ("greenai", "epoch", False),
    "zeus_20": ("zeus", 20, True),
    "zeus_epoch": ("zeus", "epoch", True),
}
#: issue 14's bar for non-blocking windows every 20 steps [%]
MAX_NONBLOCKING_OVERHEAD_PCT = 0.5


def run_epochs(step, sync, epochs: int, steps: int, meter: EnergyMeter | None, tag: str) -> tuple[float, float]:
    """Train ``epochs`` × ``steps`` steps; returns (duration [s], metered energy [J])."""
    energy_j = 0.0
    sync()
    start = time.perf_counter()
    for epoch in range(epochs):
        if meter is not None:
            meter.begin_window(f"{tag}-epoch-{epoch}")
        for _ in range(steps):
            step()
        if meter is not None:
            energy_j += meter.end_window(f"{tag}-epoch-{epoch}").energy_j  # end_window synchronises
    sync()
    return time.perf_counter() - start, (energy_j if meter is not None else float("nan"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=paths.BENCHMARKS_DIR)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=234, help="training steps per epoch (= per meter window); 234 x 256 = one 60k-image epoch")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--configs", nargs="+", default=None,
                        help=f"default: all of the suite ({list(CONFIGS)} or {list(EDGE_CONFIGS)})")
    parser.add_argument("--suite", choices=("meters", "nonblocking"), default="meters",
                        help="meters: meter configurations, one window per epoch; "
                             "nonblocking: blocking vs non-blocking edges vs Zeus")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="(small values: CPU smoke tests only)")
    parser.add_argument("--image-size", type=int, default=224, help="(small values: CPU smoke tests only)")
    args = parser.parse_args(argv)
    known = EDGE_CONFIGS if args.suite == "nonblocking" else CONFIGS
    args.configs = args.configs or list(known)
    unknown = [c for c in args.configs if c not in known]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown} for --suite {args.suite}; choose from {list(known)}")
    if args.suite == "nonblocking":
        return main_nonblocking(args)
    if "none" not in args.configs:
        parser.error("the 'none' configuration is the baseline and must be included")

    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    step, _ = alexnet_step_fn(args.device)
    for _ in range(30):  # warm-up: cuDNN autotune, clocks
        step()
    sync()
    nvml_timings = time_nvml_calls() if args.device.startswith("cuda") else {}

    rows = []
    for repeat in range(args.repeats):
        k = repeat % len(args.configs)
        order = args.configs[k:] + args.configs[:k]  # rotate so no config always runs first
        for config in order:
            meter = None
            if CONFIGS[config] is not None:
                meter = EnergyMeter(**CONFIGS[config])
            try:
                duration_s, energy_j = run_epochs(step, sync, args.epochs, args.steps, meter, f"{config}-{repeat}")
            finally:
                if meter is not None:
                    meter.close()
            images = args.epochs * args.steps * BATCH_SIZE
            rows.append(
                {
                    "config": config,
                    "repeat": repeat,
                    "epochs": args.epochs,
                    "steps_per_epoch": args.steps,
                    "batch_size": BATCH_SIZE,
                    "images": images,
                    "duration_s": duration_s,
                    "throughput_img_s": images / duration_s,
                    "metered_energy_j": energy_j,
                }
            )
            print(f"repeat {repeat} {config:>8}: {duration_s:.3f} s, {images / duration_s:.1f} img/s, {energy_j:.0f} J",
                  flush=True)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    csv_path = args.out_dir / "meter_overhead.csv"
    table.to_csv(csv_path, index=False)
    summary = summarize(table)
    md_path = args.out_dir / "meter_overhead.md"
    md_path.write_text(render_markdown(summary, args, metadata.environment_metadata(), nvml_timings))
    metadata.write_meta(csv_path, campaign="meter_overhead", model=_model_source(), precision="fp32 (torch defaults)",
                        data_source="synthetic")
    print(md_path.read_text(), flush=True)
    return 0


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Median throughput per configuration and its change against ``none`` [%]."""
    base = table[table.config == "none"]["throughput_img_s"]
    base_median = statistics.median(base)
    out = []
    for config, group in table.groupby("config", sort=False):
        t = group["throughput_img_s"]
        out.append(
            {
                "config": config,
                "runs": len(t),
                "median_img_s": statistics.median(t),
                "min_img_s": t.min(),
                "max_img_s": t.max(),
                "overhead_pct": 100.0 * (base_median - statistics.median(t)) / base_median,
            }
        )
    return pd.DataFrame(out)


def time_nvml_calls(repeats: int = 50) -> dict[str, float]:
    """Median wall time of the NVML reads the meter makes [ms] (GPU 0, idle)."""
    from greenai import nvml

    nvml.init()
    try:
        gpu = nvml.Gpu(0)
        calls = {
            "total_energy_mj (counter read)": gpu.total_energy_mj,
            "power_w": gpu.power_w,
            "edge_state (temperature, SM clock, power limit)": gpu.edge_state,
        }
        out = {}
        for name, call in calls.items():
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                call()
                times.append(time.perf_counter() - t)
            out[name] = 1000.0 * statistics.median(times)
        return out
    finally:
        nvml.shutdown()


def _baseline(summary: pd.DataFrame, env: dict):
    """The GPU's name, the unmetered configuration's row, and its run-to-run spread [% of the median]."""
    gpu = env["gpus"][0]["name"] if env.get("gpus") else "no GPU"
    base = summary[summary.config == "none"].iloc[0]
    return gpu, base, 100.0 * (base.max_img_s - base.min_img_s) / base.median_img_s


def render_markdown(summary: pd.DataFrame, args, env: dict, nvml_timings: dict | None = None) -> str:
    gpu, base, noise_pct = _baseline(summary, env)
    lines = [
        "# Energy-meter overhead on AlexNet training throughput",
        "",
        f"{gpu}, driver {env.get('driver')}, torch {env.get('torch')}, {env.get('date_utc')}. "
        f"AlexNet, batch {BATCH_SIZE}, 1×224×224 synthetic data on the GPU, FP32 (torch defaults); "
        f"{args.epochs} epochs of {args.steps} steps per run, one meter window per epoch; "
        f"{args.repeats} alternating repeats per configuration. Written by `benchmarks/meter_overhead.py`.",
        "",
        "| configuration | runs | median img/s | min | max | overhead vs none |",
        "|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples(index=False):
        lines.append(
            f"| {r.config} | {r.runs} | {r.median_img_s:.1f} | {r.min_img_s:.1f} | {r.max_img_s:.1f} | {r.overhead_pct:+.2f} % |"
        )
    counter = summary[summary.config == "counter"]
    verdict = ""
    if len(counter):
        pct = float(counter.overhead_pct.iloc[0])
        verdict = (
            f"Counter method overhead {pct:+.2f} % "
            f"({'within' if pct <= MAX_COUNTER_OVERHEAD_PCT else 'ABOVE'} the {MAX_COUNTER_OVERHEAD_PCT:g} % bar); "
        )
    lines += ["", verdict + f"run-to-run spread without a meter: {noise_pct:.2f} % (max−min over median).", ""]
    if nvml_timings:
        lines += ["Median wall time of one NVML read (GPU 0, 50 calls):", ""]
        lines += [f"- {name}: {ms:.2f} ms" for name, ms in nvml_timings.items()]
        lines.append("")
    return "\n".join(lines)


# -- --suite nonblocking -------------------------------------------------------
class _ZeusWindows:
    """Zeus's ZeusMonitor behind the two calls the benchmark makes (it synchronises at each edge)."""

    def __init__(self, gpu_index: int):
        from zeus.monitor import ZeusMonitor

        self.monitor = ZeusMonitor(gpu_indices=[gpu_index], cpu_indices=[])

    def begin(self, key: str) -> None:
        self.monitor.begin_window(key)

    def end(self, key: str) -> float:
        return float(sum(self.monitor.end_window(key).gpu_energy.values()))


def zeus_version() -> str | None:
    """Zeus's version where it is installed (None: not installed)."""
    try:
        from importlib.metadata import version

        import zeus.monitor  # noqa: F401  (it must import, not just be listed)

        return version("zeus")
    except Exception:  # noqa: BLE001 - any failure means "not usable here"
        return None


def run_windows(step, sync, epochs: int, steps: int, every: int | str, block: bool, meter, zeus, tag: str) -> dict:
    """Train ``epochs`` × ``steps`` steps with a window every ``every`` steps (or per epoch).

    greenai windows are back to back (each ends at the edge that begins the
    next) and all lie inside one blocking window ``whole`` over the same work,
    whose edges are the run's own synchronisations, outside the timed part.
    Returns the run's duration [s], the windows' summed energy [J] and, for
    greenai, the whole window's measurement.
    """
    per = steps if every == "epoch" else int(every)
    total = epochs * steps
    n_windows = 0
    handles: list = []
    zeus_energy_j = 0.0
    sync()
    if meter is not None:
        meter.begin_window(f"{tag}-whole")  # blocking; the GPU is idle here
        meter.begin_window(f"{tag}-w0", block=block)
    if zeus is not None:
        zeus.begin(f"{tag}-w0")  # like greenai's first edge: before the clock starts, the GPU idle
    start = time.perf_counter()
    for i in range(1, total + 1):
        step()
        if i % per == 0 or i == total:
            last = i == total
            key, nxt = f"{tag}-w{n_windows}", f"{tag}-w{n_windows + 1}"
            if meter is not None:
                handles.append(meter.end_window(key, block=block, begin_next=None if last else nxt))
            elif zeus is not None:
                zeus_energy_j += zeus.end(key)
                if not last:
                    zeus.begin(nxt)
            n_windows += 1
    sync()
    duration_s = time.perf_counter() - start
    out = {"duration_s": duration_s, "windows": n_windows, "windows_energy_j": float("nan"), "whole": None,
           "window_warnings": ""}
    if meter is not None:
        whole = meter.end_window(f"{tag}-whole")
        parts = [h.result(timeout=60.0) if not block else h for h in handles]
        out["windows_energy_j"] = float(sum(m.energy_j for m in parts))
        out["whole"] = whole
        out["window_warnings"] = "; ".join(sorted({w.split(":")[0] for m in parts for w in m.warnings}))[:300]
    elif zeus is not None:
        out["windows_energy_j"] = zeus_energy_j
    return out


def main_nonblocking(args) -> int:
    """``--suite nonblocking``: blocking vs non-blocking edges vs Zeus, alternating, ``--repeats`` each."""
    on_gpu = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if on_gpu else (lambda: None)
    zver = zeus_version() if on_gpu else None
    configs = list(args.configs)
    skipped = []
    if zver is None:
        skipped = [c for c in configs if EDGE_CONFIGS[c][0] == "zeus"]
        configs = [c for c in configs if c not in skipped]
        if skipped:
            print(f"skipping {skipped}: zeus is not installed" + ("" if on_gpu else " or no GPU"), flush=True)
    if "none" not in configs:
        raise SystemExit("error: the 'none' configuration is the baseline and must be included")
    methods = ("counter",) if on_gpu else "auto"

    step, _ = alexnet_step_fn(args.device, batch_size=args.batch_size, image_size=args.image_size)
    for _ in range(30 if on_gpu else 2):  # warm-up: cuDNN autotune, clocks
        step()
    sync()
    gpu_index = torch.cuda.current_device() if on_gpu else 0

    rows = []
    t_suite = time.perf_counter()
    for repeat in range(args.repeats):
        k = repeat % len(configs)
        order = configs[k:] + configs[:k]  # rotate so no config always runs first
        for config in order:
            kind, every, block = EDGE_CONFIGS[config]
            meter = EnergyMeter(gpu_indices=[gpu_index] if on_gpu else None, methods=methods) if kind == "greenai" else None
            zeus = _ZeusWindows(gpu_index) if kind == "zeus" else None
            try:
                r = run_windows(step, sync, args.epochs, args.steps, every, block, meter, zeus, f"{config}-{repeat}")
            finally:
                if meter is not None:
                    meter.close()
            images = args.epochs * args.steps * args.batch_size
            whole = r["whole"]
            whole_j = whole.energy_j if whole is not None else float("nan")
            step_j = whole.uncertainty_j / 2.0 if whole is not None else float("nan")  # one counter step
            rows.append(
                {
                    "config": config,
                    "meter": kind or "none",
                    "window_every_steps": args.steps if every == "epoch" else every,
                    "edges": "none" if kind is None else ("blocking" if block else "cuda_event"),
                    "repeat": repeat,
                    "epochs": args.epochs,
                    "steps_per_epoch": args.steps,
                    "batch_size": args.batch_size,
                    "images": images,
                    "windows": r["windows"] if kind else 0,
                    "duration_s": r["duration_s"],
                    "throughput_img_s": images / r["duration_s"],
                    "windows_energy_j": r["windows_energy_j"],
                    "whole_energy_j": whole_j,
                    "whole_method": whole.method if whole is not None else "",
                    "counter_step_j": step_j,
                    "windows_minus_whole_j": r["windows_energy_j"] - whole_j,
                    "window_warnings": r["window_warnings"],
                }
            )
            print(f"repeat {repeat} {config:>17}: {r['duration_s']:.3f} s, {images / r['duration_s']:.1f} img/s, "
                  f"windows {r['windows_energy_j']:.1f} J, whole {whole_j:.1f} J", flush=True)
    suite_s = time.perf_counter() - t_suite

    args.out_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    csv_path = args.out_dir / "meter_overhead_nonblocking.csv"
    table.to_csv(csv_path, index=False)
    summary = summarize_nonblocking(table)
    md_path = args.out_dir / "meter_overhead_nonblocking.md"
    md_path.write_text(render_nonblocking(summary, table, args, metadata.environment_metadata(), zver, skipped, suite_s))
    metadata.write_meta(csv_path, campaign="meter_overhead_nonblocking", model=_model_source(),
                        precision="fp32 (torch defaults)", data_source="synthetic", zeus=zver,
                        suite_wall_s=round(suite_s, 1))
    print(md_path.read_text(), flush=True)
    return 0


def summarize_nonblocking(table: pd.DataFrame) -> pd.DataFrame:
    """Per configuration: median throughput, its change against ``none`` [%], energy per run and the sum check."""
    base_median = statistics.median(table[table.config == "none"]["throughput_img_s"])
    out = []
    for config, group in table.groupby("config", sort=False):
        t = group["throughput_img_s"]
        steps = (group["windows_minus_whole_j"].abs() / group["counter_step_j"]).max()
        out.append(
            {
                "config": config,
                "edges": group["edges"].iloc[0],
                "window_every_steps": int(group["window_every_steps"].iloc[0]),
                "windows_per_run": int(group["windows"].iloc[0]),
                "runs": len(t),
                "median_img_s": statistics.median(t),
                "min_img_s": t.min(),
                "max_img_s": t.max(),
                "overhead_pct": 100.0 * (base_median - statistics.median(t)) / base_median,
                "median_windows_energy_j": group["windows_energy_j"].median(),
                "max_abs_windows_minus_whole_j": group["windows_minus_whole_j"].abs().max(),
                "max_abs_windows_minus_whole_steps": steps,
            }
        )
    return pd.DataFrame(out)


def _f(x: float, fmt: str) -> str:
    return "–" if x != x else format(x, fmt)


def render_nonblocking(summary: pd.DataFrame, table: pd.DataFrame, args, env: dict, zver, skipped, suite_s) -> str:
    gpu, base, noise_pct = _baseline(summary, env)
    lines = [
        "# Meter overhead: blocking vs non-blocking window edges, with Zeus as the anchor",
        "",
        f"{gpu}, driver {env.get('driver')}, torch {env.get('torch')}, zeus {zver or 'not installed'}, "
        f"{env.get('date_utc')}. AlexNet, batch {args.batch_size}, 1×{args.image_size}×{args.image_size} synthetic data on the device, "
        f"FP32 (torch defaults); {args.epochs} epochs of {args.steps} steps per run; {args.repeats} alternating "
        f"repeats per configuration ({suite_s:.0f} s in all). Blocking edges call `torch.cuda.synchronize`; "
        "non-blocking edges record a CUDA event that the meter's edge thread waits for. Back-to-back greenai "
        "windows share an edge. Written by `benchmarks/meter_overhead.py --suite nonblocking`.",
        "",
        "| configuration | edges | window every (steps) | windows/run | runs | median img/s | min | max "
        "| overhead vs none | median energy of the windows [J/run] | max abs(windows − whole) [J] | [counter steps] |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples(index=False):
        lines.append(
            f"| {r.config} | {r.edges} | {r.window_every_steps} | {r.windows_per_run} | {r.runs} | "
            f"{r.median_img_s:.1f} | {r.min_img_s:.1f} | {r.max_img_s:.1f} | {r.overhead_pct:+.2f} % | "
            f"{_f(r.median_windows_energy_j, '.1f')} | {_f(r.max_abs_windows_minus_whole_j, '.2f')} | "
            f"{_f(r.max_abs_windows_minus_whole_steps, '.2f')} |"
        )
    lines.append("")
    verdicts = []
    nb = summary[summary.config == "nonblocking_20"]
    if len(nb):
        pct = float(nb.overhead_pct.iloc[0])
        verdicts.append(f"Non-blocking windows every 20 steps: {pct:+.2f} % throughput "
                        f"({'within' if pct <= MAX_NONBLOCKING_OVERHEAD_PCT else 'ABOVE'} the "
                        f"{MAX_NONBLOCKING_OVERHEAD_PCT:g} % bar).")
    greenai_rows = table[table.meter == "greenai"]
    if len(greenai_rows) and greenai_rows["whole_method"].eq("counter").all():
        steps = (greenai_rows["windows_minus_whole_j"].abs() / greenai_rows["counter_step_j"]).max()
        nb_rows = greenai_rows[greenai_rows.edges == "cuda_event"]
        nb_steps = (nb_rows["windows_minus_whole_j"].abs() / nb_rows["counter_step_j"]).max() if len(nb_rows) else float("nan")
        verdicts.append(
            f"The windows of each greenai run add up to one blocking window over the same work within "
            f"{steps:.2f} counter steps (non-blocking: {_f(nb_steps, '.2f')}); the bar is one step at each of "
            f"the whole window's 2 edges ({'met' if steps <= 2.0 else 'NOT met'}; one step per edge of the "
            f"windows themselves would allow up to {int(greenai_rows['windows'].max()) + 1}). A counter step is the "
            "whole window's average power × the counter's update period."
        )
    elif len(greenai_rows):
        verdicts.append("No energy counter here (time only): the energy checks need a GPU.")
    verdicts.append(f"Run-to-run spread without a meter: {noise_pct:.2f} % (max−min over median).")
    if skipped:
        verdicts.append(f"Not run: {', '.join(skipped)} (zeus not installed or no GPU).")
    lines += [" ".join(verdicts), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
