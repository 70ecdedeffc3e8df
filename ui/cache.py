"""Cached calls into the core, keyed on the dataset's content fingerprint plus the parameters.

Streamlit never hashes a frame or a Dataset here: large frames are hashed from a sample (platform notes
§1.3), so two uploads of the same shape could share an entry. The dataset travels as an unhashed
``_dataset`` argument beside its fingerprint. Results derived from an unsaved upload are cached with
``scope="session"`` (freed when the tab closes); the sample and saved datasets share a global cache.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import streamlit as st

from crm_core.dataset import Dataset

F = TypeVar("F", bound=Callable[..., Any])
SHARED_FLAG = "dataset_shared"


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
        runner = _global if st.session_state.get(SHARED_FLAG, True) else _session
        return runner(name, dataset.fingerprint, dataset, function, args, kwargs)

    return call  # type: ignore[return-value]


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
