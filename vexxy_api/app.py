"""The FastAPI application (`uvicorn vexxy_api.app:app`)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from appdb.engine import make_engine, make_sessionmaker
from vexxy_api import (
    analysis_routes,
    billing_routes,
    health,
    metrics,
    organization_routes,
    registry_routes,
    webhook_routes,
)
from vexxy_api.errors import (
    DATABASE_DOWN,
    ApiError,
    correlation_middleware,
    render_api_error,
    render_database_unavailable,
    render_http_error,
    render_unexpected,
    render_validation_error,
)
from vexxy_api.limits import InputLimits
from vexxy_api.logs import configure_logging
from vexxy_api.metrics import ApiMetrics, RequestMetrics
from vexxy_api.settings import ApiSettings


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    configure_logging(settings.log_format)
    app = FastAPI(title="vexxy API", version="1", openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs")
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.sessions = make_sessionmaker(app.state.engine)
    app.state.metrics = ApiMetrics(app.state.sessions)
    app.add_exception_handler(ApiError, render_api_error)
    app.add_exception_handler(RequestValidationError, render_validation_error)
    app.add_exception_handler(StarletteHTTPException, render_http_error)
    for error in DATABASE_DOWN:
        app.add_exception_handler(error, render_database_unavailable)
    app.add_exception_handler(Exception, render_unexpected)
    app.middleware("http")(correlation_middleware)
    app.add_middleware(InputLimits)  # runs before parsing and authentication
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)  # added last, so it runs first: it sees every answer
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(analysis_routes.router)
    app.include_router(billing_routes.router)
    app.include_router(organization_routes.router)
    app.include_router(registry_routes.router)
    app.include_router(webhook_routes.router)
    return app


app = create_app()
