"""Heavy results computed once: in memory within a byte budget, on disk beside a saved dataset, by one thread.

An artefact is the value of a named analysis for one dataset and its parameters (the churn model and its
backtest, the customer table …). Its key is the dataset's fingerprint, the name, the parameters and
:data:`CODE_VERSION` (a hash of this package's source), so a code change never serves a stale result.

:class:`Artefacts` answers three questions for a key:

- :meth:`~Artefacts.peek`: the value if it is ready (memory, else the dataset's folder on disk), else None;
- :meth:`~Artefacts.get`: the value, computed now in the calling thread unless another thread is already
  computing it, in which case it waits for that one (no stampede: however many sessions ask, the work is
  done once);
- :meth:`~Artefacts.start`: begin computing it in the background worker, and return at once.

A computation may ask for other artefacts through :meth:`get` (the customer table reads the churn model).
A job that was queued but not started is then run by the thread that needs it, so a worker never waits
on work queued behind itself.

On disk an artefact is one pickle under ``<folder>/artefacts/``, written by a writer thread (the asker
does not wait for it) to a temporary file and renamed into place; files of another code version are
removed when a new one is written. The folder is the saved dataset's own (the app's data directory,
which only the app writes): deleting the dataset deletes them.
In memory the values are shared, never copied: every artefact is immutable by convention (frozen
dataclasses and polars frames). Memory holds at most ``budget_bytes`` (the pickled size of each value),
least recently used out first; a value that is also on disk (or any value, with ``forget_idle``) leaves
memory after ``idle_seconds`` without a reader, so a server gives memory back when its sessions are gone.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("crm.artefacts")

FOLDER = "artefacts"
SUFFIX = ".pkl"
RETRY_AFTER = 60.0   # seconds before a failed computation is started again in the background


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What :meth:`Artefacts.peek` returns for a value that is not ready (None is a value)."""


def _code_version() -> str:
    """A hash of every Python source file of ``crm_core``: results of other code are never read."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CODE_VERSION = _code_version()


@dataclass(frozen=True)
class Key:
    """What an artefact is: ``name`` of the analysis, the dataset's ``fingerprint`` and the ``params``.

    ``params`` must have a stable ``repr`` (dates, numbers, strings, tuples, frozen dataclasses): it is
    hashed into the file name, and the same result must find the same file in another process.
    """

    name: str
    fingerprint: str
    params: tuple[Hashable, ...] = ()

    @property
    def digest(self) -> str:
        text = f"{self.name}|{self.fingerprint}|{self.params!r}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def file_name(self) -> str:
        return f"{CODE_VERSION}-{self.digest}{SUFFIX}"


@dataclass
class _Job:
    key: Key
    state: str = "queued"           # queued → running → done | failed
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None
    started: float | None = None


@dataclass
class _Held:
    value: Any
    size: int
    on_disk: bool
    used: float


@dataclass(frozen=True)
class Status:
    """Where an artefact stands: ``state`` is "ready", "running", "queued", "failed" or "missing";
    ``seconds`` how long it has been running."""

    state: str
    seconds: float = 0.0


class Artefacts:
    """Artefacts of any number of datasets (see the module docstring).

    ``folder`` (on every call) is the saved dataset's folder, or None for data that is not saved (kept in
    memory only). ``workers``: threads of the background worker (shared with ``pool`` when given).
    """

    def __init__(self, budget_bytes: int = 1 << 30, idle_seconds: float = 600.0, workers: int = 1,
                 pool: ThreadPoolExecutor | None = None, forget_idle: bool = False) -> None:
        self.budget_bytes = budget_bytes
        self.idle_seconds = idle_seconds
        self.forget_idle = forget_idle  # idle values that are on no disk leave memory too (computed again if asked)
        self._memory: OrderedDict[str, _Held] = OrderedDict()
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-artefacts-writer")
        self._own_pool = pool is None
        self._pool = pool or ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crm-worker")
        self.computed: Counter[str] = Counter()   # analyses computed by name (read back from disk not counted)
        self.read: Counter[str] = Counter()       # analyses read from disk by name

    # ------------------------------------------------------------ asking

    def peek(self, key: Key, folder: Path | None) -> Any:
        """The value if it is ready, else :data:`MISSING` (nothing is computed)."""
        found = self._recall(key) or self._from_disk(key, folder)
        return found[0] if found is not None else MISSING

    def error(self, key: Key) -> BaseException | None:
        """Why the last background computation of ``key`` failed (None: it did not)."""
        with self._lock:
            job = self._jobs.get(key.digest)
            return job.error if job is not None and job.state == "failed" else None

    def status(self, key: Key, folder: Path | None) -> Status:
        digest = key.digest
        with self._lock:
            if digest in self._memory:
                return Status("ready")
            job = self._jobs.get(digest)
            if job is not None:
                return Status(job.state, time.monotonic() - job.started if job.started else 0.0)
        return Status("ready") if self._kept(key, folder) else Status("missing")

    @staticmethod
    def _kept(key: Key, folder: Path | None) -> bool:
        return folder is not None and (folder / FOLDER / key.file_name()).exists()

    def get(self, key: Key, compute: Callable[[], Any], folder: Path | None) -> Any:
        """The value: ready, computed by the thread already at it, or computed here and now."""
        ready = self.peek(key, folder)
        if ready is not MISSING:
            return ready
        job, mine = self._claim(key)
        if not mine:
            job.done.wait()
            if job.error is not None:
                raise job.error
            return job.value
        return self._run(job, compute, folder)

    def start(self, key: Key, compute: Callable[[], Any], folder: Path | None) -> Status:
        """Make sure the value is ready or on its way (computed by the background worker); never waits, and
        never reads a stored file (an app asks this at every run, for results its page may not show)."""
        with self._lock:
            if key.digest in self._memory:
                return Status("ready")
        if self._kept(key, folder):
            return Status("ready")
        with self._lock:
            job = self._jobs.get(key.digest)
            if job is not None and job.state in ("queued", "running"):
                return Status(job.state)
            if job is not None and job.state == "failed" and time.monotonic() - (job.started or 0) < RETRY_AFTER:
                return Status("failed")
            job = self._jobs[key.digest] = _Job(key)

        def work() -> None:
            with self._lock:
                if job.state != "queued":  # a thread that needed it sooner ran it
                    return
                job.state, job.started = "running", time.monotonic()
            try:
                self._run(job, compute, folder)
            except BaseException:  # noqa: BLE001 - kept on the job; whoever asks for the value gets it raised
                log.exception("artefact %s failed", key.name)

        try:
            self._pool.submit(work)
        except RuntimeError:  # the worker was stopped (the server is shutting down)
            with self._lock:
                self._jobs.pop(key.digest, None)
            return Status("missing")
        return Status("queued")

    def wait(self, key: Key, folder: Path | None, timeout: float) -> Any:
        """The value once ready, waiting at most ``timeout`` seconds for a computation under way;
        :data:`MISSING` if it is still not ready (or nothing is computing it)."""
        value = self.peek(key, folder)
        if value is not MISSING or timeout <= 0:
            return value
        with self._lock:
            job = self._jobs.get(key.digest)
        if job is None or job.state not in ("queued", "running"):
            return MISSING
        job.done.wait(timeout)
        return self.peek(key, folder)

    # ------------------------------------------------------------ the work

    def _claim(self, key: Key) -> tuple[_Job, bool]:
        """The job for ``key`` and whether this thread runs it (True) or waits for it (False)."""
        with self._lock:
            job = self._jobs.get(key.digest)
            if job is not None and job.state == "running":
                return job, False
            if job is None or job.state in ("done", "failed"):
                job = self._jobs[key.digest] = _Job(key)
            job.state, job.started = "running", time.monotonic()  # queued: taken over from the worker
            return job, True

    def _run(self, job: _Job, compute: Callable[[], Any], folder: Path | None) -> Any:
        started = time.perf_counter()
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                job.state, job.error = "failed", error  # kept: a page shows it instead of retrying each run
            job.done.set()
            raise
        seconds = time.perf_counter() - started
        with self._lock:
            self.computed[job.key.name] += 1
            job.state, job.value = "done", value
            self._memory[job.key.digest] = _Held(value, 0, False, time.monotonic())  # sized once pickled
            self._jobs.pop(job.key.digest, None)
        job.done.set()
        log.info("computed %s for %s in %.2f s", job.key.name, job.key.fingerprint[:8], seconds)
        try:  # pickled (for its size) and written by the writer thread: the asker does not wait for it
            self._writer.submit(self._keep, job.key, value, folder)
        except RuntimeError:  # closed
            pass
        return value

    def _keep(self, key: Key, value: Any, folder: Path | None) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        on_disk = self._write(key, data, folder)
        with self._lock:
            held = self._memory.get(key.digest)
            if held is not None and held.value is value:
                held.size, held.on_disk = len(data), on_disk
                self._sweep_locked(time.monotonic())

    def flush(self) -> None:
        """Wait until every computed value is sized and written (a test, a benchmark, a clean shutdown)."""
        self._writer.submit(lambda: None).result()

    # ------------------------------------------------------------ memory

    def _recall(self, key: Key) -> tuple[Any] | None:
        with self._lock:
            held = self._memory.get(key.digest)
            if held is None:
                return None
            held.used = time.monotonic()
            self._memory.move_to_end(key.digest)
            return (held.value,)

    def _remember(self, digest: str, held: _Held) -> None:
        """(Under the lock.) Keep a value, then drop the least recently used beyond the budget."""
        self._memory[digest] = held
        self._memory.move_to_end(digest)
        self._sweep_locked(time.monotonic())

    def _sweep_locked(self, now: float) -> None:
        for digest in [d for d, held in self._memory.items()
                       if (held.on_disk or self.forget_idle) and now - held.used > self.idle_seconds]:
            del self._memory[digest]
        total = sum(held.size for held in self._memory.values())
        while total > self.budget_bytes and len(self._memory) > 1:
            _, held = self._memory.popitem(last=False)
            total -= held.size

    def sweep(self) -> None:
        """Drop values idle for ``idle_seconds`` that are also on disk."""
        with self._lock:
            self._sweep_locked(time.monotonic())

    def sweep_every(self, seconds: float) -> None:
        """Sweep in a daemon thread every ``seconds`` until :meth:`close`, so memory is given back when
        nobody asks any more (a server whose sessions are gone runs no code that would sweep)."""
        def loop() -> None:
            while not self._closed.wait(seconds):
                self.sweep()

        threading.Thread(target=loop, name="crm-artefacts-sweep", daemon=True).start()

    @property
    def held_bytes(self) -> int:
        with self._lock:
            return sum(held.size for held in self._memory.values())

    def clear(self) -> None:
        """Forget every value held in memory (the files stay)."""
        with self._lock:
            self._memory.clear()

    def close(self) -> None:
        """Forget everything; stop the sweeping and, if it is this object's own, the worker."""
        self._closed.set()
        self.clear()
        self._writer.shutdown(wait=False)
        if self._own_pool:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ disk

    def _from_disk(self, key: Key, folder: Path | None) -> tuple[Any] | None:
        if folder is None:
            return None
        path = folder / FOLDER / key.file_name()
        try:
            data = path.read_bytes()
            value = pickle.loads(data)  # noqa: S301 - written by this app into its own data directory
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a damaged or foreign file: computed again (and rewritten)
            log.warning("artefact file %s unreadable; computing it again", path.name)
            path.unlink(missing_ok=True)  # (else it would count as ready, and never be made again)
            return None
        with self._lock:
            self.read[key.name] += 1
            self._remember(key.digest, _Held(value, len(data), True, time.monotonic()))
        return (value,)

    def _write(self, key: Key, data: bytes, folder: Path | None) -> bool:
        """Write atomically beside the dataset; False when there is no folder or it cannot be written."""
        if folder is None or not folder.is_dir():
            return False
        target = folder / FOLDER
        try:
            target.mkdir(exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=target, prefix=".writing-")
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target / key.file_name())
            for old in target.glob(f"*{SUFFIX}"):  # another code version's results are never read again
                if not old.name.startswith(CODE_VERSION + "-"):
                    old.unlink(missing_ok=True)
        except OSError:
            log.warning("could not store artefact %s beside %s", key.name, folder.name, exc_info=True)
            return False
        return True
