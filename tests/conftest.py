"""Real parts for the tests: a Distribution registry, locally built images, a PostgreSQL database.

The environment is set before any vexxy module reads it: every test process gets its own
VEXXY_HOME, evidence directory, DAGSTER_HOME, a fresh PostgreSQL database for Dagster's storage
and a migrated application database, all dropped when the process that made them exits. Each
pytest session gets its own copy of the application database, so later sessions in the same
process, or in forks of it (how the mutation runner tests each mutant), start clean.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from ports import free_port

SESSION_DIR = Path(os.environ.get("VEXXY_TEST_SESSION_DIR") or tempfile.gettempdir())  # set by pytest_configure
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> str:
    return os.environ.get("VEXXY_TEST_ADMIN_URL") or os.environ.get("DATABASE_URL") or DEFAULT_ADMIN_URL


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


def _start_process_resources() -> None:
    """This process's directory, Dagster database and a migrated application database to copy from."""
    directory = Path(tempfile.mkdtemp(prefix="vexxy-tests-"))
    prefix = f"vexxy_test_{uuid.uuid4().hex[:10]}"
    connection, url = _admin_connection()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{prefix}"')
        cursor.execute(f'CREATE DATABASE "{prefix}_app"')
    connection.close()
    atexit.register(_drop_process_resources, os.getpid(), url, prefix, directory)
    from appdb.migrate import upgrade

    upgrade(_with_database(url, f"{prefix}_app"))
    os.environ.update(
        {
            "VEXXY_TEST_SESSION_DIR": str(directory),
            "VEXXY_TEST_DATABASE_PREFIX": prefix,
            "VEXXY_TEST_ADMIN_URL": url,
            "VEXXY_HOME": str(directory),
            "VEXXY_EVIDENCE_DIR": str(directory / "evidence"),
            "DAGSTER_HOME": str(directory / "dagster"),
            "DAGSTER_PG_URL": _with_database(url, prefix),
            "VEXXY_DEPLOYMENT": "test",
            "VEXXY_OBSERVATION_SECONDS": "20",
            "VEXXY_QUIET_SECONDS": "4",
            "VEXXY_ALLOWED_REGISTRIES": "127.0.0.1",  # the tests' local registries, on any port
        }
    )
    os.environ.pop("VEXXY_OSV_SOURCE", None)


def _drop_process_resources(owner: int, admin_url: str, prefix: str, directory: Path) -> None:
    if os.getpid() != owner:  # a forked child exiting: these are its parent's
        return
    import psycopg2

    connection = psycopg2.connect(admin_url, connect_timeout=5)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix.replace("_", r"\_") + "%",))
        for (database,) in cursor.fetchall():
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    connection.close()
    shutil.rmtree(directory, ignore_errors=True)


def pytest_configure(config):
    """Every pytest session gets a fresh application database, copied from the migrated one."""
    global SESSION_DIR
    if not Path(os.environ.get("VEXXY_TEST_SESSION_DIR") or "/nonexistent").is_dir():
        _start_process_resources()
    SESSION_DIR = Path(os.environ["VEXXY_TEST_SESSION_DIR"])
    prefix = os.environ["VEXXY_TEST_DATABASE_PREFIX"]
    database = f"{prefix}_app_{uuid.uuid4().hex[:8]}"
    connection, url = _admin_connection()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}" TEMPLATE "{prefix}_app"')
    connection.close()
    config._vexxy_app_database = database
    os.environ["DATABASE_URL"] = _with_database(url, database)
    from secrets_key import TEST_SECRETS_KEY

    os.environ["VEXXY_SECRETS_KEY"] = TEST_SECRETS_KEY  # before any step process can fork (see secrets_key.py)


def pytest_unconfigure(config):
    database = getattr(config, "_vexxy_app_database", None)
    if database:
        connection, _ = _admin_connection()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.close()


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
    from vexxy_pipelines.cli.main import main

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
def postgres_sessions():
    """Sessions on the application database on PostgreSQL (migrated to head for this test session)."""
    from appdb.engine import make_engine, make_sessionmaker

    engine = make_engine(os.environ["DATABASE_URL"])
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def app_sessions(postgres_sessions):
    """The application database a test uses; a directory or module whose tests run on both backends overrides this
    with `app_database.sessions`."""
    return postgres_sessions


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


@pytest.fixture(params=["postgres", "sqlite"])
def app_database(request, tmp_path):
    """The application database on the test session's PostgreSQL, or on a fresh SQLite file migrated to head."""
    from app_databases import open_app_database

    with open_app_database(request.param, tmp_path) as database:
        yield database


@pytest.fixture
def api_settings():
    """What the API under test is given: the session's PostgreSQL and the tests' signing key. A module that needs
    more (another database, an evidence directory, Stripe) overrides this fixture with `dataclasses.replace` of it."""
    from billing_helpers import JWT_KEY

    from vexxy_api.settings import ApiSettings

    return ApiSettings(database_url=os.environ["DATABASE_URL"], jwt_key=JWT_KEY)


@pytest.fixture
def client(api_settings):
    """The API on `api_settings`, started and stopped with its lifespan."""
    from fastapi.testclient import TestClient

    from vexxy_api.app import create_app

    with TestClient(create_app(api_settings)) as test_client:
        yield test_client
