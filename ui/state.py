"""One source of truth for what the user sees: the URL query parameters plus ``st.session_state``.

Share links work like this:
- On the first run of a session, the URL's parameters are read once into a snapshot.
- Every control that belongs in a link is created through :func:`claim` (via ``ui.widgets``): the first
  time a control appears in a session it takes its value from the snapshot (validated; an invalid value
  falls back to the default with a notice), later from its own session state.
- At the end of each run :func:`sync_url` writes the non-default values of the controls on screen back
  to the URL. Sidebar navigation drops query parameters in this Streamlit version (platform notes §1.2);
  rewriting them on every run puts them back, so the address bar is always a working share link.

Widget state is removed by Streamlit when a widget is not drawn in a run (another page is open); a
shadow copy (``_keep.<key>``) keeps each control's value across page switches.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

import streamlit as st

from ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate

_SNAPSHOT = "_url_snapshot"
_LINKED = "_linked_params"  # {key: (default, encode)} of the controls drawn in this run
_NOTICES = "_link_notices"
KEEP = "_keep."
_FRAME = "_frame_params"  # the keys of _LINKED that the shell's frame drew (see mark_frame)


# ---------------------------------------------------------------- codecs

@dataclass(frozen=True)
class Codec:
    """How one kind of value travels in a URL: as one string, or (lists) as repeated keys."""

    decode: Callable[[Any], Any]
    encode: Callable[[Any], Any]


def _as_one(raw: Any) -> str:
    return raw[-1] if isinstance(raw, list) else raw


def _as_list(raw: Any) -> list[str]:
    return list(raw) if isinstance(raw, list) else [raw]


def _decode_bool(raw: Any) -> bool:
    text = _as_one(raw).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


TEXT = Codec(lambda raw: _as_one(raw), str)
INT = Codec(lambda raw: int(_as_one(raw)), str)
FLOAT = Codec(lambda raw: float(_as_one(raw)), lambda v: f"{v:g}")
BOOL = Codec(_decode_bool, lambda v: "1" if v else "0")
DATE = Codec(lambda raw: date.fromisoformat(_as_one(raw)), lambda v: v.isoformat())
TEXTS = Codec(lambda raw: [x for x in _as_list(raw) if x != ""], list)
DATE_RANGE = Codec(lambda raw: tuple(date.fromisoformat(x) for x in _as_list(raw)), lambda v: [d.isoformat() for d in v])


# ---------------------------------------------------------------- session start and run bookkeeping

def _read_url() -> dict[str, Any]:
    params = st.query_params
    return {key: (params.get_all(key) if len(params.get_all(key)) > 1 else params.get(key)) for key in params}


def begin_run() -> None:
    """Call first thing in every run of app.py."""
    if _SNAPSHOT not in st.session_state:
        st.session_state[_SNAPSHOT] = _read_url()
        st.session_state[_NOTICES] = []
    st.session_state[_LINKED] = {}


def url_value(key: str) -> Any:
    """The raw value the session's opening URL carried for ``key`` (None if absent)."""
    return st.session_state.get(_SNAPSHOT, {}).get(key)


def forget_url_value(key: str) -> None:
    st.session_state.get(_SNAPSHOT, {}).pop(key, None)


def notice(key: str, **params: Any) -> None:
    """Queue a translated notice (for example an invalid link value) to show once."""
    st.session_state.setdefault(_NOTICES, []).append((key, params))


def pop_notices() -> list[tuple[str, dict[str, Any]]]:
    notices = st.session_state.get(_NOTICES, [])
    st.session_state[_NOTICES] = []
    return notices


# ---------------------------------------------------------------- controls in the link

_ALWAYS = object()  # a link default no value equals: the parameter is always written


def claim(key: str, default: Any, codec: Codec = TEXT, valid: Callable[[Any], bool] | None = None,
          fix: Callable[[Any], Any] | None = None, always: bool = False) -> Any:
    """Prepare session state for the control ``key`` before its widget is drawn, and link it.

    First appearance: the URL value (decoded with ``codec`` and checked by ``valid``) or ``default``.
    Later: the control's own value, or its kept copy after a page switch. A value that stopped being
    valid (the data changed) is repaired with ``fix`` (default: back to ``default``).
    ``always`` writes the parameter even at its default (the language: a colleague's browser may differ).
    Returns the value the widget will show.
    """
    state = st.session_state
    if key not in state:
        if KEEP + key in state:
            state[key] = state[KEEP + key]
        else:
            raw = url_value(key)
            value = default
            if raw is not None:
                try:
                    value = codec.decode(raw)
                    if valid is not None and not valid(value):
                        raise ValueError(raw)
                except (ValueError, TypeError):
                    notice("app.notice.bad_param", name=key, value=_as_one(raw) if raw else "")
                    value = default
            state[key] = value
    if valid is not None and not valid(state[key]):
        state[key] = fix(state[key]) if fix is not None else default
    st.session_state[_LINKED][key] = (_ALWAYS if always else default, codec.encode)
    return state[key]


def follow_default(key: str, default: Any) -> None:
    """A control the user never changed follows its default when the default moves (an analysis date
    that tracks the end of the date range); one the user set keeps its value."""
    state = st.session_state
    marker = f"_default.{key}"
    current = state.get(key, state.get(KEEP + key))
    if marker in state and current == state[marker]:
        state.pop(key, None)
        state.pop(KEEP + key, None)
    state[marker] = default


def keep(key: str) -> None:
    """Remember a control's value across page switches (call after drawing the widget)."""
    if key in st.session_state:
        st.session_state[KEEP + key] = st.session_state[key]


def link_value(key: str, value: Any, default: Any = None, codec: Codec = TEXT) -> None:
    """Put a value that is not a widget (the dataset id, a selected customer) into the link."""
    st.session_state[_LINKED][key] = (default, codec.encode)
    st.session_state[KEEP + key] = value


def mark_frame() -> None:
    """Note the controls linked so far in this run as the frame's (language, dataset, sidebar filters)."""
    st.session_state[_FRAME] = tuple(st.session_state.get(_LINKED, {}))


def current_link_params(frame_only: bool = False) -> dict[str, Any]:
    """``{param: encoded value}`` of every linked control not at its default (``frame_only``: of the frame's
    controls, which every page shares, see :func:`mark_frame`)."""
    params: dict[str, Any] = {}
    wanted = st.session_state.get(_FRAME, ()) if frame_only else None
    for key, (default, encode) in st.session_state.get(_LINKED, {}).items():
        if wanted is not None and key not in wanted:
            continue
        value = st.session_state.get(key, st.session_state.get(KEEP + key))
        if value is None or value == default:
            continue
        encoded = encode(value)
        if encoded in ("", []):
            continue
        params[key] = encoded
    return params


def sync_url() -> None:
    """Write the linked controls to the address bar (only when something changed)."""
    wanted = current_link_params()
    if wanted != _read_url_normalised():
        st.query_params.from_dict(wanted)


def _read_url_normalised() -> dict[str, Any]:
    return {k: (v if isinstance(v, list) and len(v) > 1 else (v[0] if isinstance(v, list) else v))
            for k, v in _read_url().items()}


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
