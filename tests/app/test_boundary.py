"""A bug in one part of a page is explained there, in the page's language, with a reference the server log
also has; the rest of the page, the sidebar and the other pages keep working.

The bug is injected (a view function made to raise): the point is what the reader sees when code nobody
has found broken yet breaks on someone's data.
"""
from __future__ import annotations

import logging
import re

import pytest

from tests.app.helpers import app, assert_healthy, metric

NOTICE = {"en": "could not be shown because of an unexpected error", "zh": "发生意外错误"}


def broken(*args, **kwargs):
    raise ZeroDivisionError("injected for the test")


def references(at) -> list[str]:
    return [m.group(1) for e in at.error for m in [re.search(r"(?:reference|编号) ([0-9a-f]{8})", e.value)] if m]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_bug_in_the_model_tab_leaves_the_call_list_working(monkeypatch, caplog, language):
    monkeypatch.setattr("ui.sections.churn.model_card", broken)
    caplog.set_level(logging.ERROR, logger="crm.pages")
    at = app(query={"lang": language}, page="churn")
    assert_healthy(at)                                   # no Streamlit exception box
    assert any(NOTICE[language] in e.value for e in at.error), [e.value for e in at.error]
    assert at.dataframe, "the call list (another tab) is still drawn"
    [reference] = references(at)
    assert f"[ref {reference}]" in caplog.text and "ZeroDivisionError: injected for the test" in caplog.text


def test_a_bug_at_the_top_of_a_page_keeps_the_frame_and_the_other_pages(monkeypatch, caplog):
    monkeypatch.setattr("ui.views.overview.kpis", broken)
    caplog.set_level(logging.ERROR, logger="crm.pages")
    at = app(page="overview")
    assert_healthy(at)
    assert any(NOTICE["en"] in e.value for e in at.error)
    assert at.sidebar.date_input and at.sidebar.selectbox     # the filters and the language picker
    assert "page overview" in caplog.text
    monkeypatch.undo()
    at.switch_page("pages/segments.py").run()
    assert_healthy(at) and not at.error
    at.switch_page("pages/overview.py").run()
    assert metric(at, "Customers")                            # fixed: the page is back
