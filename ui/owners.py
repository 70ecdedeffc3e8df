"""Who owns a saved dataset, and who may manage them all.

The owner of a dataset is who saved it:
- a **signed-in user** where ``st.login`` is configured (``[auth]`` in the secrets): their e-mail;
- otherwise **this browser**: a random token in the ``crm_owner`` cookie, set the first time the app runs
  in the browser and kept for 400 days (the browsers' limit). Another browser, or this one after its
  cookies are cleared, is someone else.

``meta.json`` stores a SHA-256 of the identity (:attr:`Owner.key`), never the cookie itself, so reading
the data folder gives no one the power to act as an owner. The Data page lists and changes only the
session's own datasets; others open one only by its link (the link is the permission to read).

An **administrator** sees and manages all of them: a signed-in user whose e-mail is in ``CRM_ADMINS``
(secrets list, or comma-separated in the environment), or a session that entered ``CRM_ADMIN_PASSWORD``
on the Data page (counted by the same brake as the app's password).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ui.access import THROTTLE, cookie_script, secret

OWNER_COOKIE = "crm_owner"
OWNER_SECONDS = 400 * 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_SESSION_TOKEN = "_owner_token"
_ADMIN = "_admin"


@dataclass(frozen=True)
class Owner:
    key: str      # what a saved dataset's meta.json keeps
    name: str     # a signed-in user's e-mail; "" for a browser
    admin: bool

    @property
    def manages(self) -> str | None:
        """The owner to pass to ``crm_core.store``: None (everything) for an administrator."""
        return None if self.admin else self.key


def _hash(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()


def _user() -> dict[str, Any]:
    try:
        info = st.user.to_dict()
    except Exception:  # noqa: BLE001 - no [auth] section: nobody is signed in
        return {}
    return dict(info) if info.get("is_logged_in") else {}


def cookie(name: str) -> str | None:
    """A cookie the browser sent when the session began (AppTest sends none)."""
    cookies = getattr(st.context, "cookies", None)
    value = cookies.get(name) if cookies is not None and hasattr(cookies, "get") else None
    return value if isinstance(value, str) else None


def _browser_cookie() -> str | None:
    value = cookie(OWNER_COOKIE)
    return value if value and _TOKEN.match(value) else None


def _browser_token() -> str:
    """The browser's owner token: its cookie, else one made for this session (and set by :func:`remember`)."""
    return _browser_cookie() or st.session_state.setdefault(_SESSION_TOKEN, secrets.token_urlsafe(24))


def admins() -> set[str]:
    configured = secret("CRM_ADMINS") or []
    names = configured.split(",") if isinstance(configured, str) else configured
    return {str(name).strip().lower() for name in names if str(name).strip()}


def current() -> Owner:
    user = _user()
    email = str(user.get("email") or user.get("sub") or "")
    if email:
        return Owner(_hash("user:" + email.lower()), email,
                     email.lower() in admins() or bool(st.session_state.get(_ADMIN)))
    return Owner(_hash("browser:" + _browser_token()), "", bool(st.session_state.get(_ADMIN)))


def remember() -> None:
    """Give this browser its owner cookie when it has none (a script in the sidebar; once set, kept)."""
    if _browser_cookie():
        return
    st.sidebar.html(cookie_script(OWNER_COOKIE, _browser_token(), OWNER_SECONDS, only_if_absent=True),
                    unsafe_allow_javascript=True)


def admin_configured() -> bool:
    return bool(secret("CRM_ADMIN_PASSWORD"))


def sign_in_admin(given: str, client: str) -> tuple[str, float]:
    """Check the administrator password (``CRM_ADMIN_PASSWORD``) under the app's brake: ("ok", 0),
    ("wrong", seconds the next try must wait) or ("wait", seconds) when the try was refused unread."""
    expected = secret("CRM_ADMIN_PASSWORD")
    waiting = THROTTLE.wait(client)
    if waiting > 0:
        return "wait", waiting
    if expected and hmac.compare_digest(given.encode(), str(expected).encode()):
        THROTTLE.succeeded(client)
        st.session_state[_ADMIN] = True
        return "ok", 0.0
    return "wrong", THROTTLE.failed(client)


def sign_out_admin() -> None:
    st.session_state.pop(_ADMIN, None)
