"""Times balance's ``rake`` on the benchmark data (run with an interpreter that has balance installed).

    /tmp/venv-balance/bin/python benchmarks/bench_balance.py DATA.csv REPEATS

balance pins numpy < 2 on Python 3.11, so it lives in its own virtualenv. Prints "kernel,seconds" lines for a
tight rake (convergence_rate 1e-12, rate_tolerance 0: the setting that matches R's tight rake) and balance's
defaults, and "check,<name>,<value>" lines with weights to compare.
"""

from __future__ import annotations

import logging
import statistics
import sys
import time

import pandas as pd

logging.disable(logging.CRITICAL)
from balance.weighting_methods.rake import rake  # noqa: E402


def main() -> None:
    path, repeats = sys.argv[1], int(sys.argv[2])
    frame = pd.read_csv(path)
    sample = frame[["cohort", "method"]].astype(str)
    total = float(frame["w"].sum())
    margins = {
        "cohort": dict(zip(["c1", "c2", "c3", "c4"], [total * p for p in (0.3, 0.3, 0.2, 0.2)])),
        "method": {m: total / 6 for m in "abcdef"},
    }
    for name, options in (
        ("balance_rake_tight", {"convergence_rate": 1e-12, "rate_tolerance": 0}),
        ("balance_rake_default", {}),
    ):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = rake(
                sample,
                frame["w"],
                None,
                None,
                target_margins=margins,
                transformations=None,
                max_iteration=1000,
                **options,
            )
            times.append(time.perf_counter() - t0)
        print(f"{name},{statistics.median(times):.6f}")
        weights = result["weight"].to_numpy()
        print(f"check,{name}_w0,{weights[0]:.17g}")
        print(f"check,{name}_wmax,{weights.max():.17g}")


if __name__ == "__main__":
    main()
