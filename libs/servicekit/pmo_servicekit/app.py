"""The FastAPI app factory every service uses: auth, problems, health, metrics, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from pmo_events.runtime import KafkaSettings
from pmo_servicekit.auth import Authenticator
from pmo_servicekit.guards import InputGuard
from pmo_servicekit.health import install_metrics
from pmo_servicekit.health import router as health_router
from pmo_servicekit.problems import install_problem_handlers
from pmo_servicekit.service import ServiceDefinition, ServiceRuntime
from pmo_servicekit.settings import ServiceSettings
from pmo_servicekit.tracing import install_tracing


def create_app(
    definition: ServiceDefinition,
    settings: ServiceSettings | None = None,
    kafka: KafkaSettings | None = None,
) -> FastAPI:
    settings = settings or ServiceSettings()
    kafka = kafka or KafkaSettings()
    runtime = ServiceRuntime(definition, settings, kafka)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        yield
        await runtime.stop(grace=settings.shutdown_grace_seconds / 2)

    app = FastAPI(
        title=f"PMO {definition.title}",
        description=definition.description,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.authenticator = Authenticator(settings)
    install_problem_handlers(app)
    app.add_middleware(InputGuard)
    install_metrics(app, runtime)
    install_tracing(app, runtime, settings)
    app.include_router(health_router)
    for router in definition.routers:
        app.include_router(router)
    return app
