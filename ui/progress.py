"""A page whose analysis is still being computed: what is being done, for how long, and the page fills
itself in when it is done.

The heavy analyses (:func:`ui.cache.stored`) run in the background worker. A page asks for one with
``.ready(…)``; when it is not ready within a second, the page draws what it already has and then
:func:`wait_for`: a box naming each step with its state and time, refreshed every second by a fragment
(``st.fragment(run_every=…)``, Streamlit's way to poll without rerunning the page), which reruns the
whole page once every step is done. Nobody waits on a blank page, and leaving the page stops nothing:
the worker goes on, and the next page or colleague that needs the result finds it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ui.cache import Narrowed, Stored
from ui.i18n import format_number
from ui.state import lang, t

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Step:
    """One analysis a page waits for: what it is called (a translation key) and the call that makes it."""

    label: str
    stored: Stored | Narrowed
    args: tuple[Any, ...]


def _states(steps: Sequence[Step]) -> list[tuple[Step, str, float]]:
    return [(step, (status := step.stored.status(*step.args)).state, status.seconds) for step in steps]


def _line(step: Step, state: str, seconds: float) -> str:
    language = lang()
    if state == "ready":
        return ":material/check_circle: " + t(step.label) + " · " + t("app.progress.done")
    if state == "running":
        return (":material/progress_activity: " + t(step.label) + " · "
                + t("app.progress.running", seconds=format_number(round(seconds), language)))
    if state == "failed":
        return ":material/error: " + t(step.label) + " · " + t("app.progress.failed")
    return ":material/schedule: " + t(step.label) + " · " + t("app.progress.queued")


@st.fragment(run_every=POLL_SECONDS)
def _watch(steps: tuple[Step, ...]) -> None:
    states = _states(steps)
    if all(state == "ready" for _, state, _ in states) or any(state == "missing" for _, state, _ in states):
        st.rerun()  # everything is ready (or a step was dropped from memory): draw the page with it
    done = sum(state == "ready" for _, state, _ in states)
    st.progress(done / len(states), text=t("app.progress.steps", done=done, total=len(states)))
    for step, state, seconds in states:
        st.caption(_line(step, state, seconds))


def wait_for(steps: Sequence[Step], what: str) -> None:
    """Say what the page is waiting for (``what``: a translation key), show each step's progress, and stop
    the page here; it reruns by itself when every step is ready."""
    with st.container(border=True, key="progress_box"):
        st.markdown(":material/hourglass_top: " + t(what))
        st.caption(t("app.progress.help"))
        _watch(tuple(steps))
    st.stop()
