"""What anonymous SPARQL callers may spend: each client (by address) runs at most ``concurrent`` queries at once
and at most ``seconds`` of query time in any ``window`` seconds, and anonymous queries together hold at most
``shared`` of the query workers, so that callers with a token always find one free. Past any of these the
answer is 429 with ``Retry-After``, before the query reaches a worker.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fmar.errors import TooManyRequests


@dataclass
class _Client:
    running: int = 0
    spent: deque[tuple[float, float]] = field(default_factory=deque)  # (ended at, seconds)


class Budget:
    """Per-client spending of anonymous query time."""

    def __init__(self, concurrent: int, seconds: float, window: float, shared: int) -> None:
        self.concurrent, self.seconds, self.window, self.shared = concurrent, seconds, window, shared
        self._clients: dict[str, _Client] = {}
        self._running = 0
        self._guard = threading.Lock()

    @contextmanager
    def spend(self, client: str) -> Iterator[None]:
        """Run one query of ``client`` within its budget (429 when it is spent)."""
        started = self._admit(client)
        try:
            yield
        finally:
            self._release(client, time.monotonic() - started)

    def _admit(self, client: str) -> float:
        now = time.monotonic()
        with self._guard:
            state = self._clients.setdefault(client, _Client())
            while state.spent and state.spent[0][0] < now - self.window:
                state.spent.popleft()
            used = sum(seconds for _, seconds in state.spent)
            if used >= self.seconds:
                wait = state.spent[0][0] + self.window - now
                raise TooManyRequests(f"this client has used its {self.seconds:g} s of query time for "
                                      f"{self.window:g} s; try again later, or query with a token",
                                      retry_after=wait)
            if state.running >= self.concurrent:
                raise TooManyRequests(f"this client already runs {state.running} queries; wait for them to "
                                      "finish", retry_after=1)
            if self._running >= self.shared:
                raise TooManyRequests("the query workers open to anonymous callers are busy; try again shortly, "
                                      "or query with a token", retry_after=1)
            state.running += 1
            self._running += 1
            if len(self._clients) > 10_000:  # forget the idle ones
                self._clients = {k: v for k, v in self._clients.items() if v.running or v.spent}
        return now

    def _release(self, client: str, seconds: float) -> None:
        with self._guard:
            state = self._clients.setdefault(client, _Client())
            state.running -= 1
            self._running -= 1
            state.spent.append((time.monotonic(), seconds))
