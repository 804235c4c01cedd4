"""What /proc and the image config say about a workload's sockets: its listening sockets, its TCP ports."""

from __future__ import annotations

import socket
from pathlib import Path


def tcp_ports(exposed: list[str]) -> list[int]:
    """The TCP ports among an image config's exposed ports (`8080/tcp`, `53/udp`, `80`), sorted, once each."""
    ports = []
    for spec in exposed:
        number, _, protocol = spec.partition("/")
        if (protocol or "tcp") == "tcp" and number.isdigit():
            ports.append(int(number))
    return sorted(set(ports))


def listening(pid: int) -> list[dict]:
    """The TCP sockets listening and UDP sockets bound in the network namespace of `pid`."""
    sockets = []
    for name, protocol in (("tcp", "tcp"), ("tcp6", "tcp6"), ("udp", "udp"), ("udp6", "udp6")):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if protocol.startswith("tcp") and state != "0A":
                continue
            if protocol.startswith("udp") and state != "07":
                continue
            address_hex, port_hex = local.split(":")
            if len(address_hex) == 8:
                address = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address_hex)[::-1])
            else:
                raw = bytes.fromhex(address_hex)
                address = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
            sockets.append({"protocol": protocol.rstrip("6"), "address": address, "port": int(port_hex, 16)})
    return sorted(
        {(s["protocol"], s["address"], s["port"]): s for s in sockets}.values(), key=lambda s: (s["port"], s["protocol"])
    )
