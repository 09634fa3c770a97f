"""Cross-check: the pattern decomposition against the Pyomo MILP on sampled sweep windows.

The MILP (hull-tightened, ``greenai.dispatch.model``) needs about a minute per
25 h window to prove optimality, so a random sample of start hours is solved
both ways; every solve must be proven optimal (gap <= 1e-6). Writes
``results/benchmarks/dispatch_verify.csv`` (+ ``.meta.json``): one row per
window with both costs, their difference and both solve times.

    .venv/bin/python benchmarks/dispatch_verify.py --deadline 25 --sample 24 --seed 0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from greenai import metadata, paths  # noqa: E402
from greenai.dispatch import inputs as I  # noqa: E402
from greenai.dispatch import sweep as S  # noqa: E402
from greenai.dispatch.decomposition import PatternDecomposition  # noqa: E402
from greenai.dispatch.model import create_model, solve  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deadline", type=int, default=25)
    parser.add_argument("--sample", type=int, default=24, help="how many of the 144 start hours")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=paths.BENCHMARKS_DIR)
    args = parser.parse_args(argv)
    year = I.year_inputs()
    starts = np.sort(np.random.default_rng(args.seed).choice(144, size=args.sample, replace=False))
    solver = PatternDecomposition(args.deadline, I.thesis_gpu_profile(), I.Battery())
    path = args.out / f"dispatch_verify_{args.deadline}h.csv"
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for start in starts:
        inputs = S.window_inputs(year, int(start), args.deadline)
        t0 = time.perf_counter()
        fast = solver.solve(inputs.solar_w, inputs.buy_eur_per_kwh, inputs.sell_eur_per_kwh)
        t1 = time.perf_counter()
        milp = solve(create_model(inputs))
        t2 = time.perf_counter()
        rows.append({"deadline_h": args.deadline, "start_hour": int(start),
                     "cost_decomposition_eur": fast.cost_eur, "cost_milp_eur": milp["cost_eur"],
                     "difference_eur": fast.cost_eur - milp["cost_eur"], "rel_gap_milp": milp["rel_gap"],
                     "rel_gap_decomposition": fast.rel_gap, "decomposition_s": t1 - t0, "milp_s": t2 - t1})
        print(f"D={args.deadline} start={start}: decomposition {fast.cost_eur:.6f} EUR in {t1 - t0:.3f} s, "
              f"MILP {milp['cost_eur']:.6f} EUR in {t2 - t1:.1f} s", flush=True)
        pd.DataFrame(rows).to_csv(path, index=False)  # kept after every window: a killed run loses nothing
    table = pd.DataFrame(rows)
    print(f"{len(table)} windows: max |difference| = {table['difference_eur'].abs().max():.2e} EUR")
    metadata.write_meta(path, campaign="dispatch_verify", deadline_h=args.deadline, sample=args.sample, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
