"""The FastAPI application (`uvicorn vexxy_api.app:app`)."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from appdb.engine import make_engine, make_sessionmaker
from vexxy_api import analysis_routes, billing_routes, organization_routes, registry_routes, webhook_routes
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
from vexxy_api.settings import ApiSettings

logging.basicConfig(level=logging.INFO, format="%(message)s")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    app = FastAPI(title="vexxy API", version="1", openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs")
    app.state.settings = settings
    app.state.sessions = make_sessionmaker(make_engine(settings.database_url))
    app.add_exception_handler(ApiError, render_api_error)
    app.add_exception_handler(RequestValidationError, render_validation_error)
    app.add_exception_handler(StarletteHTTPException, render_http_error)
    for error in DATABASE_DOWN:
        app.add_exception_handler(error, render_database_unavailable)
    app.add_exception_handler(Exception, render_unexpected)
    app.middleware("http")(correlation_middleware)
    app.add_middleware(InputLimits)  # added last, so it runs first: before parsing and authentication
    app.include_router(analysis_routes.router)
    app.include_router(billing_routes.router)
    app.include_router(organization_routes.router)
    app.include_router(registry_routes.router)
    app.include_router(webhook_routes.router)
    return app


app = create_app()
