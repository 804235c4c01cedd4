"""Real parts for the tests: a Distribution registry, locally built images, a PostgreSQL database.

The environment is set before any vexxy module reads it: every test session gets its own
VEXXY_HOME, evidence directory, DAGSTER_HOME and a fresh PostgreSQL database for Dagster's
storage, dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from ports import free_port

SESSION_DIR = Path(tempfile.mkdtemp(prefix="vexxy-tests-"))
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_ADMIN_URL


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _admin_connection():
    import psycopg2

    url = _admin_url().replace("postgresql+psycopg2://", "postgresql://")
    try:
        connection = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.exit(
            f"PostgreSQL is not reachable at {url} ({exc}). Run the tests with ./scripts/test, which starts it, "
            "or set DATABASE_URL.",
            returncode=3,
        )
    connection.autocommit = True
    return connection, url


def pytest_configure(config):
    suffix = uuid.uuid4().hex[:10]
    database, app_database = f"vexxy_test_{suffix}", f"vexxy_app_test_{suffix}"
    connection, url = _admin_connection()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
        cursor.execute(f'CREATE DATABASE "{app_database}"')
    connection.close()
    config._vexxy_databases = (database, app_database)
    config._vexxy_admin_url = url
    from appdb.migrate import upgrade

    upgrade(_with_database(url, app_database))
    os.environ.update(
        {
            "DATABASE_URL": _with_database(url, app_database),
            "VEXXY_HOME": str(SESSION_DIR),
            "VEXXY_EVIDENCE_DIR": str(SESSION_DIR / "evidence"),
            "DAGSTER_HOME": str(SESSION_DIR / "dagster"),
            "DAGSTER_PG_URL": _with_database(url, database),
            "VEXXY_DEPLOYMENT": "test",
            "VEXXY_OBSERVATION_SECONDS": "20",
            "VEXXY_QUIET_SECONDS": "4",
        }
    )
    os.environ.pop("VEXXY_OSV_SOURCE", None)


def pytest_unconfigure(config):
    databases = getattr(config, "_vexxy_databases", ())
    if databases:
        import psycopg2

        connection = psycopg2.connect(config._vexxy_admin_url, connect_timeout=5)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for database in databases:
                cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.close()
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def registry():
    """A real Distribution registry on loopback, plain HTTP, anonymous."""
    from vexxy.demo.registry import LocalRegistry

    server = LocalRegistry(root=SESSION_DIR / "registry", port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_registry():
    """A real Distribution registry that requires HTTP basic auth (user `vexxy`, password `s3cret`)."""
    import bcrypt

    from vexxy.demo.registry import LocalRegistry

    root = SESSION_DIR / "auth-registry"
    root.mkdir(parents=True, exist_ok=True)
    htpasswd = root / "htpasswd"
    htpasswd.write_text("vexxy:" + bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode() + "\n")
    server = LocalRegistry(root=root, port=free_port(), htpasswd=htpasswd).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_layers():
    from vexxy.demo.images import DEMO, build_layers

    return build_layers(DEMO, log=lambda message: None)


@pytest.fixture(scope="session")
def demo_image(registry, demo_layers):
    """The demo image (Debian bookworm + python3, Jinja2 2.11.2, PyYAML 5.3.1, a web app), pushed for real."""
    from vexxy.demo.images import DEMO
    from vexxy.oci.build import push_image
    from vexxy.oci.reference import parse_reference
    from vexxy.oci.registry_client import RegistryClient

    ref = parse_reference(f"{registry.address}/{DEMO.repository}:{DEMO.tag}")
    digest, _ = push_image(RegistryClient(), ref, demo_layers, DEMO.runtime, tag=DEMO.tag)
    return ref.with_digest(digest)


@pytest.fixture(scope="session")
def demo_syft_json(demo_image):
    """Syft's native JSON for the demo image, from the real Syft binary scanning the registry."""
    import json

    from vexxy.sbom.syft import SyftScanner

    output = SyftScanner().scan_registry_image(demo_image.canonical(), demo_image.registry, "linux/amd64")
    return json.loads(output.native)


@pytest.fixture(scope="session")
def analyzed_demo(demo_image, tmp_path_factory):
    """The demo image analyzed once through `vexxy analyze` (by tag); returns the output directory."""
    from vexxy_pipelines.cli import main

    out = tmp_path_factory.mktemp("analysis")
    assert main(["analyze", f"{demo_image.name}:1.0", "--out", str(out)]) == 0
    return out


@pytest.fixture
def instance():
    from dagster import DagsterInstance

    from vexxy_pipelines.instance import ensure_dagster_home

    ensure_dagster_home()
    return DagsterInstance.get()


@pytest.fixture(scope="session")
def token_registry():
    """A real Distribution registry in token mode, with its token service (user `ci`, password `t0ken`)."""
    from token_service import TokenService

    from vexxy.demo.registry import LocalRegistry

    root = SESSION_DIR / "token-registry"
    root.mkdir(parents=True, exist_ok=True)
    service = TokenService(root, "ci", "t0ken")
    server = LocalRegistry(root=root, port=free_port(), extra_config=service.registry_config()).start()
    yield server, service
    server.stop()
    service.close()


@pytest.fixture(scope="session")
def vulnerable_image(registry):
    """A deliberately vulnerable web app (reflected XSS, SQL injection on SQLite) on the Debian base."""
    from vexxy.demo.images import debian_python_layer
    from vexxy.oci.build import RuntimeConfig, directory_entry, file_entry, layer_from_entries, push_image
    from vexxy.oci.reference import parse_reference
    from vexxy.oci.registry_client import RegistryClient

    app = (Path(__file__).parent / "helpers" / "apps" / "vulnerable_app.py").read_text()
    layers = [
        debian_python_layer(log=lambda message: None),
        layer_from_entries([directory_entry("app"), file_entry("app/app.py", app)]),
    ]
    ref = parse_reference(f"{registry.address}/vexxy/vulnerable:1")
    runtime = RuntimeConfig(
        entrypoint=["python3", "/app/app.py"], exposed_ports=["8080/tcp"], user="65534:65534", working_dir="/app"
    )
    digest, _ = push_image(RegistryClient(), ref, layers, runtime, tag="1")
    return ref.with_digest(digest)


@pytest.fixture(scope="session")
def app_sessions():
    """Sessions on the application database (PostgreSQL, migrated to head for this test session)."""
    from appdb.engine import make_engine, make_sessionmaker

    engine = make_engine(os.environ["DATABASE_URL"])
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def localstripe():
    from stripe_proxy import LocalStripe

    server = LocalStripe()
    yield server
    server.close()


@pytest.fixture
def stripe_proxy(localstripe):
    """A fresh proxy (no cached replays, no faults) in front of the session's localstripe."""
    from stripe_proxy import StripeProxy

    proxy = StripeProxy(localstripe.url)
    yield proxy
    proxy.close()
