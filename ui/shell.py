"""The frame around every page: access gate, language, dataset, global filters, share link.

``app.py`` calls :func:`gate`, :func:`sidebar` before running the page and :func:`finish` after it.
Pages read :func:`context` for the data they analyse.
"""
from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from math import ceil
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from crm_core.dataset import Dataset
from crm_core.filters import FilterSpec, apply_filters, date_bounds, dimension_values
from ui import data, owners, state, widgets
from ui.access import ACCESS_COOKIE, ACCESS_SECONDS, THROTTLE, access_token, cookie_script, secret, token_valid
from ui.cache import cached_dataset
from ui.i18n import LANGUAGES
from ui.state import t
from ui.text import plain, t_plain

_SHARE_BOX = "_share_link_box"  # the placeholder of the share link, filled by finish()
LANGUAGE_NAMES = {"en": "English", "zh": "简体中文"}


@dataclass(frozen=True)
class Context:
    """What every page analyses."""

    dataset: Dataset          # all filters applied (dates too)
    history: Dataset          # dimension filters only: every date, for "before" comparisons and as-of views
    spec: FilterSpec
    as_of: datetime           # analysis date (midnight; orders strictly before it count)
    start: date
    end: date
    currency: str | None = None  # ISO 4217 code of every amount (ui.data.currency); None: plain numbers


filtered = cached_dataset(apply_filters)


# ---------------------------------------------------------------- access

def _password() -> str | None:
    value = secret("CRM_PASSWORD")
    return str(value) if value else None


def gate() -> None:
    """Ask for the password when ``CRM_PASSWORD`` is set; stop the run until it is right.

    A browser that signed in within the last 12 hours (its ``crm_access`` cookie) comes in without asking;
    every run of a signed-in session keeps that cookie set, which also lets its downloads through
    :class:`ui.access.MediaGate`."""
    expected = _password()
    if not expected:
        return
    if not st.session_state.get("_authenticated"):
        if token_valid(owners.cookie(ACCESS_COOKIE), expected, time.time()):
            st.session_state["_authenticated"] = True
    if st.session_state.get("_authenticated"):
        token = str(st.session_state.get("_access_token"))
        if not token_valid(token, expected, time.time() + 3600):  # (renewed an hour before it ends)
            token = st.session_state["_access_token"] = access_token(expected, time.time())
        st.sidebar.html(cookie_script(ACCESS_COOKIE, token, ACCESS_SECONDS, same_site="Strict"),
                        unsafe_allow_javascript=True)
        return
    st.title(t("app.access.title"))
    with st.form("access"):
        given = st.text_input(t("app.access.password"), type="password")
        submitted = st.form_submit_button(t("app.access.enter"))
    if submitted:
        who = client()
        waiting = THROTTLE.wait(who)
        if waiting > 0:  # refused unread, the right password too: guessing gets slower, not luckier
            st.error(t("app.access.wait", seconds=ceil(waiting)))
        elif hmac.compare_digest(given.encode(), expected.encode()):
            THROTTLE.succeeded(who)
            st.session_state["_authenticated"] = True
            st.rerun()
        else:
            waiting = THROTTLE.failed(who)
            st.error(t("app.access.wrong") + (" " + t("app.access.wait", seconds=ceil(waiting)) if waiting else ""))
    st.stop()


def client() -> str:
    """Who is trying: the client's IP address as Streamlit sees it, else this browser session."""
    address = getattr(st.context, "ip_address", None)
    if isinstance(address, str) and address:  # (AppTest hands a mock here)
        return address
    return "session:" + st.session_state.setdefault("_client_token", secrets.token_hex(8))


def account() -> None:
    """Where ``st.login`` is configured (``[auth]`` in the secrets): sign in or out in the sidebar; the
    signed-in user owns what they save (ui.owners). Without it, nothing is drawn."""
    try:
        configured = "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file
        configured = False
    if not configured:
        return
    owner = owners.current()
    if owner.name:
        st.sidebar.caption(t_plain("app.account.signed_in", name=owner.name))
        st.sidebar.button(t("app.account.sign_out"), on_click=st.logout, key="account_sign_out")
    else:
        st.sidebar.button(t("app.account.sign_in"), on_click=st.login, key="account_sign_in")


# ---------------------------------------------------------------- sidebar

def language_picker() -> None:
    widgets.selectbox("Language · 语言", LANGUAGES, "lang", default=state.browser_language(),
                      container=st.sidebar, format_func=lambda code: LANGUAGE_NAMES.get(code, code), always=True)


def sidebar() -> Context:
    """Dataset line, filters and the analysis date; returns the page context."""
    data.resolve_link()
    data.link_dataset()
    dataset = data.current()
    data.start_fresh(dataset)
    side = st.sidebar
    side.caption(t_plain("app.sidebar.dataset", name=data.label()))

    first_day, last_day = date_bounds(dataset)
    start, end = widgets.date_range(t("app.filter.dates"), "dates", first_day, last_day, container=side,
                                    help=t("app.filter.dates_help"))
    chosen = {}
    for dimension in ("region", "channel", "category"):
        options = dimension_values(dataset, dimension)
        if options:
            chosen[dimension] = tuple(widgets.multiselect(t(f"app.filter.{dimension}"), options, dimension,
                                                          container=side))
    dimensions = FilterSpec(regions=chosen.get("region", ()), channels=chosen.get("channel", ()),
                            categories=chosen.get("category", ()))
    spec = FilterSpec(start=None if start == first_day else start, end=None if end == last_day else end,
                      regions=dimensions.regions, channels=dimensions.channels, categories=dimensions.categories)
    history = filtered(dataset, dimensions, True) if not dimensions.is_empty else dataset
    in_window = filtered(dataset, spec, True) if not spec.is_empty else dataset

    default_as_of = end + timedelta(days=1)
    as_of_day = widgets.date_input(t("app.filter.as_of"), "asof", default_as_of, first_day + timedelta(days=1),
                                   last_day + timedelta(days=1), container=side, help=t("app.filter.as_of_help"),
                                   follow_default=True)
    state.mark_frame()
    share_link(side)
    return Context(in_window, history, spec, datetime.combine(as_of_day, datetime.min.time()), start, end,
                   currency=data.currency())


def share_link(container) -> None:
    """The address that reproduces this view, with a copy button (st.code has one). The address itself is
    written by :func:`finish`, once the page has drawn (and linked) its own controls."""
    with container.expander(t("app.link.title"), icon=":material/link:"):
        st.caption(t("app.link.help"))
        st.session_state[_SHARE_BOX] = st.empty()
        if not st.session_state.get("dataset_id") and not st.session_state.get("dataset_shared", True):
            st.warning(t("app.link.unsaved"))


def link_url() -> str:
    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001 - AppTest has no URL
        url = ""
    parts = urlsplit(url) if url else None
    query = urlencode(state.current_link_params(), doseq=True)
    if parts is None or not parts.netloc:
        return f"/?{query}" if query else "/"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def show_notices() -> None:
    for key, params in state.pop_notices():
        # the value a link carried is anyone's text; ``name`` is the parameter, one of this app's own keys
        st.warning(t(key, **{k: v if k == "name" or not isinstance(v, str) else plain(v) for k, v in params.items()}),
                   icon=":material/info:")


def start() -> None:
    st.session_state["_in_frame"] = True


def finish() -> None:
    st.session_state["_in_frame"] = False
    box = st.session_state.pop(_SHARE_BOX, None)
    if box is not None:
        box.code(link_url(), language=None, wrap_lines=True)
    state.sync_url()


# ---------------------------------------------------------------- helpers for pages

def context() -> Context:
    """The page's context, set by app.py's frame before the page runs.

    The one shim for the ``pages/`` folder: a folder of that name beside the entry script puts Streamlit in
    its old multipage mode until some session calls ``st.navigation``. On a fresh server the first request
    for a page (``/churn?ds=…``, a shared link after a restart) runs ``pages/churn.py`` bare, without this
    frame. Leave that mode for the process and run again through app.py.
    """
    if not st.session_state.get("_in_frame"):
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()
    return st.session_state["_context"]


def require_orders(ctx: Context) -> None:
    """A friendly empty state (and stop) when the filters leave no orders."""
    if ctx.dataset.transactions.height == 0:
        st.info(t("app.empty.no_orders"), icon=":material/filter_alt_off:")
        st.stop()
