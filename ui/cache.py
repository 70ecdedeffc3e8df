"""Cached calls into the core, keyed on the dataset's content fingerprint plus the parameters.

Two kinds. :func:`stored` is for the heavy results (the churn model, the customer table, the CLV fit …):
they are :mod:`crm_core.artefacts`, computed once however many sessions ask, by the background worker
when a page should not wait, kept beside a saved dataset so a restart or a colleague's link reads them
back, and shared in memory rather than copied. :func:`cached` is for the cheap rest (``st.cache_data``).

Streamlit never hashes a frame or a Dataset here: large frames are hashed from a sample (platform notes
§1.3), so two uploads of the same shape could share an entry. The dataset travels as an unhashed
``_dataset`` argument beside its fingerprint. Results derived from an unsaved upload are cached with
``scope="session"`` (freed when the tab closes); the sample and saved datasets share a global cache.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import update_wrapper, wraps
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from crm_core.artefacts import MISSING, Artefacts, Key, Status
from crm_core.dataset import Dataset

F = TypeVar("F", bound=Callable[..., Any])
SHARED_FLAG = "dataset_shared"



class _ToStderr(logging.StreamHandler):
    """To whatever ``sys.stderr`` is when a record comes (the worker's records outlive a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


LOG = logging.getLogger("crm.artefacts")
if not LOG.handlers:  # "computed <analysis> … in N s" to the server's stderr, unless a deployer configured it
    _handler = _ToStderr()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(_handler)
    LOG.setLevel(logging.INFO)


def _run(function_name: str, fingerprint: str, _dataset: Dataset, _function: Callable, args: tuple,
         kwargs: dict) -> Any:
    return _function(_dataset, *args, **kwargs)


_global = st.cache_data(max_entries=64, show_spinner=False)(_run)
_session = st.cache_data(max_entries=24, show_spinner=False, scope="session")(_run)


def cached(function: F) -> F:
    """Wrap a core function whose first argument is a :class:`Dataset`; the rest must be hashable values."""
    name = f"{function.__module__}.{function.__qualname__}"

    @wraps(function)
    def call(dataset: Dataset, *args: Any, **kwargs: Any) -> Any:
        if getattr(_within, "where", None) is not None:  # inside an artefact's computation: no session here
            return function(dataset, *args, **kwargs)
        runner = _global if st.session_state.get(SHARED_FLAG, True) else _session
        return runner(name, dataset.fingerprint, dataset, function, args, kwargs)

    return call  # type: ignore[return-value]


# ---------------------------------------------------------------- stored artefacts

_within = threading.local()  # .where = (artefacts, folder) while an artefact is being computed in this thread


def _megabytes(name: str, default: int) -> int:
    try:
        return max(16, int(os.environ.get(name, default)))
    except ValueError:
        return default


def _stop(pool: ThreadPoolExecutor) -> None:
    pool.shutdown(wait=False, cancel_futures=True)


@st.cache_resource(show_spinner=False, on_release=_stop)
def worker() -> ThreadPoolExecutor:
    """The background worker: ``CRM_WORKERS`` threads (default 1, so a page's own work keeps a core)."""
    try:
        threads = max(1, int(os.environ.get("CRM_WORKERS", "1")))
    except ValueError:
        threads = 1
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="crm-worker")


def _seconds(name: str, default: float) -> float:
    try:
        return max(1.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


@st.cache_resource(show_spinner=False)
def shared_artefacts() -> Artefacts:
    """The server's artefacts of the sample and of saved datasets (their files live beside each dataset).

    ``CRM_CACHE_MB`` (default 1024) is what they may hold in memory; a result leaves memory after
    ``CRM_CACHE_IDLE_SECONDS`` (default 600) without a reader (read back from its file, or computed
    again from those that are kept)."""
    idle = _seconds("CRM_CACHE_IDLE_SECONDS", 600.0)
    artefacts = Artefacts(budget_bytes=_megabytes("CRM_CACHE_MB", 1024) << 20, idle_seconds=idle, pool=worker(),
                          forget_idle=True)
    artefacts.sweep_every(min(60.0, idle / 2))
    return artefacts


def _release(artefacts: Artefacts) -> None:
    artefacts.close()


@st.cache_resource(show_spinner=False, scope="session", on_release=_release)
def session_artefacts() -> Artefacts:
    """One session's artefacts of an unsaved upload: in memory only, freed when the session ends.
    (``CRM_SESSION_CACHE_MB``, default 512, is what they may hold.)"""
    return Artefacts(budget_bytes=_megabytes("CRM_SESSION_CACHE_MB", 512) << 20, pool=worker())


def prepare_enabled() -> bool:
    """Whether choosing data starts its heavy analyses in the background (``CRM_PREPARE``, default on;
    the test suite turns it off where a test does not need it, so tests do not compute for each other)."""
    return os.environ.get("CRM_PREPARE", "1") not in ("0", "false", "no")


def _where() -> tuple[Artefacts, Path | None]:
    """Which artefacts the data in use goes to, and the saved dataset's folder (None: not saved)."""
    inside = getattr(_within, "where", None)
    if inside is not None:
        return inside
    if not st.session_state.get(SHARED_FLAG, True):
        return session_artefacts(), None
    dataset_id = st.session_state.get("dataset_id")
    folder = Path(os.environ.get("CRM_DATA_DIR", "data")) / dataset_id if dataset_id else None
    return shared_artefacts(), folder


def page_wait() -> float:
    """Seconds a page waits for an analysis before it shows what is ready and its progress instead
    (``CRM_PAGE_WAIT``, default 1)."""
    try:
        return max(0.0, float(os.environ.get("CRM_PAGE_WAIT", "1")))
    except ValueError:
        return 1.0


class Stored:
    """A core function whose results are artefacts (see :func:`stored`)."""

    def __init__(self, function: Callable[..., Any], keep: bool = True) -> None:
        self.function = function
        self.keep = keep
        self.name = f"{function.__module__}.{function.__qualname__}"
        update_wrapper(self, function)

    def _key(self, dataset: Dataset, args: tuple, kwargs: dict) -> Key:
        return Key(self.name, dataset.fingerprint, (*args, *sorted(kwargs.items())))

    def _compute(self, where: tuple[Artefacts, Path | None], dataset: Dataset, args: tuple,
                 kwargs: dict) -> Callable[[], Any]:
        def compute() -> Any:
            before = getattr(_within, "where", None)
            _within.where = where
            try:
                return self.function(dataset, *args, **kwargs)
            finally:
                _within.where = before
        return compute

    def _where(self) -> tuple[Artefacts, Path | None]:
        artefacts, folder = _where()
        return artefacts, folder if self.keep else None

    def __call__(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Any:
        """The value; computed here (or waited for) when it is not ready."""
        where = _where()  # (what it reads in turn may be kept even when this result is not)
        artefacts, folder = self._where()
        return artefacts.get(self._key(dataset, args, kwargs), self._compute(where, dataset, args, kwargs), folder)

    def start(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Status:
        """Make sure the value is ready or being computed by the background worker; never waits."""
        where = _where()
        artefacts, folder = self._where()
        return artefacts.start(self._key(dataset, args, kwargs), self._compute(where, dataset, args, kwargs), folder)

    def ready(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Any:
        """The value if it is ready within :func:`page_wait` seconds, else :data:`crm_core.artefacts.MISSING`
        (it goes on in the background worker). A failed background computation is raised here (the page's
        boundary shows it)."""
        artefacts, folder = self._where()
        key = self._key(dataset, args, kwargs)
        value = artefacts.peek(key, folder)
        if value is not MISSING:
            return value
        status = self.start(dataset, *args, **kwargs)
        if status.state == "failed":
            error = artefacts.error(key)
            if error is not None:
                raise error
        return artefacts.wait(key, folder, page_wait())

    def status(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Status:
        artefacts, folder = self._where()
        return artefacts.status(self._key(dataset, args, kwargs), folder)


def stored(function: Callable[..., Any] | None = None, *, keep: bool = True) -> Any:
    """Wrap a core function whose first argument is a :class:`Dataset` (the rest: values with a stable
    ``repr``) so its results are artefacts: calling it returns the value (computed once, wherever it is
    asked for); ``.ready(…)`` returns it or MISSING without waiting; ``.status(…)`` says where it stands.

    ``keep=False``: in memory only, never written beside the dataset (results of what a reader types, such
    as a search, which would fill the disk and are quick to make again from a kept artefact)."""
    if function is None:
        return lambda inner: Stored(inner, keep=keep)
    return Stored(function, keep=keep)


class Narrowed:
    """A per-customer analysis of a dataset that may be a view (``Dataset.view_of``): for a view, the whole
    data's stored result narrowed to the view's customers (``narrow(result, view)``, kept in memory
    only); otherwise the dataset's own stored result. A region, channel or category filter then costs a
    selection, not a new model. Same interface as :class:`Stored`."""

    def __init__(self, whole: Stored, narrow: Callable[[Any, Dataset], Any]) -> None:
        self.whole = whole
        self.narrow = narrow
        self.name = whole.name
        self.part = Stored(self._narrowed, keep=False)
        self.part.name = whole.name + ".among"
        update_wrapper(self, whole.function)

    def _narrowed(self, view: Dataset, *args: Any, **kwargs: Any) -> Any:
        assert view.view_of is not None
        return self.narrow(self.whole(view.view_of, *args, **kwargs), view)

    def __call__(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Any:
        if dataset.view_of is None:
            return self.whole(dataset, *args, **kwargs)
        return self.part(dataset, *args, **kwargs)

    def start(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Status:
        return self.whole.start(dataset.view_of or dataset, *args, **kwargs)

    def ready(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Any:
        found = self.whole.ready(dataset.view_of or dataset, *args, **kwargs)
        if found is MISSING or dataset.view_of is None:
            return found
        return self.part(dataset, *args, **kwargs)  # a selection from what is ready: quick

    def status(self, dataset: Dataset, *args: Any, **kwargs: Any) -> Status:
        return self.whole.status(dataset.view_of or dataset, *args, **kwargs)


def narrowed(narrow: Callable[[Any, Dataset], Any]) -> Callable[[Callable[..., Any]], Narrowed]:
    """``@narrowed(narrow)`` over a function: :class:`Narrowed` of its stored results."""
    return lambda function: Narrowed(Stored(function), narrow)


def _resource(function_name: str, fingerprint: str, _dataset: Dataset, _function: Callable, args: tuple,
              kwargs: dict) -> Any:
    return _function(_dataset, *args, **kwargs)


_global_resource = st.cache_resource(max_entries=16, show_spinner=False)(_resource)
_session_resource = st.cache_resource(max_entries=8, show_spinner=False, scope="session")(_resource)


def cached_dataset(function: F) -> F:
    """Like :func:`cached` for functions returning a Dataset (immutable: shared, not copied per call)."""
    name = f"{function.__module__}.{function.__qualname__}"

    @wraps(function)
    def call(dataset: Dataset, *args: Any, **kwargs: Any) -> Any:
        runner = _global_resource if st.session_state.get(SHARED_FLAG, True) else _session_resource
        return runner(name, dataset.fingerprint, dataset, function, args, kwargs)

    return call  # type: ignore[return-value]
