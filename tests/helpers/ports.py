"""Loopback ports for test servers."""

import socket


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port() -> int:
    """A loopback port that was free a moment ago (for servers the tests start)."""
    return closed_port()
