"""The session's dataset: the sample, an upload, or a saved dataset opened from a link.

Session state keys (all written here):
- ``dataset``: the :class:`Dataset` in use (absent: the sample);
- ``dataset_id``: the saved id when the data came from, or was saved to, the data directory;
- ``dataset_label``: what the sidebar calls it;
- ``dataset_shared``: False for an unsaved upload (its derived results are cached per session).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from crm_core import store
from crm_core.dataset import Dataset, load_sample
from ui import state
from ui.state import t


def data_dir() -> Path:
    return Path(os.environ.get("CRM_DATA_DIR", "data"))


@st.cache_resource(show_spinner=False)
def sample() -> Dataset:
    """The built-in sample, read once per server process and shared (it is immutable)."""
    return load_sample()


@st.cache_resource(max_entries=8, show_spinner=False)
def _saved(directory: str, dataset_id: str) -> Dataset:
    dataset, _ = store.load(directory, dataset_id)
    return dataset


def open_saved(dataset_id: str) -> None:
    """Make a saved dataset the session's; raises :class:`store.StoreError`."""
    meta = store.read_meta(data_dir(), dataset_id)
    dataset = _saved(str(data_dir()), dataset_id)
    _use(dataset, meta.get("name") or dataset_id, dataset_id=dataset_id, shared=True)


def use_upload(dataset: Dataset, label: str) -> None:
    _use(dataset, label, dataset_id=None, shared=False)


def use_sample() -> None:
    for key in ("dataset", "dataset_id", "dataset_label"):
        st.session_state.pop(key, None)
    st.session_state["dataset_shared"] = True
    _reset_data_controls()


def _use(dataset: Dataset, label: str, dataset_id: str | None, shared: bool) -> None:
    st.session_state["dataset"] = dataset
    st.session_state["dataset_label"] = label
    st.session_state["dataset_shared"] = shared
    if dataset_id:
        st.session_state["dataset_id"] = dataset_id
    else:
        st.session_state.pop("dataset_id", None)
    _reset_data_controls()


def _reset_data_controls() -> None:
    """Filters that referred to the old data start afresh for the new one."""
    for key in ("dates", "asof", "region", "channel", "category"):
        st.session_state.pop(key, None)
        st.session_state.pop(f"_keep.{key}", None)
        state.forget_url_value(key)


def save_current(name: str, created: Any, extra: dict[str, Any] | None = None) -> str:
    dataset = current()
    dataset_id = store.save(dataset, data_dir(), name, created=created, extra=extra)
    st.session_state["dataset_id"] = dataset_id
    st.session_state["dataset_label"] = name
    st.session_state["dataset_shared"] = True
    return dataset_id


def resolve_link() -> None:
    """On a session's first run, open the dataset the link names (``ds=``); a bad id → notice + sample."""
    if st.session_state.get("_ds_resolved"):
        return
    st.session_state["_ds_resolved"] = True
    dataset_id = state.url_value("ds")
    if not dataset_id:
        return
    if isinstance(dataset_id, list):
        dataset_id = dataset_id[-1]
    try:
        open_saved(dataset_id)
    except store.StoreError as error:
        state.notice(error.key, **error.params)
        state.forget_url_value("ds")


def current() -> Dataset:
    dataset = st.session_state.get("dataset")
    return dataset if dataset is not None else sample()


def label() -> str:
    return st.session_state.get("dataset_label") or t("app.dataset.sample")


def link_dataset() -> None:
    """Put the saved dataset's id into the share link (an unsaved upload cannot travel in a link)."""
    dataset_id = st.session_state.get("dataset_id")
    if dataset_id:
        state.link_value("ds", dataset_id)
