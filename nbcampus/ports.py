"""Free TCP ports on the loopback interface, for the Hub's internal listeners."""

from __future__ import annotations

import socket
from collections.abc import Iterable

# Ports this process has handed out: the kernel may give the same free port to two picks in a
# row (seen once: the proxy's public and API port the same, and the Hub could not start).
_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1", exclude: Iterable[int] = ()) -> int:
    """A port nothing listens on now, never one handed out before here nor one of `exclude`."""
    avoid = _handed_out | {port for port in exclude if port}
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port on {host} outside {sorted(avoid)[:10]}")


def taken(port: int | None) -> None:
    """Never hand out `port` (one chosen elsewhere, such as the public port not yet bound)."""
    if port:
        _handed_out.add(port)


def port_in_use(host: str, port: int) -> bool:
    """True when something else listens on host:port (binding it would fail)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False
