"""Widgets whose value lives in the share link (see ``ui.state``) and download buttons.

Each function claims its key (URL → session state, validated), draws the Streamlit widget with that key
and keeps its value across page switches. Pass ``container=st.sidebar`` to draw in the sidebar.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from crm_core.export import mask_contacts, money_headers, to_csv_bytes, to_excel_bytes
from ui import data, state
from ui.boundary import Guarded
from ui.cache import SHARED_FLAG
from ui.state import t


def _codec_for(default: Any) -> state.Codec:
    if isinstance(default, bool):
        return state.BOOL
    if isinstance(default, int):
        return state.INT
    if isinstance(default, float):
        return state.FLOAT
    if isinstance(default, date):
        return state.DATE
    if isinstance(default, tuple) and default and all(isinstance(d, date) for d in default):
        return state.DATE_RANGE
    if isinstance(default, (list, tuple)):
        return state.TEXTS
    return state.TEXT


_BIND = {"bind": "query-params", "persist_state": "session"}  # Streamlit keeps the value in the link
_KEPT = {"persist_state": "session"}  # ui.state links the value; Streamlit keeps it across page switches
_DATE_FORMAT = "YYYY-MM-DD"  # one format in both languages: a date widget whose format changes is a new widget


def frozen_labels(options: Sequence[Any], format_func: Callable[[Any], str]) -> Callable[[Any], str]:
    """Labels computed now, in this run's language: Streamlit may call ``format_func`` later, outside
    the run (AppTest does), where the session's language is no longer known."""
    labels = {option: format_func(option) for option in options}
    return lambda option: labels.get(option, str(option))


def _choice(key: str, options: list[Any], default: Any, format_func: Callable[[Any], str] | None,
            always: bool = False) -> dict[str, Any]:
    """Link a choice: bound by Streamlit when its labels are the values themselves (regions, channels),
    linked by value in ``ui.state`` when they are translated (see its docstring)."""
    codec = _codec_for(default)
    if format_func is None and not always:
        state.check_link(key, default, codec, valid=lambda v: v in options)
        return {"index": options.index(default) if default in options else 0, **_BIND}
    state.claim(key, default, codec, valid=lambda v: v in options, always=always)
    return dict(_KEPT)


def selectbox(label: str, options: Sequence[Any], key: str, default: Any = None, *, container: Any = st,
              format_func: Callable[[Any], str] | None = None, help: str | None = None, always: bool = False) -> Any:
    options = list(options)
    default = options[0] if default is None and options else default
    extra = _choice(key, options, default, format_func, always)
    return container.selectbox(label, options, key=key, format_func=frozen_labels(options, format_func or str),
                               help=help, **extra)


def radio(label: str, options: Sequence[Any], key: str, default: Any = None, *, container: Any = st,
          format_func: Callable[[Any], str] | None = None, help: str | None = None, horizontal: bool = True) -> Any:
    options = list(options)
    default = options[0] if default is None else default
    extra = _choice(key, options, default, format_func)
    return container.radio(label, options, key=key, format_func=frozen_labels(options, format_func or str),
                           help=help, horizontal=horizontal, **extra)


def multiselect(label: str, options: Sequence[str], key: str, *, container: Any = st,
                format_func: Callable[[Any], str] | None = None, help: str | None = None,
                placeholder: str | None = None, default: Sequence[str] = ()) -> list[str]:
    """A choice of several (empty = all). A ``default`` other than all needs ``format_func`` (linked by value)."""
    options = list(options)
    allowed = set(options)
    valid = lambda v: all(x in allowed for x in v)  # noqa: E731
    if default:
        chosen = [x for x in default if x in allowed]
        state.claim(key, chosen, state.CHOSEN, valid=valid, fix=lambda v: [x for x in v if x in allowed])
        extra = dict(_KEPT)
    elif format_func is None:
        state.check_link(key, [], state.TEXTS, valid=valid)
        if not valid(st.session_state.get(key, [])):  # the data changed under a kept choice
            st.session_state[key] = [x for x in st.session_state[key] if x in allowed]
        extra = dict(_BIND)
    else:
        state.claim(key, [], state.TEXTS, valid=valid, fix=lambda v: [x for x in v if x in allowed])
        extra = dict(_KEPT)
    return container.multiselect(label, options, key=key, format_func=frozen_labels(options, format_func or str),
                                 help=help, placeholder=placeholder or t("app.widget.all"), **extra)


def slider(label: str, min_value: Any, max_value: Any, key: str, default: Any, *, step: Any = None,
           container: Any = st, help: str | None = None, format: str | None = None) -> Any:
    if isinstance(default, tuple):
        valid = lambda v: isinstance(v, tuple) and len(v) == 2 and min_value <= v[0] <= v[1] <= max_value  # noqa: E731
        codec = state.Codec(lambda raw: tuple(type(min_value)(x) for x in state._as_list(raw)),
                            lambda v: [str(x) for x in v])
    else:
        valid = lambda v: min_value <= v <= max_value  # noqa: E731
        codec = _codec_for(default)
    state.check_link(key, default, codec, valid=valid)
    return container.slider(label, min_value, max_value, value=default, key=key, step=step, help=help, format=format,
                            **_BIND)


def number_input(label: str, min_value: Any, max_value: Any, key: str, default: Any, *, step: Any = None,
                 container: Any = st, help: str | None = None, format: str | None = None) -> Any:
    state.check_link(key, default, _codec_for(default), valid=lambda v: min_value <= v <= max_value)
    return container.number_input(label, min_value=min_value, max_value=max_value, value=default, key=key, step=step,
                                  help=help, format=format, **_BIND)


def checkbox(label: str, key: str, default: bool = False, *, container: Any = st, help: str | None = None,
             toggle: bool = False) -> bool:
    state.check_link(key, default, state.BOOL)
    draw = container.toggle if toggle else container.checkbox
    return draw(label, value=default, key=key, help=help, **_BIND)


def text_input(label: str, key: str, default: str = "", *, container: Any = st, help: str | None = None,
               placeholder: str | None = None) -> str:
    state.check_link(key, default, state.TEXT)
    return container.text_input(label, value=default, key=key, help=help, placeholder=placeholder, **_BIND)


def date_input(label: str, key: str, default: date, lowest: date, highest: date, *, container: Any = st,
               help: str | None = None, follow_default: bool = False) -> date:
    """A day picker; with ``follow_default`` an untouched value moves when ``default`` moves."""
    valid = lambda v: isinstance(v, date) and lowest <= v <= highest  # noqa: E731
    state.check_link(key, default, state.DATE, valid=valid)
    if follow_default:
        state.follow_default(key, default)
    if key in st.session_state and not valid(st.session_state[key]):  # the data changed under a kept date
        st.session_state[key] = default
    return container.date_input(label, value=default, key=key, min_value=lowest, max_value=highest, help=help,
                                format=_DATE_FORMAT, **_BIND)


def date_range(label: str, key: str, lowest: date, highest: date, *, container: Any = st,
               help: str | None = None) -> tuple[date, date]:
    """A from–to picker; while the user has picked only the first day, the range runs to ``highest``."""
    default = (lowest, highest)
    valid = lambda v: (isinstance(v, tuple) and 1 <= len(v) <= 2 and all(lowest <= d <= highest for d in v)  # noqa: E731
                       and v[0] <= v[-1])
    state.check_link(key, default, state.DATE_RANGE, valid=valid)
    if key in st.session_state and not valid(tuple(st.session_state[key])):
        st.session_state[key] = default
    value = container.date_input(label, value=default, key=key, min_value=lowest, max_value=highest, help=help,
                                 format=_DATE_FORMAT, **_BIND)
    if isinstance(value, (list, tuple)):
        if len(value) == 2:
            return value[0], value[1]
        if len(value) == 1:
            return value[0], highest
    return lowest, highest


def downloads(frame: pl.DataFrame, basename: str, key: str, *, container: Any = st,
              money: Sequence[str] = ()) -> None:
    """CSV (UTF-8 with BOM) and Excel buttons for ``frame``: formula-safe, phone and email masked.

    The ``money`` columns carry the data's currency in their header (``Revenue (TWD)``): the amounts stay
    plain numbers a spreadsheet can sum, and the unit travels with the file when it is forwarded.
    The files are built only when a button is clicked.
    """
    safe = money_headers(mask_contacts(frame), money, data.currency())
    left, right = container.columns(2)
    left.download_button(t("app.download.csv"), data=lambda: to_csv_bytes(safe), file_name=f"{basename}.csv",
                         mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:")
    right.download_button(t("app.download.excel"), data=lambda: to_excel_bytes(safe), file_name=f"{basename}.xlsx",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                          key=f"{key}_xlsx", on_click="ignore", icon=":material/table_view:")


_URL_UNSAFE = ("%", "&", "#", "+", "?", " ")  # "%" first: the others are replaced by escapes that contain it


def customer_links(frame: pl.DataFrame, id_column: str, config: dict | None = None) -> tuple[pl.DataFrame, dict]:
    """Make ``id_column`` of a customer list open that customer on the Customer 360 page.

    Returns the frame and ``config`` with a link column for it, carrying the current view's link (language,
    dataset, filters) plus ``customer=<id>``. A link opens a new tab, which finds the data again only for
    the sample or a saved dataset: for unsaved uploads the ids stay plain text.
    """
    config = dict(config or {})
    if not st.session_state.get(SHARED_FLAG, True) or id_column not in frame.columns:
        return frame, config
    params = state.current_link_params(frame_only=True)
    prefix = "./customer_360?" + urlencode(params, doseq=True) + ("&" if params else "") + "customer="
    escaped = pl.col(id_column).cast(pl.String)
    for character in _URL_UNSAFE:
        escaped = escaped.str.replace_all(character, f"%{ord(character):02X}", literal=True)
    linked = frame.with_columns((pl.lit(prefix) + escaped).alias(id_column))
    config[id_column] = st.column_config.LinkColumn(display_text=r"customer=([^&]+)$", pinned=True,
                                                    help=t("app.link.customer"))
    return linked, config



def tabs(key: str, names: Sequence[str], format_func: Callable[[str], str]) -> dict[str, Any]:
    """``st.tabs`` whose open tab travels in the link as ``key=<name>`` (a language-independent name, not
    the translated label Streamlit's binding would write). Returns ``{name: tab container}``; each tab is
    an error boundary (:class:`ui.boundary.Guarded`)."""
    names = list(names)
    labels = {name: format_func(name) for name in names}
    widget = f"_tabs.{key}"
    opened = state.claim(key, names[0], state.TEXT, valid=lambda v: v in names)
    shown = st.session_state.get(widget)
    by_label = {label: name for name, label in labels.items()}
    if shown in by_label:
        opened = st.session_state[key] = by_label[shown]
    containers = st.tabs([labels[name] for name in names], key=widget, default=labels[opened], on_change="rerun")
    return {name: Guarded(container, f"{key}={name}") for name, container in zip(names, containers)}
