"""The session's dataset: the sample, an upload, or a saved dataset opened from a link.

Session state keys (all written here):
- ``dataset``: the :class:`Dataset` in use (absent: the sample);
- ``dataset_id``: the saved id when the data came from, or was saved to, the data directory;
- ``dataset_label``: what the sidebar calls it;
- ``dataset_shared``: False for an unsaved upload (its derived results are cached per session);
- ``dataset_owner``: the owner key stored with the saved dataset in use (ui.owners; None: none stored);
- ``_currency``: the currency the link (``cur=``) or :func:`set_currency` chose over the dataset's own.
"""
from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import streamlit as st

from crm_core import store
from crm_core.dataset import Dataset, load_sample
from crm_core.filters import date_bounds
from ui import owners, state
from ui.i18n import is_currency
from ui.state import t

_CURRENCY = "_currency"
_FRESH = "_fresh_data"  # the data changed: its filters start at the new data's defaults
DATA_CONTROLS = ("dates", "asof", "region", "channel", "category")


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


def open_saved(dataset_id: str, from_link: bool = False) -> None:
    """Make a saved dataset the session's; raises :class:`store.StoreError`. Opened ``from_link``, the
    link's filters apply to it; opened from the Data page, the filters start afresh."""
    meta = store.read_meta(data_dir(), dataset_id)
    dataset = _saved(str(data_dir()), dataset_id)
    _use(dataset, meta.get("name") or dataset_id, dataset_id=dataset_id, shared=True, reset=not from_link)
    st.session_state["dataset_owner"] = meta.get("owner")


def use_upload(dataset: Dataset, label: str) -> None:
    _use(dataset, label, dataset_id=None, shared=False)


def use_sample() -> None:
    for key in ("dataset", "dataset_id", "dataset_label", "dataset_owner", _CURRENCY):
        st.session_state.pop(key, None)
    st.session_state["dataset_shared"] = True
    _reset_data_controls()


def _use(dataset: Dataset, label: str, dataset_id: str | None, shared: bool, reset: bool = True) -> None:
    st.session_state["dataset"] = dataset
    st.session_state["dataset_label"] = label
    st.session_state["dataset_shared"] = shared
    st.session_state.pop(_CURRENCY, None)  # the new data's own currency (stored with it, or detected) applies
    st.session_state.pop("dataset_owner", None)
    if dataset_id:
        st.session_state["dataset_id"] = dataset_id
    else:
        st.session_state.pop("dataset_id", None)
    if reset:
        _reset_data_controls()


def _reset_data_controls() -> None:
    """Filters that referred to the old data start afresh for the new one, at the next run's start
    (:func:`start_fresh`): a control already drawn in this run cannot be changed."""
    st.session_state[_FRESH] = True
    for key in DATA_CONTROLS:
        state.forget_url_value(key)


def start_fresh(dataset: Dataset) -> None:
    """Before the sidebar draws: after the data changed, set its filters to the new data's defaults
    (removing a bound control's state would let Streamlit seed it again from the opening link)."""
    if not st.session_state.pop(_FRESH, False):
        return
    first_day, last_day = date_bounds(dataset)
    st.session_state["dates"] = (first_day, last_day)
    st.session_state["asof"] = last_day + timedelta(days=1)
    st.session_state.pop("_default.asof", None)
    for key in ("region", "channel", "category"):
        st.session_state[key] = []


def save_current(name: str, created: Any, extra: dict[str, Any] | None = None) -> str:
    """Save the data in use, owned by this session's owner (ui.owners)."""
    dataset = current()
    owner = owners.current()
    dataset_id = store.save(dataset, data_dir(), name, created=created, extra=extra, owner=owner.key,
                            owner_name=owner.name)
    st.session_state["dataset_id"] = dataset_id
    st.session_state["dataset_label"] = name
    st.session_state["dataset_shared"] = True
    st.session_state["dataset_owner"] = owner.key
    return dataset_id


def list_saved(now: Any) -> list[store.SavedInfo]:
    """The saved datasets this session may manage: its owner's own, or all for an administrator."""
    return store.list_saved(data_dir(), now=now, owner=owners.current().manages)


def owner_label(info: store.SavedInfo, owner: owners.Owner) -> str:
    """Who saved ``info``, for an administrator's list: you, an e-mail, another browser, or nobody known."""
    if info.owner == owner.key:
        return t("data.saved.owner_you")
    if info.owner_name:
        return info.owner_name
    return t("data.saved.owner_browser") if info.owner else t("data.saved.owner_none")


def owns_current() -> bool:
    """Whether this session may change the saved dataset in use (its owner, or an administrator)."""
    if not st.session_state.get("dataset_id"):
        return False
    owner = owners.current()
    return owner.admin or st.session_state.get("dataset_owner") == owner.key


def rename_saved(dataset_id: str, name: str) -> None:
    """Rename one of this session's saved datasets; :class:`store.StoreError` for another's."""
    store.rename(data_dir(), dataset_id, name, owner=owners.current().manages)
    if st.session_state.get("dataset_id") == dataset_id:
        st.session_state["dataset_label"] = name


def delete_saved(dataset_id: str) -> None:
    """Delete one of this session's saved datasets for good; :class:`store.StoreError` for another's."""
    store.delete(data_dir(), dataset_id, owner=owners.current().manages)
    _saved.clear()
    if st.session_state.get("dataset_id") == dataset_id:
        use_sample()


def resolve_link() -> None:
    """On a session's first run, open the dataset the link names (``ds=``); a bad id → notice + sample."""
    if st.session_state.get("_ds_resolved"):
        return
    st.session_state["_ds_resolved"] = True
    dataset_id = state.url_value("ds")
    if dataset_id:
        _open_linked(dataset_id)
    _resolve_currency()


def _open_linked(dataset_id: Any) -> None:
    if isinstance(dataset_id, list):
        dataset_id = dataset_id[-1]
    try:
        open_saved(dataset_id, from_link=True)
    except store.StoreError as error:
        state.notice(error.key, **error.params)
        state.forget_url_value("ds")


def _resolve_currency() -> None:
    """The link's ``cur=`` (after its dataset is open, which would reset it): an ISO 4217 code overrides
    the dataset's currency for this session; anything else is dropped with a notice."""
    raw = state.url_value("cur")
    if raw is None:
        return
    code = (raw[-1] if isinstance(raw, list) else raw).strip().upper()
    if is_currency(code):
        st.session_state[_CURRENCY] = code
    else:
        state.notice("app.notice.bad_param", name="cur", value=raw[-1] if isinstance(raw, list) else raw)
        state.forget_url_value("cur")


def currency() -> str | None:
    """The currency of every money figure, axis and export (ISO 4217 code): the link's ``cur=`` if valid,
    else the dataset's own (detected from the file, chosen on the Data page, stored with a saved dataset),
    else None (amounts are shown as plain numbers)."""
    chosen = st.session_state.get(_CURRENCY)
    if is_currency(chosen):
        return chosen
    own = current().currency
    return own if is_currency(own) else None


def set_currency(code: str | None) -> None:
    """Show this session's money in ``code`` (it travels in the share link); None: the dataset's own."""
    if is_currency(code):
        st.session_state[_CURRENCY] = code
    else:
        st.session_state.pop(_CURRENCY, None)


def change_currency(code: str | None) -> None:
    """The data in use is in ``code`` (None: unknown, plain numbers). A saved dataset keeps it for everyone
    who opens it when its owner changes it; anyone else's choice, like the sample's, goes into this
    session's link; an upload keeps it with the data in this session."""
    dataset = st.session_state.get("dataset")
    dataset_id = st.session_state.get("dataset_id")
    if dataset is None or (dataset_id and not owns_current()):
        set_currency(code)
        return
    if dataset_id:
        store.set_currency(data_dir(), dataset_id, code, owner=owners.current().manages)
        _saved.clear()  # the next open reads the new meta.json
    st.session_state["dataset"] = dataclasses.replace(dataset, currency=code)
    st.session_state.pop(_CURRENCY, None)


def current() -> Dataset:
    dataset = st.session_state.get("dataset")
    return dataset if dataset is not None else sample()


def label() -> str:
    return st.session_state.get("dataset_label") or t("app.dataset.sample")


def link_dataset() -> None:
    """Put the saved dataset's id into the share link (an unsaved upload cannot travel in a link), and the
    currency when it is not the dataset's own."""
    dataset_id = st.session_state.get("dataset_id")
    if dataset_id:
        state.link_value("ds", dataset_id)
    state.link_value("cur", currency(), default=current().currency)
