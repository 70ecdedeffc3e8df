"""Ingest benchmark: our loader against a bare ``polars.read_csv`` and ``pandas.read_csv`` of the same file.

    .venv/bin/python benchmarks/ingest.py --files 1M=benchmarks/data/1M/transactions.csv,real=PATH
    .venv/bin/python benchmarks/ingest.py --files 10M=/tmp/10M/transactions.csv --write

Each reading runs in a fresh Python process, with the file in the page cache (read once before, untimed);
seconds are wall-clock of the read alone (imports excluded),
peak is the process's peak resident memory (VmHWM). The loader is measured twice: ``read_table`` (what a
notebook calls: the loaded lines and the report, in memory) and ``read_table_isolated`` writing the saved
Parquet (what an upload costs the server: the reading child process's peak and the server side's). Ratios
are against the bare readers in the same run (< 1 is faster). ``--write`` puts the table into
benchmarks/RESULTS.md between ``<!-- ingest:begin -->`` and ``<!-- ingest:end -->`` (run.py and serving.py
keep that section). Not part of the test suite: speed is measured here, not asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- ingest:begin -->", "<!-- ingest:end -->"
sys.path.insert(0, str(ROOT))
from run import run_child  # noqa: E402  (benchmarks/run.py, beside this script)

READERS = {
    "polars_read_csv": "polars.read_csv (types inferred)",
    "pandas_read_csv": "pandas.read_csv (types inferred)",
    "read_table": "crm_core.io.read_table (encoding, header, every column parsed, the report)",
    "upload_to_parquet": "read_table_isolated → saved Parquet (an upload: child process, then the file)",
}
READERS_BARE = ("polars_read_csv", "pandas_read_csv")
BIG = {"max_bytes": 8 << 30, "max_rows": 50_000_000}


def peak_mb() -> float:
    """The peak resident memory of this process (VmHWM; ru_maxrss would carry the parent's over across fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def measure(reader: str, path: Path) -> dict:
    """Time one reading of ``path`` in this (fresh) process."""
    import polars as pl

    extra: dict = {}
    if reader == "polars_read_csv":
        separator = _separator(path)
        work = lambda: pl.read_csv(path, separator=separator, infer_schema_length=10_000,  # noqa: E731
                                   encoding="utf8-lossy")
    elif reader == "pandas_read_csv":
        import pandas as pd
        separator = _separator(path)
        work = lambda: pd.read_csv(path, sep=separator, encoding="utf-8", encoding_errors="replace",  # noqa: E731
                                   low_memory=False)
    elif reader == "read_table":
        from crm_core.io import read_table

        def work():
            result = read_table(path, **BIG)
            extra.update(lines=result.df.height, customers=result.df.get_column("customer_id").n_unique(),
                         revenue=round(float(result.df.get_column("amount").sum() or 0)))
            return result
    elif reader == "upload_to_parquet":
        import io

        from crm_core.io.isolated import read_table_isolated

        upload = io.BytesIO(path.read_bytes())  # what Streamlit holds of an upload (untimed)
        upload.name = path.name

        def work():
            with tempfile.TemporaryDirectory() as folder, DescendantsPeak() as children:
                result = read_table_isolated(upload, memory_mb=16_000, seconds=3600, **BIG)
                result.df.write_parquet(Path(folder) / "transactions.parquet")
            extra.update(lines=result.df.height, child_peak_mb=children.peak_mb)
    else:
        raise SystemExit(f"unknown reader {reader}")
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": peak_mb(), **extra}


class DescendantsPeak:
    """The largest peak resident memory (VmHWM) among this process's descendants, sampled every 20 ms
    while in the ``with`` block: the reading child is the forkserver's child, not ours, so
    ``RUSAGE_CHILDREN`` never sees it."""

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> DescendantsPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.02):
            parents = {}
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    except (OSError, ValueError, IndexError):
                        pass
            for pid in parents:
                ancestor = parents.get(pid)
                while ancestor and ancestor != me:
                    ancestor = parents.get(ancestor)
                if ancestor == me:
                    try:
                        for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
                            if line.startswith("VmHWM:"):
                                self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
                    except OSError:
                        pass


def _separator(path: Path) -> str:
    """The bare readers are told the separator (the loader sniffs it): the first line's commonest one."""
    with path.open("rb") as handle:
        first = handle.readline()
    return max((b",", b";", b"\t", b"|"), key=first.count).decode()


def child(reader: str, path: Path, timeout: int) -> dict:
    warm(path)
    return run_child([sys.executable, __file__, "--child", reader, str(path)], timeout)


def warm(path: Path) -> None:
    """Read the file once before each reader (untimed), so every reader finds it in the page cache: on
    this machine a cold read of the 10M file alone takes 2.8 s, a warm one 0.3 s."""
    with path.open("rb") as handle:
        while handle.read(64 << 20):
            pass


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def table(rows: list[tuple[str, str, int, dict[str, dict]]]) -> list[str]:
    out = [BEGIN, "## Ingest", "",
           f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}. `benchmarks/ingest.py`: each "
           "reading in a fresh process; seconds of the read alone; peak = the process's peak resident memory "
           "(for the upload, the larger of the server side and the reading child). Ratios are ours / the bare "
           "reader of the same file (< 1 is faster, 2 = twice the time or memory). Seconds on this shared "
           "2-core machine vary between runs (polars.read_csv of the 1M file took 0.4–1.4 s in one evening), "
           "peaks by a few per cent.", "",
           "| file | size MB | reader | seconds | peak MB | × polars time | × polars memory | × pandas time "
           "| × pandas memory | lines kept |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for label, _path, size, results in rows:
        bare = {name: results.get(name, {}) for name in READERS_BARE}
        for reader, r in results.items():
            peak = max(r.get("peak_mb") or 0, r.get("child_peak_mb") or 0) or None
            ratios = []
            for name in READERS_BARE:
                for value, base in ((r.get("seconds"), bare[name].get("seconds")), (peak, bare[name].get("peak_mb"))):
                    ratios.append(fmt(value / base) if value and base and reader not in READERS_BARE else "")
            kept = f"{r['lines']:,}" if "lines" in r else ""
            out.append(f"| {label} | {size / 1e6:,.0f} | {reader} | {r.get('error') or fmt(r.get('seconds'))} | "
                       f"{fmt(peak, 0)} | {' | '.join(ratios)} | {kept} |")
    return out + ["", END]


def write_section(lines: list[str]) -> None:
    """Replace (or append) the ingest section of RESULTS.md, leaving everything else as it is."""
    previous = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    section = "\n".join(lines)
    if BEGIN in previous and END in previous:
        updated = previous[:previous.index(BEGIN)] + section + previous[previous.index(END) + len(END):]
    else:
        updated = previous.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(updated, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", default="", help="LABEL=PATH,… (CSV files to read)")
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return
    if not args.files:
        parser.error("--files is required")
    rows = []
    for item in args.files.split(","):
        label, _, path_text = item.partition("=")
        path = Path(path_text)
        results = {}
        for reader in args.readers.split(","):
            results[reader] = r = child(reader, path, args.timeout)
            print(f"{label:>10} {reader:<18} {fmt(r.get('seconds')):>8} s  {fmt(r.get('peak_mb'), 0):>7} MB  "
                  f"{fmt(r.get('child_peak_mb'), 0) if 'child_peak_mb' in r else '':>7}  "
                  f"{ {k: v for k, v in r.items() if k in ('lines', 'customers', 'revenue', 'error')} }", flush=True)
        rows.append((label, str(path), path.stat().st_size, results))
    lines = table(rows)
    print("\n".join(lines))
    if args.write:
        write_section(lines)


if __name__ == "__main__":
    main()
