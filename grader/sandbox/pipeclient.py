"""The grader's side of a socket kernel (pipekernel.py): a kernel client for nbclient.

It offers what nbclient, nbgrader's Execute and the tamper guard use of jupyter_client's
asynchronous client (`execute`, `kernel_info`, the shell and IOPub channels' `get_msg`,
`is_alive`, `wait_for_ready`, `start_channels`, `stop_channels`) over the one socket the
kernel connected to: messages are Jupyter messages as jupyter_client makes them, framed as
length-prefixed JSON. Frames are read by the event loop nbclient runs the notebook in.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import socket
from datetime import datetime
from queue import Empty
from typing import Any

from jupyter_client.session import Session, json_packer, json_unpacker

from .pipekernel import FRAME, IOPUB, SHELL, send_all, take_frame

# A kernel that reads nothing for this long while a request waits to be written is ended.
SEND_TIMEOUT_SECONDS = 10.0


class KernelProtocolError(ValueError):
    """The kernel's socket carried something that is not a message: the kernel is done."""


class _Channel:
    def __init__(self, client: PipeKernelClient, name: str) -> None:
        self.client = client
        self.name = name

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # noqa: ASYNC109 - jupyter_client's signature
        return await self.client._next(self.name, timeout)

    async def msg_ready(self) -> bool:
        return bool(self.client._queues[self.name])


class PipeKernelClient:
    """A kernel client on a connected socket; one per kernel, used by one notebook's run."""

    allow_stdin = False

    def __init__(self, sandbox_kernel: Any, sock: socket.socket) -> None:
        self.sandbox_kernel = sandbox_kernel
        self.sock = sock
        self.session = Session(key=secrets.token_bytes(16))  # nothing is signed: no warning
        self.shell_channel = _Channel(self, SHELL)
        self.iopub_channel = _Channel(self, IOPUB)
        self._queues: dict[str, collections.deque[dict[str, Any]]] = {
            SHELL: collections.deque(),
            IOPUB: collections.deque(),
        }
        self._buf = bytearray()
        self._eof = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None
        self._broken: KernelProtocolError | None = None

    # -- channels ------------------------------------------------------------------------

    def start_channels(self, *args: Any, **kwargs: Any) -> None:
        self.sock.setblocking(False)

    def stop_channels(self) -> None:
        self._unbind()
        self._loop = None
        self.sock.close()

    def _unbind(self) -> None:
        """Stop reading in the loop that read until now (if it is still open)."""
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(self.sock.fileno())
            except (ValueError, OSError):
                pass

    @property
    def channels_running(self) -> bool:
        return self.sock.fileno() >= 0

    def _bind(self) -> asyncio.Event:
        """Read frames in the running loop as they arrive (the loop may change between two
        synchronous calls of nbclient: the reader follows it)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._unbind()
            self._loop = loop
            self._arrived = asyncio.Event()
            if not self._eof:
                loop.add_reader(self.sock.fileno(), self._readable)
        assert self._arrived is not None
        return self._arrived

    def _readable(self) -> None:
        try:
            chunk = self.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._eof = True
            if self._loop is not None:
                self._loop.remove_reader(self.sock.fileno())
        else:
            self._buf += chunk
            try:
                self._parse()
            except KernelProtocolError as err:
                self._broken = err
        if self._arrived is not None:
            self._arrived.set()
            self._arrived = asyncio.Event()

    def _parse(self) -> None:
        while True:
            try:
                body = take_frame(self._buf)
            except ValueError as err:
                raise KernelProtocolError(str(err)) from None
            if body is None:
                return
            try:
                frame = json_unpacker(body)
                channel, msg = frame["channel"], frame["msg"]
                if channel not in self._queues or not isinstance(msg, dict):
                    raise TypeError(channel)
                header = msg["header"]
                # The one date nbclient reads (a cell's timings); parsed here as
                # jupyter_client's own parser would, at a fiftieth of its cost.
                if isinstance(header.get("date"), str):
                    header["date"] = datetime.fromisoformat(header["date"])
                if not isinstance(msg["parent_header"], dict):
                    raise TypeError("parent_header")
                msg["msg_type"] = msg["header"]["msg_type"]
                msg["msg_id"] = msg["header"]["msg_id"]
                msg.setdefault("metadata", {})
                msg.setdefault("content", {})
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                raise KernelProtocolError(f"not a message ({err!r})") from None
            self._queues[channel].append(msg)

    async def _next(self, channel: str, timeout: float | None) -> dict[str, Any]:  # noqa: ASYNC109 - get_msg's
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if self._broken is not None:
                raise self._broken
            queue = self._queues[channel]
            if queue:
                return queue.popleft()
            arrived = self._bind()
            # After the kernel closed the socket nothing more comes: wait out the timeout,
            # as a ZeroMQ channel would (nbclient then asks whether the kernel lives).
            wait = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                if self._eof:
                    if wait is None:
                        await asyncio.Event().wait()
                    await asyncio.sleep(wait)
                    raise Empty
                await asyncio.wait_for(arrived.wait(), wait)
            except TimeoutError:
                raise Empty from None

    # -- requests ------------------------------------------------------------------------

    def _send(self, msg_type: str, content: dict[str, Any]) -> str:
        msg = self.session.msg(msg_type, content)
        body = json_packer(msg)
        try:
            sent = send_all(self.sock, FRAME.pack(len(body)) + body, SEND_TIMEOUT_SECONDS)
        except OSError:
            sent = True  # a dead kernel: nbclient finds out through is_alive
        if not sent:
            self.sandbox_kernel.kill()  # it reads no requests: it is done
        return msg["header"]["msg_id"]

    def execute(
        self,
        code: str,
        silent: bool = False,
        store_history: bool = True,
        user_expressions: dict[str, str] | None = None,
        allow_stdin: bool | None = None,
        stop_on_error: bool = True,
    ) -> str:
        if not isinstance(code, str):
            raise ValueError(f"code {code!r} must be a string")
        content = {
            "code": code,
            "silent": silent,
            "store_history": store_history,
            "user_expressions": user_expressions or {},
            "allow_stdin": self.allow_stdin if allow_stdin is None else allow_stdin,
            "stop_on_error": stop_on_error,
        }
        return self._send("execute_request", content)

    def kernel_info(self) -> str:
        return self._send("kernel_info_request", {})

    async def is_alive(self) -> bool:
        return self.sandbox_kernel.exit_status() is None

    async def wait_for_ready(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - jupyter_client's signature
        """Ready once it answers kernel_info (the socket is connected from the start: no
        subscription to wait for, as there is with ZeroMQ's IOPub)."""
        msg_id = self.kernel_info()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (60.0 if timeout is None else timeout)
        while True:
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if loop.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
            try:
                reply = await self.shell_channel.get_msg(timeout=0.5)
            except Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return
