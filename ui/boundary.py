"""Error boundaries: an unexpected exception in one part of a page is logged and explained, and the rest
of the page goes on.

Without them a bug anywhere showed Streamlit's generic English error in place of the whole page (in
Chinese too) and the traceback went nowhere a deployer looks. Every tab of :func:`ui.widgets.tabs` is a
boundary (a bug in the model tab leaves the call list working), and ``app.py`` runs each page inside one
(the sidebar, the language picker and the share link keep working). What the reader sees is translated
and names a short reference; the server log has the traceback under the same reference.

Streamlit's own control flow (``st.stop``, ``st.rerun``) is a ``BaseException`` and passes through.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import streamlit as st
from streamlit.errors import FragmentHandledException

from ui.state import t

LOG = logging.getLogger("crm.pages")
if not LOG.handlers:  # to the server's stderr, beside Streamlit's own log, unless a deployer configured it
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(_handler)


def report(part: str, error: Exception) -> str:
    """Log ``error`` with its traceback and show the translated notice here; returns the reference."""
    reference = secrets.token_hex(4)
    LOG.error("unexpected error in %s [ref %s]", part, reference, exc_info=error)
    st.error(t("app.error.unexpected", ref=reference), icon=":material/error:")
    return reference


@contextmanager
def guard(part: str) -> Iterator[None]:
    """``with guard("churn page"):`` — an unexpected exception inside is reported (:func:`report`) and
    the code after the block runs."""
    try:
        yield
    except FragmentHandledException:  # Streamlit's fragment control flow, not an error of ours
        raise
    except Exception as error:
        report(part, error)


class Guarded:
    """A container (a tab) that is also a boundary: ``with tabs["model"]:`` reports a bug inside the tab,
    in the tab, and the page goes on with the next one. Anything else is the container's."""

    def __init__(self, container: Any, part: str) -> None:
        self._container, self._part = container, part

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)

    def __enter__(self) -> Any:
        return self._container.__enter__()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        if isinstance(error, Exception) and not isinstance(error, FragmentHandledException):
            report(self._part, error)  # (still inside the tab)
            self._container.__exit__(None, None, None)
            return True
        return bool(self._container.__exit__(kind, error, traceback))
