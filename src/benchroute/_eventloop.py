"""Which event loop benchroute's processes run on: uvloop when it is installed.

The stress tier must generate load without being what it measures, and the fake server
must answer it without being the bottleneck either; both spend most of their CPU in the
event loop's socket and callback machinery. uvloop (libuv underneath, a dependency of the
package) does that work in C at a fraction of asyncio's cost, so ``benchroute run`` and
the fake server run on it whenever it can be imported, for every run: an ordinary eval
sends requests through the same loop and gets cheaper too. Without uvloop (a platform it
does not build on) the standard loop is used and nothing else changes.

:func:`run` is :func:`asyncio.run` with that loop: the same :class:`asyncio.Runner`
underneath, so Ctrl-C behaves exactly as before (the first SIGINT cancels the main task,
which unwinds and then surfaces as :class:`KeyboardInterrupt`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """``uvloop.new_event_loop`` when uvloop is importable, else None (asyncio's default)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported OS
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, _T]) -> _T:
    """Run ``main`` to completion on a new event loop (uvloop when installed)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
