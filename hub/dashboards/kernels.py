"""Whose kernel is it: each dashboard kernel is bound to the Hub user whose visit took it.

Voila has no per-user kernels: any Hub user the service lets in could reach any kernel whose id
they learned (its websocket, its REST API, Voila's shutdown URL) and read what the viewer's token
reads. The page handler names the viewer (`VISITOR`, set for the request's own task); the kernel
manager binds the kernel it hands to that request (a warm one, or one started for it); the
kernel handlers below refuse (403) everyone but that user. A kernel bound to no one (a warm one
not yet handed out) is reachable by no browser at all.
"""

from __future__ import annotations

import contextvars
from typing import Any

from tornado import web

# The Hub user of the page request being served (contextvars follow the request's task).
VISITOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("visitor", default=None)


class Owners:
    def __init__(self) -> None:
        self._owner: dict[str, str] = {}

    def bind(self, kernel_id: str) -> None:
        visitor = VISITOR.get()
        if visitor:
            self._owner[kernel_id] = visitor

    def release(self, kernel_id: str) -> None:
        self._owner.pop(kernel_id, None)

    def owner(self, kernel_id: str) -> str | None:
        return self._owner.get(kernel_id)


OWNERS = Owners()


def check_owner(handler: web.RequestHandler, kernel_id: str) -> None:
    user = handler.current_user
    name = getattr(user, "username", None)
    if not name or OWNERS.owner(kernel_id) != name:
        handler.log.warning("dashboards: %s refused kernel %s (not theirs)", name, kernel_id)
        raise web.HTTPError(403, "this dashboard kernel is not yours")


def owner_bound_manager(base: type) -> type:
    """`base` (Voila's kernel manager, pooled or not), binding each kernel a page takes."""

    class OwnerBound(base):  # type: ignore[misc, valid-type]
        async def get_rendered_notebook(self, *args: Any, **kwargs: Any) -> Any:
            task, cache, kernel_id = await super().get_rendered_notebook(*args, **kwargs)
            OWNERS.bind(kernel_id)  # a warm kernel, handed to this page's viewer
            return task, cache, kernel_id

        async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
            kernel_id = await super().start_kernel(*args, **kwargs)
            # The page handler's own start (no warm kernel left); a pool's refill has
            # VOILA_PREHEAT=True in its environment and stays unbound until handed out.
            if kwargs.get("env", {}).get("VOILA_PREHEAT") == "False":
                OWNERS.bind(kernel_id)
            return kernel_id

        async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return await super().shutdown_kernel(kernel_id, *args, **kwargs)
            finally:
                OWNERS.release(kernel_id)

    return OwnerBound


def owner_only(handler_class: type) -> type:
    """A kernel handler (`kernel_id` in its URL) that answers the kernel's owner alone."""
    websocket = hasattr(handler_class, "open")

    if websocket:

        class OwnerOnlySocket(handler_class):  # type: ignore[misc, valid-type]
            async def get(self, kernel_id: str, *args: Any, **kwargs: Any) -> None:
                check_owner(self, kernel_id)
                await super().get(kernel_id, *args, **kwargs)

        return OwnerOnlySocket

    class OwnerOnly(handler_class):  # type: ignore[misc, valid-type]
        async def prepare(self) -> None:
            await super().prepare()
            check_owner(self, self.path_kwargs.get("kernel_id") or self.path_args[0])

    return OwnerOnly


def once_only_query(handler_class: type) -> type:
    """Voila's request-info socket (a warm kernel waits there for its page's query string,
    which carries the viewer's ticket): the first connection for a kernel id is the kernel's
    own (it connects as it starts, before any page can have its id); a second one is refused,
    and the information is given once, then forgotten."""

    class OnceOnly(handler_class):  # type: ignore[misc, valid-type]
        def open(self, kernel_id: str) -> None:
            cls = handler_class
            if kernel_id in cls._waiters:
                self.close(code=1008, reason="taken")
                return
            cls._waiters[kernel_id] = self
            payload = cls._cache.pop(kernel_id, None)
            if payload is not None:
                self.write_message(payload)

        def on_close(self) -> None:
            cls = handler_class
            for kernel_id, waiter in list(cls._waiters.items()):
                if waiter is self:
                    del cls._waiters[kernel_id]

    return OnceOnly
