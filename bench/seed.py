"""Time to seed 1,000,000 calls (target: under 60 s on the 2-core machine).

Runs in a scratch database it creates and drops. Reports, per run and as medians, the in-memory
generation time and the whole `seed` (generation + COPY + ANALYZE), so a regression can be placed.

    .venv/bin/python bench/seed.py [--calls 1000000] [--runs 3]
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from scratch import parser, scratch_database

from booking_guard.seed import SeedSpec, generate, seed

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)


def main() -> None:
    args = parser(__doc__).parse_args()
    with scratch_database(args.server) as url:
        spec = SeedSpec(calls=args.calls, anchor=ANCHOR)
        generated, total = [], []
        for run in range(1, args.runs + 1):
            start = time.perf_counter()
            generate(spec)
            generated.append(time.perf_counter() - start)
            start = time.perf_counter()
            seed(url, spec)
            total.append(time.perf_counter() - start)
            print(f"run {run}: generate {generated[-1]:.1f} s, seed (all) {total[-1]:.1f} s")
        median = statistics.median(total)
        print(
            f"median over {args.runs} runs, {args.calls:,} calls: seed {median:.1f} s"
            f" (generation {statistics.median(generated):.1f} s, load"
            f" {median - statistics.median(generated):.1f} s); target < 60 s:"
            f" {'met' if median < 60 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
