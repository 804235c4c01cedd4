"""Routes first-party code declares, read statically from Flask, FastAPI and Django source."""

from dataclasses import replace

from vexxy.declared_route import DeclaredRoute
from vexxy.imports.image_files import ImageFiles
from vexxy.imports.routes import MAX_FILE_BYTES, declared_routes, first_party_routes, registry_routes
from vexxy.imports.sites import EntryPoint

FLASK = """
from flask import Blueprint, Flask
app = Flask(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")

@app.route("/")
def index(): ...

@app.route("/upload", methods=["GET", "POST"])
def upload(): ...

@bp.post("/items/<int:item_id>")
def create(item_id): ...

@bp.get("/")
def listing(): ...

app.add_url_rule("/legacy/<name>", view_func=index, methods=("PUT",))
PATH = "/computed"

@app.route(PATH)
def computed(): ...

settings = {}
value = settings.get("/not-a-route")
"""

FASTAPI = """
from fastapi import APIRouter, FastAPI
app = FastAPI()
router = APIRouter(prefix="/users")

@app.get("/health")
async def health(): ...

@router.delete("/{user_id}")
async def remove(user_id: int): ...

@router.api_route("/{user_id}/avatar", methods=["PUT", "PATCH"])
async def avatar(user_id: int): ...
"""

DJANGO = """
from django.urls import include, path as route, re_path
from os import path as os_path
from . import views

urlpatterns = [
    route("orders/<int:pk>/", views.order),
    route("api/", include("api.urls")),
    re_path(r"^legacy/(?P<x>\\d+)$", views.legacy),
    route("", views.home, name="home"),
]
os_path("/not/a/route", "x")
"""


def keys(routes):
    return [(r.method, r.path) for r in routes]


def test_flask_routes_blueprint_prefixes_and_converters():
    routes = declared_routes("/app/app.py", FLASK)
    assert keys(routes) == [
        ("GET", "/"),
        ("GET", "/upload"),
        ("POST", "/upload"),
        ("POST", "/api/v1/items/{item_id}"),
        ("GET", "/api/v1/"),
        ("PUT", "/legacy/{name}"),
    ]
    assert routes[0] == DeclaredRoute("GET", "/", "/app/app.py:6")


def test_fastapi_routes_with_router_prefix():
    assert keys(declared_routes("/app/main.py", FASTAPI)) == [
        ("GET", "/health"),
        ("DELETE", "/users/{user_id}"),
        ("PUT", "/users/{user_id}/avatar"),
        ("PATCH", "/users/{user_id}/avatar"),
    ]


def test_django_literal_paths_only_from_django_urls():
    routes = declared_routes("/app/shop/urls.py", DJANGO)
    assert keys(routes) == [("GET", "/orders/{pk}/"), ("GET", "/")]
    assert routes[0].where == "/app/shop/urls.py:7"


def test_unparsable_source_declares_nothing():
    assert declared_routes("/app/broken.py", "def (:\n") == []
    assert declared_routes("/app/nul.py", b"x = 1\x00") == []


def test_first_party_routes_come_from_the_application_files_only(tmp_path):
    (tmp_path / "app" / "api").mkdir(parents=True)
    (tmp_path / "app" / "main.py").write_text(FASTAPI)
    (tmp_path / "app" / "api" / "views.py").write_text(FLASK)
    site = tmp_path / "usr" / "lib" / "python3" / "dist-packages" / "lib"
    site.mkdir(parents=True)
    (site / "routes.py").write_text('@app.get("/library-route")\ndef f(): ...\n')
    routes, notes = first_party_routes(ImageFiles(tmp_path), EntryPoint(("python3", "/app/main.py"), "/app"))
    assert {r.path for r in routes} >= {"/health", "/upload", "/api/v1/items/{item_id}"}
    assert "/library-route" not in {r.path for r in routes} and notes == []
    assert {r.where.split(":")[0] for r in routes} == {"/app/main.py", "/app/api/views.py"}


def test_reading_first_party_sources_for_routes_is_bounded(tmp_path):
    (tmp_path / "app").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "app" / f"{name}.py").write_text(f'@app.get("/{name}")\ndef f(): ...\n' + "#" * 1000 + "\n")
    routes, notes = first_party_routes(ImageFiles(tmp_path), EntryPoint(("python3", "/app/a.py"), "/app"), max_bytes=2500)
    assert [r.path for r in routes] == ["/a", "/b"]
    assert notes == ["first-party sources beyond 2500 bytes were not read for routes, from /app/c.py on"]


def test_routes_are_read_from_an_images_layers_in_the_registry(registry):
    from sandbox_images import python_image

    from vexxy.oci.registry_client import RegistryClient

    code = 'from flask import Flask\napp = Flask(__name__)\n\n@app.post("/api/upload")\ndef upload(): ...\n'
    pushed = python_image(registry, "declared-routes", code, ports=["8080/tcp"])
    client = RegistryClient()
    routes, notes = registry_routes(client, pushed)
    assert routes == [DeclaredRoute("POST", "/api/upload", "/app/main.py:4")] and notes == []
    missing = replace(pushed, name=f"{registry.address}/hostile/absent", reference=f"{registry.address}/hostile/absent:1")
    routes, notes = registry_routes(client, missing)
    assert routes == [] and notes[0].startswith("first-party code not read for routes: ")
    client.close()


def test_a_first_party_file_too_large_to_be_hand_written_is_not_parsed(tmp_path):
    """Parsing takes about 500 bytes of memory per byte of a long literal: one 32 MiB file would need gigabytes."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "a.py").write_text('@app.get("/a")\ndef f(): ...\n')
    (tmp_path / "app" / "b.py").write_text('@app.get("/b")\ndef f(): ...\nx = [' + "1," * (MAX_FILE_BYTES // 2) + "]\n")
    routes, notes = first_party_routes(ImageFiles(tmp_path), EntryPoint(("python3", "/app/a.py"), "/app"))
    assert [r.path for r in routes] == ["/a"]
    assert notes == [f"/app/b.py: larger than {MAX_FILE_BYTES} bytes, not read for routes"]
