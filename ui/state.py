"""What a share link carries, and the few things about it Streamlit does not do itself.

Most controls are bound to the address by Streamlit (``bind="query-params"`` with
``persist_state="session"``, see ``ui.widgets``): the value is read from the link when the widget first
appears, written back when it changes, removed at its default, kept across page switches, and an invalid
value is dropped. This module adds what that binding does not do:

- **A notice for a dropped value.** The opening address is kept (:func:`begin_run`) so a value the
  control refused can be named in a translated notice instead of vanishing silently (:func:`check_link`).
- **Choices whose labels are translated** (a segment map, a horizon, the open tab) travel by their
  language-independent value. Streamlit puts a bound choice's *label* in the address: a link made in
  English then names options a Chinese session does not have, and the value is lost. Those controls,
  and values that are no widget (the dataset id, the currency, a chosen customer, edited segment rules),
  are linked here (:func:`claim`, :func:`link_value`) and written by :func:`sync_url`, which also puts them
  back after a page switch (navigation drops every parameter that is not bound).
- **A date that follows its moving default** (the analysis date tracks the end of the date range until
  the user sets it: :func:`follow_default`).
- **The language**, written into every link so a colleague's browser opens the same words.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate

_SNAPSHOT = "_url_snapshot"
_LINKED = "_linked_params"  # {key: (default, encode)} of the values this module links in this run
_BOUND = "_bound_params"  # {key: (default, encode)} of the controls Streamlit binds, drawn in this run
_OWN = "_own_params"  # every key this module has written to the address in this session
_CHECKED = "_checked_params"  # keys whose link value was checked (a notice is shown once)
_NOTICES = "_link_notices"
_FRAME = "_frame_params"  # the keys the shell's frame linked (see mark_frame)
_VALUES = "_link_values"  # values of link_value() entries that are no widget


# ---------------------------------------------------------------- codecs

@dataclass(frozen=True)
class Codec:
    """How one kind of value travels in a URL, as Streamlit's binding writes it: one string, or (lists and
    ranges) repeated keys."""

    decode: Callable[[Any], Any]
    encode: Callable[[Any], Any]


def _as_one(raw: Any) -> str:
    return raw[-1] if isinstance(raw, list) else raw


def _as_list(raw: Any) -> list[str]:
    return list(raw) if isinstance(raw, list) else [raw]


def _decode_bool(raw: Any) -> bool:
    text = _as_one(raw).lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(text)


TEXT = Codec(lambda raw: _as_one(raw), str)
INT = Codec(lambda raw: int(_as_one(raw)), str)
FLOAT = Codec(lambda raw: float(_as_one(raw)), lambda v: f"{v:g}")
BOOL = Codec(_decode_bool, lambda v: "true" if v else "false")
DATE = Codec(lambda raw: date.fromisoformat(_as_one(raw)), lambda v: v.isoformat())
TEXTS = Codec(lambda raw: [x for x in _as_list(raw) if x != ""], list)
# A choice of several whose default is not "all": an empty choice (everyone) travels as one empty value.
CHOSEN = Codec(TEXTS.decode, lambda v: list(v) or [""])
DATE_RANGE = Codec(lambda raw: tuple(date.fromisoformat(x) for x in _as_list(raw)),
                   lambda v: [d.isoformat() for d in v])


# ---------------------------------------------------------------- session start and run bookkeeping

def _read_url() -> dict[str, Any]:
    params = st.query_params
    return {key: (params.get_all(key) if len(params.get_all(key)) > 1 else params.get(key)) for key in params}


def begin_run() -> None:
    """Call first thing in every run of app.py."""
    if _SNAPSHOT not in st.session_state:
        st.session_state[_SNAPSHOT] = _read_url()
        st.session_state[_NOTICES] = []
        st.session_state[_CHECKED] = set()
    st.session_state[_LINKED] = {}
    st.session_state[_BOUND] = {}


def url_value(key: str) -> Any:
    """The raw value the session's opening URL carried for ``key`` (None if absent)."""
    return st.session_state.get(_SNAPSHOT, {}).get(key)


def forget_url_value(key: str) -> None:
    """Drop a link value that was refused (a bad dataset id) from the snapshot and the address."""
    st.session_state.get(_SNAPSHOT, {}).pop(key, None)
    if key in st.query_params:
        try:
            del st.query_params[key]
        except StreamlitAPIException:  # bound to a control: Streamlit's to keep or drop
            pass


def notice(key: str, **params: Any) -> None:
    """Queue a translated notice (for example an invalid link value) to show once."""
    st.session_state.setdefault(_NOTICES, []).append((key, params))


def pop_notices() -> list[tuple[str, dict[str, Any]]]:
    notices = st.session_state.get(_NOTICES, [])
    st.session_state[_NOTICES] = []
    return notices


_MISSING = object()


def _from_link(key: str, codec: Codec, valid: Callable[[Any], bool] | None) -> Any:
    """The opening link's value for ``key``, decoded and checked; ``_MISSING`` when absent or refused
    (refused: with a notice naming the parameter and its value)."""
    raw = url_value(key)
    if raw is None:
        return _MISSING
    try:
        value = codec.decode(raw)
        if valid is None or valid(value):
            return value
        if isinstance(value, list) and isinstance(raw, list) and len(raw) == len(value):
            kept = [item for item in value if valid([item])]
            if kept:  # some of several values are good: keep them, name the others (Streamlit keeps them too)
                refused = [str(item) for item in value if not valid([item])]
                notice("app.notice.bad_values", name=key, values=_cut("、".join(refused)))
                return kept
    except (ValueError, TypeError):
        pass
    notice("app.notice.bad_param", name=key, value=_cut(" · ".join(_as_list(raw)) if raw else ""))
    forget_url_value(key)
    return _MISSING


def _cut(text: str, most: int = 80) -> str:
    return text if len(text) <= most else text[:most] + "…"


# ---------------------------------------------------------------- controls Streamlit binds

def check_link(key: str, default: Any, codec: Codec, valid: Callable[[Any], bool] | None = None) -> None:
    """Before a bound control is drawn: if the opening link carried a value for it that the control cannot
    take, say so once (Streamlit drops it without a word). The control's value goes into the share link
    (:func:`current_link_params`) as Streamlit writes it into the address."""
    checked = st.session_state.setdefault(_CHECKED, set())
    st.session_state.setdefault(_BOUND, {})[key] = (default, codec.encode)
    if key in checked:
        return
    checked.add(key)
    _from_link(key, codec, valid)


def follow_default(key: str, default: Any) -> None:
    """A control the user never changed follows its default when the default moves (an analysis date
    that tracks the end of the date range); one the user set keeps its value."""
    state = st.session_state
    marker = f"_default.{key}"
    if marker in state and state[marker] != default and state.get(key) == state[marker]:
        state[key] = default
    state[marker] = default


# ---------------------------------------------------------------- values linked here

_ALWAYS = object()  # a link default no value equals: the parameter is always written


def claim(key: str, default: Any, codec: Codec = TEXT, valid: Callable[[Any], bool] | None = None,
          fix: Callable[[Any], Any] | None = None, always: bool = False) -> Any:
    """Prepare the session state of the control ``key`` (drawn with ``persist_state="session"``, not bound)
    before its widget is drawn, and link it by its value.

    First appearance in the session: the link's value (decoded with ``codec`` and checked by ``valid``;
    an invalid one gives a notice) or ``default``. Later: the control's own value. A value that stopped
    being valid (the data changed) is repaired with ``fix`` (default: back to ``default``). ``always``
    writes the parameter even at its default (the language: a colleague's browser may differ).
    Returns the value the widget will show.
    """
    state = st.session_state
    if key not in state:
        value = _from_link(key, codec, valid)
        state[key] = default if value is _MISSING else value
    if valid is not None and not valid(state[key]):
        state[key] = fix(state[key]) if fix is not None else default
    state[_LINKED][key] = (_ALWAYS if always else default, codec.encode)
    return state[key]


def link_value(key: str, value: Any, default: Any = None, codec: Codec = TEXT) -> None:
    """Put a value that is not a widget (the dataset id, the open tab, a chosen customer) into the link."""
    st.session_state[_LINKED][key] = (default, codec.encode)
    st.session_state.setdefault(_VALUES, {})[key] = value


def mark_frame() -> None:
    """Note the parameters linked so far in this run as the frame's (language, dataset, sidebar filters)."""
    st.session_state[_FRAME] = tuple(st.session_state.get(_LINKED, {})) + tuple(st.session_state.get(_BOUND, ()))


def _value(key: str) -> Any:
    values = st.session_state.get(_VALUES, {})
    return values[key] if key in values else st.session_state.get(key)


def _params(linked: dict[str, tuple[Any, Callable[[Any], Any]]],
            wanted: tuple[str, ...] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, (default, encode) in linked.items():
        if wanted is not None and key not in wanted:
            continue
        value = _value(key)
        if value is None or value == default:
            continue
        encoded = encode(value)
        if encoded not in ("", []):
            params[key] = encoded
    return params


def current_link_params(frame_only: bool = False) -> dict[str, Any]:
    """``{param: encoded value}`` of the link to this view: every linked value and bound control not at its
    default. ``frame_only``: the frame's parameters, which every page shares (see :func:`mark_frame`)."""
    wanted = st.session_state.get(_FRAME, ()) if frame_only else None
    linked = {**st.session_state.get(_BOUND, {}), **st.session_state.get(_LINKED, {})}
    return _params(linked, wanted)


def sync_url() -> None:
    """Write the values linked here to the address bar; bound controls are Streamlit's to write. A value
    linked earlier and now at its default is removed; parameters of controls not drawn yet (another page's,
    from the opening link) are left for them."""
    wanted = _params(st.session_state.get(_LINKED, {}))
    url = _read_url()
    own = st.session_state.setdefault(_OWN, set())
    for key in own - set(wanted) - set(st.session_state.get(_BOUND, {})):
        if key in url:
            try:
                del st.query_params[key]
            except StreamlitAPIException:  # bound to a control by now: Streamlit's to keep or drop
                pass
    for key, value in wanted.items():
        own.add(key)
        if url.get(key) != value and not (isinstance(value, list) and len(value) == 1 and url.get(key) == value[0]):
            st.query_params[key] = value


# ---------------------------------------------------------------- language

def browser_language() -> str:
    locale = (st.context.locale or "") if hasattr(st, "context") else ""
    return "zh" if locale.lower().startswith("zh") else DEFAULT_LANGUAGE


def lang() -> str:
    value = st.session_state.get("lang")
    return value if value in LANGUAGES else browser_language()


def t(key: str, **params: Any) -> str:
    """The text of ``key`` in the session's language."""
    return translate(lang(), key, **params)
