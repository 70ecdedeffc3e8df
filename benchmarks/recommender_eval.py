"""Next-best product out of time: our recommender against the popularity baseline, and how fast it is.

    .venv/bin/python benchmarks/recommender_eval.py              # sample, Ta-Feng fixture, full Ta-Feng
    .venv/bin/python benchmarks/recommender_eval.py --no-full    # without the full file (no timings)

hit@5 and recall@5 of :func:`crm_core.cross_sell.evaluate_recommender` (every qualifying customer, no
sample) at the cut-off the Cross-sell page's model card uses (:func:`crm_core.views.cross_sell.evaluation_window`:
90 days before the analysis date, or half the data's span when shorter), for the default
(``method="co_bought"``, basket level chosen per data set), the same at both basket levels, the rule →
similar → popular fill that was the default before (``method="rules"``, per order) and popularity. Then the
wall time of ``recommend`` on the full receipts (817k lines), old default against new, best of three.
Prints markdown tables; speed is measured here, not asserted.
"""
from __future__ import annotations

import argparse
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_ZIP = ROOT.parent / "shared" / "data" / "real" / "ta_feng.csv.zip"
FIXTURE = ROOT / "tests" / "data" / "real" / "ta_feng_every20.parquet"
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from crm_core import cross_sell as cs  # noqa: E402
from crm_core.dataset import Dataset, load_sample  # noqa: E402
from crm_core.features import default_as_of  # noqa: E402
from crm_core.views.cross_sell import evaluation_window  # noqa: E402

VARIANTS = {  # label -> evaluate_recommender keyword arguments (besides the window)
    "co_bought (default: basket per data set)": {"method": "co_bought", "by": "auto"},
    "co_bought per order": {"method": "co_bought", "by": "order"},
    "co_bought per customer": {"method": "co_bought", "by": "customer"},
    "rules → similar → popular (old default)": {"method": "rules", "by": "order"},
}
OLD_DEFAULT = {"method": "rules", "by": "order"}


def full_receipts(zip_path: Path) -> pl.DataFrame:
    """The published receipts as read_table loads them (benchmarks/data/real/ caches the load)."""
    cached = ROOT / "benchmarks" / "data" / "real" / "transactions.parquet"
    if cached.exists():
        return pl.read_parquet(cached)
    from crm_core.io import read_table

    with zipfile.ZipFile(zip_path) as archive:
        raw = archive.read(archive.namelist()[0])
    return read_table(raw, max_bytes=len(raw) + 1, max_rows=2_000_000).df


def evaluate(name: str, lines: pl.DataFrame) -> list[str]:
    as_of = default_as_of(lines)
    window = evaluation_window(Dataset(lines), as_of)
    assert window is not None
    cutoff, horizon = window
    rows = []
    baseline = None
    for label, options in VARIANTS.items():
        started = time.perf_counter()
        found = cs.evaluate_recommender(lines, cutoff, horizon, k=5, **options)
        seconds = time.perf_counter() - started
        assert found.recommender is not None and found.popularity is not None
        baseline = found.popularity
        rows.append(f"| {name} | {label} ({found.by}) | {found.recommender.hit_rate:.4f} | "
                    f"{found.recommender.recall:.4f} | {found.customers:,} | {seconds:.1f} |")
    assert baseline is not None
    rows.append(f"| {name} | popularity (baseline) | {baseline.hit_rate:.4f} | {baseline.recall:.4f} | "
                f"{found.customers:,} | |")
    print(f"{name}: cut-off {cutoff:%Y-%m-%d}, {horizon} days after", file=sys.stderr)
    return rows


def best_of(runs: int, lines: pl.DataFrame, ids: pl.Series | None, k: int, as_of: datetime, **options) -> float:
    """The fastest of ``runs`` calls of ``recommend`` (wall seconds)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        cs.recommend(lines, ids, k=k, as_of=as_of, **options)
        times.append(time.perf_counter() - started)
    return min(times)


def timings(lines: pl.DataFrame) -> list[str]:
    as_of = default_as_of(lines)
    everyone = lines["customer_id"].unique().sort()
    cases = {"all 32,266 customers, k=5": (None, 5), "all customers, k=1 (customer table)": (None, 1),
             "5,000 customers, k=5 (segment cap)": (everyone.head(5_000), 5), "1 customer, k=5": (everyone.head(1), 5)}
    rows = []
    for label, (ids, k) in cases.items():
        old = best_of(3, lines, ids, k, as_of, **OLD_DEFAULT)
        new = best_of(3, lines, ids, k, as_of)
        rows.append(f"| {label} | {old:.2f} | {new:.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-full", action="store_true", help="skip the full Ta-Feng file (and the timings)")
    parser.add_argument("--real", type=Path, default=REAL_ZIP)
    args = parser.parse_args()
    rows = evaluate("sample", load_sample().transactions)
    rows += evaluate("Ta-Feng every 20th customer", pl.read_parquet(FIXTURE))
    full = None if args.no_full else full_receipts(args.real)
    if full is not None:
        rows += evaluate("Ta-Feng full", full)
    print("| data | method (basket) | hit@5 | recall@5 | customers evaluated | seconds |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    if full is not None:
        print()
        print("| recommend on full Ta-Feng (817,741 lines) | old default (s) | new default (s) |")
        print("|---|---:|---:|")
        print("\n".join(timings(full)))


if __name__ == "__main__":
    main()
