"""The request log: rows queued by the request path, written in batches by one thread.

A request never waits for the database: it appends its row (a dict) to an in-memory deque —
an atomic operation, no lock — and goes on. A writer thread sleeps while nothing is queued;
the first row wakes it, it lets a batch gather for ``flush_s`` (or until a batch's worth is
waiting), takes everything queued and inserts it in one transaction. Memory is bounded: when
``max_queued`` rows are waiting (the database is slower than the traffic),
:meth:`RequestLogWriter.put` makes the request wait for room instead of dropping its row —
the log is lossless by construction, and the wait shows up as latency, which is the honest
signal of an overloaded store.

:meth:`RequestLogWriter.close` (the server's shutdown, after its last request was
answered) drains the queue before it returns. A failed write is retried with backoff and
the rows are kept meanwhile; the error text is printed once per outage, without payloads.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

_BATCH: Final = 500
_RETRY_S: Final = (0.1, 0.5, 1.0, 2.0, 5.0)

WriteBatch = Callable[[list[Mapping[str, Any]]], object]


class RequestLogWriter:
    """A bounded queue of request-log rows and the thread that writes them."""

    def __init__(self, write: WriteBatch, *, max_queued: int = 10_000, flush_s: float = 0.2) -> None:
        self._write = write
        self.max_queued = max_queued
        self._flush_s = flush_s
        self._rows: deque[Mapping[str, Any]] = deque()
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failures = 0

    @property
    def depth(self) -> int:
        """Rows queued and not yet written."""
        return len(self._rows)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="benchroute-request-log", daemon=True)
            self._thread.start()

    def put_nowait(self, row: Mapping[str, Any]) -> bool:
        """Queue ``row`` if there is room (the usual case); False when the queue is full."""
        if len(self._rows) >= self.max_queued:
            self._wake.set()
            return False
        rows = self._rows
        rows.append(row)
        queued = len(rows)
        if queued == 1 or queued >= _BATCH:  # the first row wakes an idle writer
            self._wake.set()
        return True

    async def put(self, row: Mapping[str, Any]) -> None:
        """Queue ``row``, waiting for room when the queue is full (never dropping it)."""
        delay = 0.001
        while not self.put_nowait(row):
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    def close(self, timeout_s: float | None = None) -> None:
        """Write everything queued, then stop the thread (blocking; at shutdown)."""
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        elif self._rows:
            self._drain_once()

    def _run(self) -> None:
        while True:
            if not self._closing:
                if not self._rows:
                    # Idle: no timer ticks while nothing is queued; the first row wakes us.
                    self._wake.wait()
                self._wake.clear()
                # Let a batch gather (put_nowait wakes us early at a batch's worth, and
                # close() at once).
                if not self._closing and len(self._rows) < _BATCH:
                    self._wake.wait(self._flush_s)
                    self._wake.clear()
            closing = self._closing
            while self._rows:
                if not self._drain_once() and closing:
                    time.sleep(_RETRY_S[min(self.failures, len(_RETRY_S) - 1)])
                if not closing and len(self._rows) < _BATCH:
                    break
            if closing and not self._rows:
                return

    def _drain_once(self) -> bool:
        """Write up to one batch; on failure the rows go back to the front of the queue."""
        batch: list[Mapping[str, Any]] = []
        rows = self._rows
        while rows and len(batch) < _BATCH:
            batch.append(rows.popleft())
        if not batch:
            return True
        try:
            self._write(batch)
        except Exception as exc:
            rows.extendleft(reversed(batch))
            if self.failures == 0:
                # The exception text names the table or the driver's problem, not a payload.
                print(
                    f"benchroute gateway: request log write failed, rows kept and retried: "
                    f"{type(exc).__name__}: {str(exc)[:200]}",
                    file=sys.stderr,
                    flush=True,
                )
            self.failures += 1
            if not self._closing:
                time.sleep(_RETRY_S[min(self.failures - 1, len(_RETRY_S) - 1)])
            return False
        if self.failures:
            print("benchroute gateway: request log writes recovered", file=sys.stderr, flush=True)
        self.failures = 0
        self.written += len(batch)
        return True
