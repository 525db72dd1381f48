"""Forwarding a cell's output to Jupyter: batched, in order, and bounded.

Output is gathered into stream messages (one per stretch of the same stream) and
sent every few milliseconds, so a loop printing a line at a time does not become a
message per line.  Past `limit` bytes the rest is counted but not sent, and a note
says how much was left out; the Lab stays responsive under an output flood.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class OutputSink:
    def __init__(
        self,
        send: Callable[[str, str], None],
        limit: int,
        interval: float = 0.05,
    ) -> None:
        self._send = send
        self.limit = limit
        self.interval = interval
        self.sent = 0
        self.dropped = 0
        self._pending: list[tuple[str, str]] = []
        self._pending_size = 0
        self._last = time.monotonic()

    def write(self, name: str, text: str) -> None:
        if self.limit and self.sent + self._pending_size >= self.limit:
            self.dropped += len(text.encode())
            return
        if self.limit:
            room = self.limit - self.sent - self._pending_size
            data = text.encode()
            if len(data) > room:
                self.dropped += len(data) - room
                text = data[:room].decode(errors="ignore")
        if self._pending and self._pending[-1][0] == name:
            self._pending[-1] = (name, self._pending[-1][1] + text)
        else:
            self._pending.append((name, text))
        self._pending_size += len(text.encode())
        if self._pending_size >= 1 << 16:
            self.flush()

    def tick(self) -> None:
        """Sends what is pending if the interval has passed."""
        if self._pending and time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        for name, text in self._pending:
            if text:
                self._send(name, text)
        self.sent += self._pending_size
        self._pending = []
        self._pending_size = 0
        self._last = time.monotonic()

    def close(self) -> None:
        """Flushes, and notes any output that was left out."""
        self.flush()
        if self.dropped:
            self._send(
                "stderr",
                f"\n[output truncated: {self.dropped:,} more bytes were not shown "
                f"(limit {self.limit:,} bytes per cell)]\n",
            )
