"""How long the static-feature model's fits take on the recorded rows (CPU; no GPU).

Notebook 05 refits the static-feature model tens of thousands of times: every fold of a cross-validation refits
it, and each refit scores its interval by refitting again with each family or held-out set left out. This script
times, on the committed rows (``results/raw``) and the shipped features:

- ``fit_static``: one fit of the H200's rows (:func:`greenai.predict.fits.fit_static`: the design built from the
  runs, the solve, its intervals and family offsets); ``solve``: its weighted least-squares solve alone on the
  design already built, against statsmodels' ``WLS(...).fit()`` with its confidence intervals and p-values (what
  it replaced);
- ``fit_gpu``: the H200's fit with its interval (:func:`greenai.predict.build.fit_gpu`), with and without the
  leave-one-family-out scores a cross-validation's refits skip where the interval does not use them;
- ``cross_validate``: notebook 05's validation splits (:func:`greenai.predict.validation.cross_validate`).

Writes ``results/benchmarks/prediction_fits.csv`` (wall and CPU seconds per call, the median of ``--repeats``;
one call of ``cross_validate``) with its ``.meta.json``. Usage::

    PYTHONPATH=. python benchmarks/prediction_fits.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from greenai import metadata, paths

H200 = "NVIDIA H200"
STEPS = ("fit_static", "solve", "fit_gpu", "cross_validate")


def timed(call, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``call()`` over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=paths.REPO_ROOT / "results" / "benchmarks")
    parser.add_argument("--repeats", type=int, default=40, help="calls per timed step but cross_validate (default 40)")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS), help="what to time (default all)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm

    from greenai import predict as pr
    from greenai.predict import build, fits
    from greenai.predict import validation as pv

    features = pr.load_coefficients()["features"]
    runs = pr.load_runs()
    fitted = runs[~runs["heldout"]]
    default = fitted[fitted["precision"] == "default"]
    rows = default[default["gpu_name"] == H200]
    premium = build.premiums_by_gpu(fitted, features, build.gpus_by_rows(default)[0]).get(H200) or {}
    xs = [build.run_regressors(r, features) for r in rows.to_dict("records")]
    y = rows["epoch_energy_j"].to_numpy(dtype=float)
    fit = pr.fit_static(xs, y, premium=premium.get("energy_j"))
    X = np.array([[sum(x[c] for c in t["components"]) for t in fit["terms"]] for x in xs])
    y_fit = y - (premium.get("energy_j") or {}).get("coef", 0.0) * np.array([x["matmul"] for x in xs])

    def statsmodels_fit():
        res = sm.WLS(y_fit, X, weights=1.0 / y**2).fit()
        return res.conf_int(alpha=0.05), res.pvalues

    steps = [
        ("fit_static", "design, solve, intervals, offsets",
         lambda: pr.fit_static(xs, y, premium=premium.get("energy_j")), args.repeats),
        ("solve", "numpy, as fit_static solves", lambda: fits._wls(X, y_fit, 1.0 / y**2), args.repeats),
        ("solve", "statsmodels WLS + conf_int + pvalues", statsmodels_fit, args.repeats),
        ("fit_gpu", "with leave-one-family-out scores",
         lambda: build.fit_gpu(rows, features, premium, targets=("energy_j",)), max(1, args.repeats // 4)),
        ("fit_gpu", "scores only where the interval uses them",
         lambda: build.fit_gpu(rows, features, premium, targets=("energy_j",), lofo_scores=False),
         max(1, args.repeats // 4)),
        ("cross_validate", "notebook 05's splits", lambda: pv.cross_validate(runs, features), 1),
    ]
    out = []
    for step, variant, call, repeats in (s for s in steps if s[0] in args.steps):
        wall, cpu = timed(call, repeats)
        out.append({"step": step, "variant": variant, "calls": repeats, "wall_s": wall, "cpu_s": cpu,
                    "runs": len(rows), "terms": len(fit["terms"])})
        print(f"{step:15s} {variant:38s} {1e3 * wall:10.2f} ms wall {1e3 * cpu:10.2f} ms CPU (median of {repeats})",
              flush=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = args.out_dir / "prediction_fits.csv"
    pd.DataFrame(out).to_csv(csv_path, index=False)
    metadata.write_meta(csv_path, campaign="prediction_fits", device="cpu",
                        description="wall and CPU seconds of the static-feature model's fits on the committed rows "
                                    "(the H200's fit; notebook 05's cross-validation)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
