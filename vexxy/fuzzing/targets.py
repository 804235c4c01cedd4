"""Which of a workload's ports speak HTTP (only those are worth a web scanner's time)."""

from __future__ import annotations

import socket


def speaks_http(address: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            connection.sendall(f"GET / HTTP/1.0\r\nHost: {address}:{port}\r\n\r\n".encode())
            return connection.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def http_ports(address: str, ports: list[int]) -> list[int]:
    return [port for port in ports if speaks_http(address, port)]
