"""AppTest helpers: run the real app.py, switch pages, read what a user would read."""
from __future__ import annotations

import os
import re
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 120

# AppTest starts every run in Streamlit's old ``pages/``-folder mode (it resets the flag that
# st.navigation clears), so each run after switch_page would first run the page file bare; ui.shell.framed
# then reruns through app.py, which works but drops a button click that triggered the run. A real server
# leaves that mode for good at the first st.navigation call. Tests run like the server unless
# ``LEGACY_PAGES["on"]`` is set (the test of framed() does that).
LEGACY_PAGES = {"on": False}
_original_init = PagesManager.__init__


def _init_like_a_running_server(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    if not LEGACY_PAGES["on"]:
        PagesManager.uses_pages_directory = False


PagesManager.__init__ = _init_like_a_running_server


def fresh_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


def app(query: dict | None = None, locale: str = "en-US", page: str | None = None, clear: bool = True,
        dataset=None, session: dict | None = None, user: dict | None = None) -> AppTest:
    """The app after its first run (optionally opened with ``query`` parameters and on ``page``). With
    ``dataset``, on that data as an unsaved upload (what "Use this data" on the Data page leaves in the session).
    ``session`` seeds session state (an owner token, the administrator flag); ``user`` is ``st.user``."""
    if clear or dataset is not None:
        fresh_caches()
    os.chdir(ROOT)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.context = {"locale": locale}
    if dataset is not None:
        at.session_state["dataset"] = dataset
        at.session_state["dataset_label"] = dataset.name or "upload"
        at.session_state["dataset_shared"] = False
    for key, value in (session or {}).items():
        at.session_state[key] = value
    if user is not None:
        at.user = user
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page:  # opened on the page's own address, as a shared link opens it
        at.switch_page(f"pages/{page}.py")
    at.run()
    return at


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>$&=^\"'])")


def shown(source: str) -> str:
    """Markdown source as the reader sees its text: backslash escapes and zero-width spaces of
    :func:`ui.text.plain` undone (so tests compare what is on screen, not how it was escaped)."""
    return _ESCAPED.sub(r"\1", source).replace("\u200b", "")


def texts(at: AppTest) -> str:
    """Everything readable on the page (markdown, captions, metrics, alerts, titles), as the reader sees it."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [shown(str(element.value)) for element in getattr(at, kind)]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(parts)


def assert_healthy(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in at.metric]}")


# A tiny export as a Chinese CRM writes it (GBK, Chinese headers, slash dates, only the required columns):
# three customers, one of them back once. Too little for any model; pages must say so and still work.
TINY_ORDERS = (
    "客户编号,下单时间,金额\n"
    "K001,2024/1/5,1200\n"
    "K001,2024/3/9,300\n"
    "K002,2024/1/20,500\n"
    "K003,2024/3/15,800\n"
).encode("gbk")


def app_with(dataset, query: dict | None = None, locale: str = "en-US", page: str | None = None) -> AppTest:
    """The app on ``dataset`` as an unsaved upload (see :func:`app`)."""
    return app(query=query, locale=locale, page=page, dataset=dataset)
