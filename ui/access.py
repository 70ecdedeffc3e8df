"""Who may come in: the password gate's brake, its sign-in cookie, and the gate in front of downloads.

**The brake.** Each wrong password from a client makes it wait longer before the next try.

Without it, 300 guesses over one websocket at 6 a second went through, and the right password still
worked afterwards. :class:`Throttle` counts failures per client (the IP address Streamlit reports, or the
session when there is none) in the server process: after ``free`` wrong tries, each further one locks the
client for ``base`` seconds, doubling up to ``most``; a try during the lock is refused unread, the right
password included. Signing in clears the client's count. Kept off the clock and off Streamlit so a test
can drive it.

**The sign-in cookie.** Signing in sets ``crm_access``: an expiry and its HMAC under a key derived from
the password (:func:`access_token`). A new tab of a signed-in browser comes in without the password, and
the download gate accepts it; changing the password, or the expiry, ends it. It is set from the page
(:func:`cookie_script`), so it is not HttpOnly: escaping keeps scripts out of the page (``ui.text``).

**The download gate.** Streamlit serves every download button's file from ``/media/<id>`` to anyone who
has the address while the session lives. :class:`MediaGate`, an ASGI middleware that ``serve.py`` puts in
front of Streamlit, answers 403 to a ``/media/`` request without a valid sign-in cookie when a password is
set. Only the standard library here: it runs outside any script run.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class Throttle:
    """Failed sign-ins per client and how long each must wait (see the module docstring)."""

    def __init__(self, free: int = 3, base: float = 2.0, most: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.most, self.clock = free, base, most, clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds ``client`` must still wait before a try is read (0 = go ahead)."""
        with self._lock:
            record = self._records.get(client)
            return max(0.0, record.locked_until - self.clock()) if record else 0.0

    def failed(self, client: str) -> float:
        """Count a wrong password; returns the wait it now imposes."""
        with self._lock:
            record = self._records.setdefault(client, _Record())
            record.failures += 1
            extra = record.failures - self.free
            if extra > 0:
                record.locked_until = self.clock() + min(self.most, self.base * 2 ** (extra - 1))
            return max(0.0, record.locked_until - self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._records.pop(client, None)


THROTTLE = Throttle()  # one per server process: every session of a client shares its count


# ---------------------------------------------------------------- settings, sign-in cookie, download gate

ACCESS_COOKIE = "crm_access"
ACCESS_SECONDS = 12 * 3600  # a sign-in lasts a working day
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def secret(name: str) -> Any:
    """A deployer's setting: the environment first, then ``.streamlit/secrets.toml``; None when neither."""
    value = os.environ.get(name)
    if value:
        return value
    try:
        import streamlit as st

        return st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets file is the normal laptop case
        return None


def _key(password: str) -> bytes:
    return hashlib.sha256(b"crm-access-cookie\0" + password.encode()).digest()


def access_token(password: str, now: float, seconds: int = ACCESS_SECONDS) -> str:
    """The sign-in cookie's value: ``<expiry>.<HMAC of it>``; only who knows the password can make one."""
    expiry = str(int(now + seconds))
    return expiry + "." + hmac.new(_key(password), expiry.encode(), hashlib.sha256).hexdigest()


def token_valid(token: object, password: str, now: float) -> bool:
    if not isinstance(token, str) or token.count(".") != 1:
        return False
    expiry, signature = token.split(".")
    if not expiry.isdigit() or int(expiry) <= now:
        return False
    expected = hmac.new(_key(password), expiry.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, expected)


def cookie_script(name: str, value: str, max_age: int, same_site: str = "Lax", only_if_absent: bool = False) -> str:
    """A script that sets a cookie for the whole site (``Secure`` over https). ``value`` is one this app
    made (checked); with ``only_if_absent``, a cookie the browser already has is kept."""
    if not _COOKIE_VALUE.match(value) or not re.fullmatch(r"[a-z_]+", name) or same_site not in ("Lax", "Strict"):
        raise ValueError("cookie name or value out of range")
    keep = f"if(document.cookie.split('; ').some(function(c){{return c.indexOf('{name}=')===0}}))return;" \
        if only_if_absent else ""
    return ("<script>(function(){" + keep +
            f"document.cookie='{name}={value}; path=/; max-age={max_age}; SameSite={same_site}'"
            "+(location.protocol==='https:'?'; Secure':'');})()</script>")


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_MEDIA = re.compile(r"(^|/)media/")


def _cookies(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for header, value in scope.get("headers") or []:
        if header.lower() == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, content = part.strip().partition("=")
                found.setdefault(name, content)
    return found


class MediaGate:
    """ASGI middleware: with a password set (``CRM_PASSWORD``), ``/media/…`` only for a signed-in browser."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 password: Callable[[], Any] = lambda: secret("CRM_PASSWORD"),
                 clock: Callable[[], float] = time.time) -> None:
        self.app, self.password, self.clock = app, password, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http" and _MEDIA.search(scope.get("path", "")):
            password = self.password()
            if password and not token_valid(_cookies(scope).get(ACCESS_COOKIE), str(password), self.clock()):
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": "Sign in first · 请先登录".encode()})
                return
        await self.app(scope, receive, send)
