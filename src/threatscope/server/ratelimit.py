"""A limit on failed logins: after `limit` bad credentials from one remote address within
`window` seconds, its requests with credentials are refused (429) until the window moves on, so
guessing tokens is slow even though each guess is cheap to send."""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["FailedLogins"]


class FailedLogins:
    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, remote: str, at: float) -> deque[float]:
        times = self._failures.setdefault(remote, deque())
        while times and times[0] <= at - self.window:
            times.popleft()
        return times

    def retry_after(self, remote: str) -> int | None:
        """Seconds until `remote` may try again, or None when it may now."""
        at = time.monotonic()
        with self._lock:
            times = self._recent(remote, at)
            if len(times) < self.limit:
                if not times:
                    self._failures.pop(remote, None)
                return None
            return max(1, int(times[0] + self.window - at + 0.999))

    def failed(self, remote: str) -> None:
        at = time.monotonic()
        with self._lock:
            self._recent(remote, at).append(at)
