"""The password gate's brake: each wrong password from a client makes it wait longer before the next try.

Without it, 300 guesses over one websocket at 6 a second went through, and the right password still
worked afterwards. :class:`Throttle` counts failures per client (the IP address Streamlit reports, or the
session when there is none) in the server process: after ``free`` wrong tries, each further one locks the
client for ``base`` seconds, doubling up to ``most``; a try during the lock is refused unread, the right
password included. Signing in clears the client's count. Kept off the clock and off Streamlit so a test
can drive it.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


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
