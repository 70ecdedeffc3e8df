"""Serving benchmark: what a manager waits for once a dataset's analyses are computed and kept with it.

    .venv/bin/python benchmarks/serving.py                       # 1M synthetic lines and the real Ta-Feng file
    .venv/bin/python benchmarks/serving.py --sizes 1M,real,10M   # 10M: ten copies of 1M (ids renamed)

For each size, from one saved dataset in a fresh data folder:

1. **first analysis** — a fresh process opens every page once (AppTest, as a link opens them), nothing
   stored yet: every artefact is computed (what the first manager pays, once per dataset and date);
2. **each page, fresh server process** — a new process per page opens it by its link; the artefacts are
   read back from the dataset's folder. Then a region filter is changed in the same process;
3. **concurrent sessions** (``--sessions``, 20) — ``serve.py`` serves the saved dataset; that many Chromium
   tabs open the pages at once (round robin); the slowest page is the time until its last element drew.
   The server's resident memory: at start, its peak, and after the tabs closed and the idle time passed
   (``CRM_CACHE_IDLE_SECONDS`` is set to 20 here; 600 by default).

Reference: the same page opened before this change computed everything on every cold open
(``benchmarks/RESULTS.md``, "First render of each page"); the ratio column compares against that run
when it is there. Not part of the test suite: speed is measured here, not asserted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from run import PAGES, ensure_data, load, peak_mb  # noqa: E402

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
MARK_BEGIN, MARK_END = "<!-- serving:begin -->", "<!-- serving:end -->"
TARGETS = {"page": 2.0, "filter": 0.5, "first": 20.0, "page_10M": 10.0, "peak_10M_mb": 6000.0, "concurrent": 10.0}
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
READY = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'


# ---------------------------------------------------------------- data

def ensure_10m() -> Path:
    """Ten copies of the 1M data, customer and order ids suffixed per copy (10,004,370 lines)."""
    import polars as pl

    folder = ROOT / "benchmarks" / "data" / "10M"
    if (folder / "transactions.parquet").exists():
        return folder
    base = ensure_data("1M")
    folder.mkdir(parents=True, exist_ok=True)
    for table, ids in (("transactions", ("customer_id", "order_id")), ("customers", ("customer_id",)),
                       ("interactions", ("customer_id",))):
        frame = pl.read_parquet(base / f"{table}.parquet")
        copies = [frame.with_columns(pl.col(c).cast(pl.String) + f"-{k}" for c in ids if c in frame.columns)
                  for k in range(10)]
        pl.concat(copies).write_parquet(folder / f"{table}.parquet")
    return folder


def folder_of(size: str) -> Path:
    return ensure_10m() if size == "10M" else ensure_data(size)


def top_customer(folder: Path) -> str:
    lines = load(folder).transactions
    return str(lines["customer_id"].value_counts(sort=True)["customer_id"][0])


# ---------------------------------------------------------------- AppTest children

def _apptest(data_dir: str):
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    original = PagesManager.__init__

    def like_a_server(self, *args, **kwargs):  # see tests/app/helpers.py
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False
    PagesManager.__init__ = like_a_server
    os.environ.update({"CRM_DATA_DIR": data_dir, "CRM_PREPARE": "1", "CRM_PAGE_WAIT": "3600"})
    os.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=3600)


def _open(at, dataset_id: str, page: str, customer: str) -> float:
    at.query_params.update({"ds": dataset_id, "lang": "en"})
    if page == "customer_360":
        at.session_state["customer"] = customer
    start = time.perf_counter()
    if page == "overview":
        at.run()
    else:
        at.switch_page(f"pages/{page}.py").run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"{page}: {at.exception[0].message}")
    return seconds


def child_first(data_dir: str, dataset_id: str, customer: str) -> dict:
    """Every page once, nothing stored: all artefacts computed (and kept) in this process."""
    at = _apptest(data_dir)
    times = {}
    start = time.perf_counter()
    for page in PAGES:
        times[page] = _open(at, dataset_id, page, customer)
    from ui.cache import shared_artefacts, worker

    worker().submit(lambda: None).result()  # (the background start has nothing left queued)
    shared_artefacts().flush()  # (and every result is written)
    return {"seconds": time.perf_counter() - start, "pages": times, "peak_mb": peak_mb(),
            "computed": sum(shared_artefacts().computed.values())}


def child_page(data_dir: str, dataset_id: str, page: str, customer: str) -> dict:
    at = _apptest(data_dir)
    import ui.preload  # noqa: F401 - what serve.py imports when the server starts

    first = _open(at, dataset_id, page, customer)
    from ui.cache import shared_artefacts

    computed_first = dict(shared_artefacts().computed)
    regions = [m for m in at.multiselect if m.key == "region"]
    filter_seconds = None
    if regions and regions[0].options:
        regions[0].set_value([sorted(regions[0].options)[0]])
        start = time.perf_counter()
        at.run()
        filter_seconds = time.perf_counter() - start
    heavy = {name: n for name, n in computed_first.items()
             if name.startswith(("ui.analyses.", "ui.views.churn.risk_view")) and not name.endswith(".among")}
    return {"seconds": first, "filter_seconds": filter_seconds, "peak_mb": peak_mb(), "heavy_computed": heavy}


def child_sessions(data_dir: str, dataset_id: str, customer: str, sessions: str) -> dict:
    """``sessions`` AppTest sessions in one process (a server's sessions share it the same way), started at
    once on the pages in turn: each one's time, the process's memory before, at peak, and once they are
    gone and the idle time has passed."""
    import gc
    import threading

    os.environ["CRM_CACHE_IDLE_SECONDS"] = "20"
    import ui.preload  # noqa: F401 - what serve.py imports when the server starts

    count = int(sessions)
    apps = [_apptest(data_dir) for _ in range(count)]
    start_line = threading.Barrier(count)
    times: list[tuple[str, float]] = []

    def one(n: int) -> None:
        page = PAGES[n % len(PAGES)]
        start_line.wait()
        times.append((page, _open(apps[n], dataset_id, page, customer)))

    before = rss_mb(os.getpid())
    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    peak = rss_mb(os.getpid(), "VmHWM")
    apps.clear()
    gc.collect()
    closed = rss_mb(os.getpid())
    time.sleep(45)  # the idle time (20 s) and a sweep pass
    gc.collect()
    slowest = max(times, key=lambda item: item[1])
    return {"sessions": count, "slowest_page": slowest[0], "slowest": slowest[1],
            "median": sorted(t for _, t in times)[count // 2], "errors": 0, "rss_start": before, "rss_peak": peak,
            "rss_closed": closed, "rss_idle": rss_mb(os.getpid())}


def child(kind: str, *args: str, timeout: int = 7200) -> dict:
    command = [sys.executable, __file__, "--child", kind, *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def save(folder: Path, data_dir: Path) -> str:
    from crm_core import store

    return store.save(load(folder), data_dir, "bench", created=datetime(2026, 12, 1))


# ---------------------------------------------------------------- concurrent sessions

def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _sessions(base: str, dataset_id: str, customer: str, sessions: int) -> list[tuple[str, float]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        async def one(n: int) -> tuple[str, float]:
            page_name = PAGES[n % len(PAGES)]
            path = "" if page_name == "overview" else page_name
            extra = f"&customer={customer}" if page_name == "customer_360" else ""
            context = await browser.new_context(viewport={"width": 1300, "height": 900})
            tab = await context.new_page()
            start = time.perf_counter()
            await tab.goto(f"{base}/{path}?ds={dataset_id}&lang=en{extra}", timeout=600_000)
            for _ in range(2):
                await tab.wait_for_timeout(300)
                await tab.wait_for_selector(READY, state="attached", timeout=600_000)
                await tab.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')"
                                            " && !document.querySelector('.st-key-progress_box')", timeout=600_000)
            seconds = time.perf_counter() - start - 0.6  # (less the two settling pauses)
            if await tab.locator('[data-testid="stException"]').count():
                page_name += " (error)"
            await context.close()
            return page_name, seconds

        results = await asyncio.gather(*(one(n) for n in range(sessions)))
        await browser.close()
    return list(results)


def concurrent(data_dir: Path, dataset_id: str, customer: str, sessions: int) -> dict:
    import socket
    import urllib.request

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir), "CRM_CACHE_IDLE_SECONDS": "20", "CRM_PAGE_WAIT": "1"}
    env.pop("CRM_PASSWORD", None)
    log = open(data_dir.parent / "serving-server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        baseline = rss_mb(server.pid)
        results = asyncio.run(_sessions(f"http://127.0.0.1:{port}", dataset_id, customer, sessions))
        during = rss_mb(server.pid, "VmHWM")
        after_close = rss_mb(server.pid)
        time.sleep(45)  # sessions gone; the idle time (20 s) and a sweep pass
        after_idle = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    slowest = max(results, key=lambda item: item[1])
    errors = sum("(error)" in page for page, _ in results)
    return {"sessions": sessions, "slowest_page": slowest[0], "slowest": slowest[1],
            "median": sorted(s for _, s in results)[len(results) // 2], "errors": errors,
            "rss_start": baseline, "rss_peak": during, "rss_closed": after_close, "rss_idle": after_idle}


# ---------------------------------------------------------------- the table

def previous_first_renders() -> dict[tuple[str, str], float]:
    """The cold first render of each page in the run before artefacts (RESULTS.md), for the ratio."""
    found: dict[tuple[str, str], float] = {}
    if not RESULTS.exists():
        return found
    for line in RESULTS.read_text().split(MARK_BEGIN)[0].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[1] in PAGES:
            try:
                found[(cells[0], cells[1])] = float(cells[2])
            except ValueError:
                pass
    return found


def fmt(value, digits=2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,real")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--concurrent-sizes", default="1M", help="sizes that get the concurrent-session run")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = {"first": child_first, "page": child_page, "sessions": child_sessions}[kind](*rest)
        print(json.dumps(result))
        return

    before = previous_first_renders()
    lines = ["| lines | step | seconds | filter change s | peak MB | before s | ratio | heavy analyses computed |",
             "|---|---|---|---|---|---|---|---|"]
    verdicts: list[str] = []
    concurrency: list[str] = []
    for size in args.sizes.split(","):
        folder = folder_of(size)
        work = Path(tempfile.mkdtemp(prefix=f"serving-{size}-"))
        data_dir = work / "data"
        dataset_id = save(folder, data_dir)
        customer = top_customer(folder)
        first = child("first", str(data_dir), dataset_id, customer)
        print(size, "first", first, flush=True)
        lines.append(f"| {size} | first analysis, every page once (all artefacts) | {fmt(first.get('seconds'))} | | "
                     f"{fmt(first.get('peak_mb'), 0)} | | | {first.get('computed', first.get('error', ''))} |")
        if "seconds" in first:
            verdicts.append(f"| {size}: first analysis of every page < {TARGETS['first']:.0f} s "
                            f"| {first['seconds']:.1f} s | {'yes' if first['seconds'] < TARGETS['first'] else 'no'} |")
        worst, worst_filter, peak = 0.0, 0.0, 0.0
        for page in PAGES:
            result = child("page", str(data_dir), dataset_id, page, customer)
            print(size, page, result, flush=True)
            seconds = result.get("seconds")
            old = before.get((size, page))
            ratio = f"{seconds / old:.2f}" if seconds is not None and old else ""
            heavy = result.get("heavy_computed", result.get("error", ""))
            lines.append(f"| {size} | {page} (fresh process, artefacts stored) | {fmt(seconds)} | "
                         f"{fmt(result.get('filter_seconds'))} | {fmt(result.get('peak_mb'), 0)} | {fmt(old)} | "
                         f"{ratio} | {heavy or 'none'} |")
            worst = max(worst, seconds or float("inf"))
            worst_filter = max(worst_filter, result.get("filter_seconds") or 0.0)
            peak = max(peak, result.get("peak_mb") or 0.0)
        limit = TARGETS["page_10M"] if size == "10M" else TARGETS["page"]
        verdicts.append(f"| {size}: every page's first render < {limit:.0f} s | slowest {worst:.2f} s | "
                        f"{'yes' if worst < limit else 'no'} |")
        if size != "10M":
            verdicts.append(f"| {size}: a region filter change < {TARGETS['filter']} s | "
                            f"slowest {worst_filter:.2f} s | {'yes' if worst_filter < TARGETS['filter'] else 'no'} |")
        else:
            verdicts.append(f"| 10M: peak memory < {TARGETS['peak_10M_mb']:.0f} MB | {peak:.0f} MB | "
                            f"{'yes' if peak < TARGETS['peak_10M_mb'] else 'no'} |")
        if size in args.concurrent_sizes.split(","):
            runs = [("AppTest sessions, one process (the server's work)",
                     child("sessions", str(data_dir), dataset_id, customer, str(args.sessions)))]
            if os.path.exists(CHROMIUM):
                runs.append(("Chromium tabs on serve.py (the browsers share the 2 cores)",
                             concurrent(data_dir, dataset_id, customer, args.sessions)))
            for how, result in runs:
                print(size, how, result, flush=True)
                if "error" in result:
                    concurrency.append(f"| {size} | {how} | {result['error']} | | | | | | | |")
                    continue
                concurrency.append(
                    f"| {size} | {how} | {result['sessions']} | {result['slowest']:.2f} ({result['slowest_page']}) | "
                    f"{result['median']:.2f} | {result['errors']} | {result['rss_start']:.0f} | "
                    f"{result['rss_peak']:.0f} | {result['rss_closed']:.0f} | {result['rss_idle']:.0f} |")
                verdicts.append(f"| {size}: {result['sessions']} concurrent sessions ({how.split(',')[0]}), slowest "
                                f"page < {TARGETS['concurrent']:.0f} s | {result['slowest']:.2f} s | "
                                f"{'yes' if result['slowest'] < TARGETS['concurrent'] else 'no'} |")

    out = [MARK_BEGIN, "## Serving: computed once per dataset (benchmarks/serving.py)", "",
           f"Run {datetime.now():%Y-%m-%d %H:%M}, 2 cores. 'before s' is the cold first render of the same page "
           "in the table above (everything computed on open); ratio = now / before. 'Heavy analyses computed' "
           "lists what the fresh process had to compute (none: read back from the dataset's folder).", "",
           *lines, ""]
    if concurrency:
        out += ["Concurrent sessions on one saved dataset, opened at once on the pages in turn (memory of the "
                "serving process in MB):", "",
                "| lines | how | sessions | slowest page s | median s | errors | RSS at start | RSS peak | "
                "RSS when closed | RSS after idle |", "|---|---|---|---|---|---|---|---|---|---|", *concurrency, ""]
    out += ["| target | measured | met |", "|---|---|---|", *verdicts, MARK_END]
    block = "\n".join(out)
    print(block)
    text = RESULTS.read_text() if RESULTS.exists() else ""
    if MARK_BEGIN in text:
        text = text.split(MARK_BEGIN)[0] + block + text.split(MARK_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
