"""Benchmark: prove every claim of the bundled catalog, as `symloss prove` does.

Prints the wall time of the whole run, the slowest claims, and the verdict
tally.  Usage: ``python benchmarks/prove_catalog.py [--workers N]``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from symloss.declare.catalog import load_catalog
from symloss.prove.results import prove_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", type=float, default=20.0)
    args = parser.parse_args()
    catalog = load_catalog()
    start = time.perf_counter()
    results = prove_catalog(catalog.losses, budget=args.budget, workers=args.workers)
    wall = time.perf_counter() - start
    tally = Counter((r.verdict.status, r.as_expected) for r in results)
    print(f"losses: {len(catalog)}  claims: {len(results)}  workers: {args.workers}")
    print(f"wall time: {wall:.1f} s")
    for (status, expected), count in sorted(tally.items()):
        print(f"  {status:8s} {'as expected' if expected else 'NOT as expected'}: {count}")
    print("slowest claims:")
    for r in sorted(results, key=lambda r: -r.verdict.seconds)[:8]:
        print(f"  {r.verdict.seconds:6.2f} s  {r.loss}: {r.claim.statement}")


if __name__ == "__main__":
    main()
