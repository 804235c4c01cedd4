"""Load test of the submit endpoint: the real API (uvicorn) on loopback, a bounded loop of requests.

Creates an enterprise organization in the application database (DATABASE_URL, PostgreSQL),
starts `uvicorn vexxy_api.app:app` on a free loopback port, and sends a fixed number of
`POST /api/v1/analyses` from a few concurrent workers. Prints requests/s and latency
percentiles. It stops by itself; nothing leaves the machine.

    DATABASE_URL=postgresql://... .venv/bin/python bench/submit_load.py [--requests 2000] [--workers 8]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import jwt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appdb.engine import make_engine, make_sessionmaker  # noqa: E402
from appdb.migrate import upgrade  # noqa: E402
from appdb.models import Organization, Subscription  # noqa: E402

KEY = "bench-signing-key-0123456789abcdef0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (it gets one organization and its submissions).")
    upgrade()
    sessions = make_sessionmaker(make_engine())
    with sessions.begin() as session:
        organization = Organization(name=f"bench-{uuid.uuid4().hex[:6]}")
        session.add(organization)
        session.flush()
        session.add(Subscription(organization_id=organization.id, tier="enterprise", status="active"))
        organization_id = organization.id
    now = int(time.time())
    token = jwt.encode(
        {
            "sub": "bench",
            "org": organization_id,
            "role": "member",
            "iss": "https://auth.vexxy.dev/",
            "aud": "vexxy-api",
            "exp": now + 3600,
        },
        KEY,
        algorithm="HS256",
    )
    port = free_port()
    env = {**os.environ, "VEXXY_JWT_KEY": KEY}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "vexxy_api.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/analyses"
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        remaining = [args.requests]

        def worker() -> None:
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
                while True:
                    with lock:
                        if remaining[0] <= 0:
                            return
                        remaining[0] -= 1
                    started = time.perf_counter()
                    response = client.post(url, json={"image": "registry.example.com/bench/app:1.0", "fuzzing": False})
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        began = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(
        f"submit endpoint: {len(latencies)} requests with {args.workers} "
        f"workers in {wall:.1f} s -> {len(latencies) / wall:.0f} requests/s"
    )
    print(
        f"latency ms: p50 {p(0.50):.1f}  p90 {p(0.90):.1f}  p99 {p(0.99):.1f}  max "
        f"{latencies[-1] * 1000:.1f}  (mean {statistics.mean(latencies) * 1000:.1f})"
    )
    print(f"status codes: {dict(sorted(statuses.items()))}")


if __name__ == "__main__":
    main()
