"""Widgets whose value lives in the share link (see ``ui.state``) and download buttons.

Each function claims its key (URL → session state, validated), draws the Streamlit widget with that key
and keeps its value across page switches. Pass ``container=st.sidebar`` to draw in the sidebar.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from crm_core.export import mask_contacts, money_headers, to_csv_bytes, to_excel_bytes
from ui import data, state
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


def _frozen_labels(options: Sequence[Any], format_func: Callable[[Any], str]) -> Callable[[Any], str]:
    """Labels computed now, in this run's language: Streamlit may call ``format_func`` later, outside
    the run (AppTest does), where the session's language is no longer known."""
    labels = {option: format_func(option) for option in options}
    return lambda option: labels.get(option, str(option))


def selectbox(label: str, options: Sequence[Any], key: str, default: Any = None, *, container: Any = st,
              format_func: Callable[[Any], str] = str, help: str | None = None, always: bool = False) -> Any:
    options = list(options)
    default = options[0] if default is None and options else default
    state.claim(key, default, _codec_for(default), valid=lambda v: v in options, always=always)
    value = container.selectbox(label, options, key=key, format_func=_frozen_labels(options, format_func), help=help)
    state.keep(key)
    return value


def radio(label: str, options: Sequence[Any], key: str, default: Any = None, *, container: Any = st,
          format_func: Callable[[Any], str] = str, help: str | None = None, horizontal: bool = True) -> Any:
    options = list(options)
    default = options[0] if default is None else default
    state.claim(key, default, _codec_for(default), valid=lambda v: v in options)
    value = container.radio(label, options, key=key, format_func=_frozen_labels(options, format_func), help=help,
                            horizontal=horizontal)
    state.keep(key)
    return value


def multiselect(label: str, options: Sequence[str], key: str, *, container: Any = st,
                format_func: Callable[[Any], str] = str, help: str | None = None, placeholder: str | None = None) -> list[str]:
    options = list(options)
    allowed = set(options)
    state.claim(key, [], state.TEXTS, valid=lambda v: all(x in allowed for x in v),
                fix=lambda v: [x for x in v if x in allowed])
    value = container.multiselect(label, options, key=key, format_func=_frozen_labels(options, format_func), help=help,
                                  placeholder=placeholder or t("app.widget.all"))
    state.keep(key)
    return value


def slider(label: str, min_value: Any, max_value: Any, key: str, default: Any, *, step: Any = None,
           container: Any = st, help: str | None = None, format: str | None = None) -> Any:
    if isinstance(default, tuple):
        valid = lambda v: isinstance(v, tuple) and len(v) == 2 and min_value <= v[0] <= v[1] <= max_value  # noqa: E731
        codec = state.Codec(lambda raw: tuple(type(min_value)(x) for x in state._as_list(raw)), lambda v: [str(x) for x in v])
    else:
        valid = lambda v: min_value <= v <= max_value  # noqa: E731
        codec = _codec_for(default)
    state.claim(key, default, codec, valid=valid)
    value = container.slider(label, min_value, max_value, key=key, step=step, help=help, format=format)
    state.keep(key)
    return value


def number_input(label: str, min_value: Any, max_value: Any, key: str, default: Any, *, step: Any = None,
                 container: Any = st, help: str | None = None, format: str | None = None) -> Any:
    state.claim(key, default, _codec_for(default), valid=lambda v: min_value <= v <= max_value)
    value = container.number_input(label, min_value=min_value, max_value=max_value, key=key, step=step, help=help, format=format)
    state.keep(key)
    return value


def checkbox(label: str, key: str, default: bool = False, *, container: Any = st, help: str | None = None, toggle: bool = False) -> bool:
    state.claim(key, default, state.BOOL)
    draw = container.toggle if toggle else container.checkbox
    value = draw(label, key=key, help=help)
    state.keep(key)
    return value


def text_input(label: str, key: str, default: str = "", *, container: Any = st, help: str | None = None,
               placeholder: str | None = None) -> str:
    state.claim(key, default, state.TEXT)
    value = container.text_input(label, key=key, help=help, placeholder=placeholder)
    state.keep(key)
    return value


def date_input(label: str, key: str, default: date, lowest: date, highest: date, *, container: Any = st,
               help: str | None = None, follow_default: bool = False) -> date:
    """A day picker; with ``follow_default`` an untouched value moves when ``default`` moves."""
    if follow_default:
        state.follow_default(key, default)
    state.claim(key, default, state.DATE, valid=lambda v: isinstance(v, date) and lowest <= v <= highest)
    value = container.date_input(label, key=key, min_value=lowest, max_value=highest, help=help,
                                 format="YYYY/MM/DD" if state.lang() == "zh" else "YYYY-MM-DD")
    state.keep(key)
    return value


def date_range(label: str, key: str, lowest: date, highest: date, *, container: Any = st, help: str | None = None) -> tuple[date, date]:
    """A from–to picker; while the user has picked only the first day, the range runs to ``highest``."""
    default = (lowest, highest)
    state.claim(key, default, state.DATE_RANGE,
                valid=lambda v: isinstance(v, tuple) and 1 <= len(v) <= 2 and all(lowest <= d <= highest for d in v) and v[0] <= v[-1])
    value = container.date_input(label, key=key, min_value=lowest, max_value=highest, help=help,
                                 format="YYYY/MM/DD" if state.lang() == "zh" else "YYYY-MM-DD")
    state.keep(key)
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
    the translated label). Returns ``{name: tab container}`` in the order of ``names``."""
    names = list(names)
    labels = {name: format_func(name) for name in names}
    widget = f"_tabs.{key}"
    kept = st.session_state.get(state.KEEP + key)
    if kept not in names:
        raw = state.url_value(key)
        kept = names[0]
        if raw is not None:
            value = raw[-1] if isinstance(raw, list) else raw
            if value in names:
                kept = value
            else:
                state.notice("app.notice.bad_param", name=key, value=value)
            state.forget_url_value(key)
    shown = st.session_state.get(widget)
    by_label = {label: name for name, label in labels.items()}
    chosen = by_label.get(shown, kept) if shown is not None else kept
    state.link_value(key, chosen, default=names[0])
    containers = st.tabs([labels[name] for name in names], key=widget, default=labels[chosen], on_change="rerun")
    return dict(zip(names, containers))
