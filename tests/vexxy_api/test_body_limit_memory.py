"""A 100 MB body sent to the real API server (uvicorn) is refused without being read, and the server's
memory stays flat however many of them arrive. Prints the RSS figures."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from billing_helpers import JWT_KEY
from ports import free_port

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)
ROOT = Path(__file__).resolve().parents[2]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def api():
    port = free_port()
    env = {**os.environ, "VEXXY_JWT_KEY": JWT_KEY}
    uvicorn = Path(sys.executable).parent / "uvicorn"
    process = subprocess.Popen(
        [str(uvicorn), "vexxy_api.app:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.2)
    yield process, port
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


def send_huge(port: int, chunked: bool) -> tuple[int, bytes]:
    """Offer a 100 MB body; returns (bytes the server let us send, its response)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    framing = b"Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {HUNDRED_MB}\r\n".encode()
    sock.sendall(
        b"POST /api/v1/analyses HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        + b"Authorization: Bearer not-even-checked\r\n"
        + framing
        + b"\r\n"
    )
    sent = 0
    try:
        while sent < HUNDRED_MB:
            data = (b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n") if chunked else CHUNK
            sock.sendall(data)
            sent += len(CHUNK)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass  # the server closed the connection: it is not reading any more
    response = b""
    try:
        while chunk := sock.recv(65536):
            response += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    return sent, response


def test_a_100_mb_body_is_refused_without_reading_it_and_memory_stays_flat(api, capsys):
    process, port = api
    for _ in range(20):  # warm up the paths a refusal takes
        httpx.post(f"http://127.0.0.1:{port}/api/v1/analyses", json={"image": "registry.example.com/a:1"})
    before = rss_kib(process.pid)

    # Only the headers: the refusal comes at once, from Content-Length, with no body sent at all.
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /api/v1/analyses HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {HUNDRED_MB}\r\n\r\n".encode()
    )
    answer = b""
    while chunk := sock.recv(65536):  # the server closes the connection after its answer
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413") and b"body_too_large" in answer

    offered = 0
    for chunked in (False, True, False, True, False, True):
        sent, response = send_huge(port, chunked)
        offered += HUNDRED_MB
        assert response.startswith(b"HTTP/1.1 413") and b"body_too_large" in response, response[:200]
        assert sent < HUNDRED_MB // 2, f"the server read {sent} bytes of the body"
    after = rss_kib(process.pid)
    with capsys.disabled():
        print(
            f"\nbody limit: {offered // HUNDRED_MB} x 100 MB bodies refused; API RSS {before} KiB before, "
            f"{after} KiB after ({after - before:+d} KiB)"
        )
    assert after - before < 20 * 1024, f"RSS grew by {after - before} KiB"
    assert process.poll() is None
