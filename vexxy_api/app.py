"""The FastAPI application (`uvicorn vexxy_api.app:app`)."""

from __future__ import annotations

from fastapi import FastAPI

from billing.db import make_engine, make_sessionmaker
from vexxy_api import billing_routes, webhook_routes
from vexxy_api.errors import ApiError, render_api_error
from vexxy_api.settings import ApiSettings


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or ApiSettings()
    app = FastAPI(title="vexxy API", version="1", openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs")
    app.state.settings = settings
    app.state.sessions = make_sessionmaker(make_engine(settings.database_url))
    app.add_exception_handler(ApiError, render_api_error)
    app.include_router(billing_routes.router)
    app.include_router(webhook_routes.router)
    return app


app = create_app()
