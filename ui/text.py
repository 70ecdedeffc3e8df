"""User text on a surface Streamlit renders as markdown: shown as text, never as markup.

Names, products, uploaded headers, link values, dataset and segment names come from people and files. On
a markdown surface (headers, captions, alerts, labels, ``st.markdown``) a name such as
``[offer](http://…) ![x](http://…) $x^2$ :red[…]`` would otherwise become a live link, a remote image
loaded in a colleague's browser, LaTeX, or a coloured directive. :func:`plain` escapes every markdown
character with a backslash (CommonMark, "Backslash escapes"), breaks the colon of Streamlit's directives
(``:red[…]``, ``:material/…:``) and of bare-URL autolinks, and the ``www`` and ``@`` that GFM turns into
links even when the dots are escaped (seen in Chromium), with a zero-width space, and folds line breaks
into spaces so a value cannot start a heading or a list. HTML needs nothing: Streamlit shows it as text
unless ``unsafe_allow_html`` is set, which this app never does.

Not for surfaces that are not markdown (table cells, chart text, downloads, widget options): there the
backslashes would show.
"""
from __future__ import annotations

import re
from typing import Any

from ui.state import t

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$&=^\"'])")
_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_AUTOLINK = re.compile(r"(?i)(www|@)(?=\S)")  # GFM links "www.host" and "name@host" even when escaped
ZERO_WIDTH_SPACE = "\u200b"


def plain(value: Any) -> str:
    """``value`` as text a markdown surface shows literally (None: an empty string)."""
    if value is None:
        return ""
    text = _AUTOLINK.sub(r"\1" + ZERO_WIDTH_SPACE, _BREAKS.sub(" ", str(value)))
    return _SPECIAL.sub(r"\\\1", text).replace(":", ":" + ZERO_WIDTH_SPACE)


def t_plain(key: str, **params: Any) -> str:
    """:func:`ui.state.t` with every text parameter made :func:`plain` (numbers keep their format)."""
    return t(key, **{name: plain(value) if isinstance(value, str) else value for name, value in params.items()})
