"""Async tests on an event loop of their own.

The session's browser (Playwright's sync API) keeps an event loop running in the main thread
once a browser test has started it; pytest-asyncio's runner then refuses to start another
there ("Runner.run() cannot be called from a running event loop"), so an async test passes
alone and fails in the whole suite. `own_loop` runs the test with `asyncio.run` in a thread.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any


def own_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        failure: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(test(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                failure.append(exc)

        thread = threading.Thread(target=target, name=f"own-loop-{test.__name__}")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]

    return run
