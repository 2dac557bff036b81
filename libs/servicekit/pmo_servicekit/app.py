"""The FastAPI app factory every service uses: auth, problems, health, metrics, the contract, docs, CORS."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from pmo_events.runtime import KafkaSettings
from pmo_servicekit import worker_process
from pmo_servicekit.auth import Authenticator
from pmo_servicekit.contract.document import install_contract, operation_id
from pmo_servicekit.docs import install_docs
from pmo_servicekit.edge import Edge
from pmo_servicekit.health import router as health_router
from pmo_servicekit.metrics import install_metrics
from pmo_servicekit.problems import install_problem_handlers
from pmo_servicekit.routing import flat_dispatch
from pmo_servicekit.service import ServiceDefinition, ServiceRuntime
from pmo_servicekit.settings import ServiceSettings
from pmo_servicekit.telemetry import FASTAPI_TELEMETRY_OFF, UNTRACED_PATHS, install_telemetry


def create_app(
    definition: ServiceDefinition,
    settings: ServiceSettings | None = None,
    kafka: KafkaSettings | None = None,
) -> FastAPI:
    settings = settings or ServiceSettings()
    kafka = kafka or KafkaSettings()
    runtime = ServiceRuntime(definition, settings, kafka)
    worker_process.IDLE_SECONDS = settings.worker_idle_seconds
    worker_process.TIMEOUT_SECONDS = settings.worker_timeout_seconds

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if definition.warm_up is not None:  # before the first request: uvicorn serves once startup is done
            await asyncio.to_thread(definition.warm_up)
        await runtime.start()
        backlog.start()
        # What exists once the service has started (modules, routes, models, settings) lives as long as the
        # process: the cyclic garbage collector stops walking it at every full collection, which took half
        # the CPU of a cold `as_of` answer in reporting (issue 17). Objects frozen are still freed when no
        # longer referenced; they are thawed at shutdown so that an app started by a test can be collected.
        # A process that froze its heap before (a test session: the root conftest.py) keeps its own frozen set:
        # no full collection of that heap at every start (0.5 s of CPU per app in the whole suite's process),
        # no thaw at shutdown, and what the app made stays with the collector.
        freezes = gc.get_freeze_count() == 0
        if freezes:
            gc.collect()
            gc.freeze()
        yield
        if freezes:
            gc.unfreeze()
        if definition.on_stop is not None:
            await definition.on_stop(_app)
        await backlog.stop()
        await runtime.stop(grace=settings.shutdown_grace_seconds / 2)
        telemetry.shutdown()

    app = FastAPI(
        title=f"PMO {definition.title}",
        description=definition.description,
        version=definition.api_version,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,
        redoc_url=None,
        telemetry=FASTAPI_TELEMETRY_OFF,  # the edge makes the one server span (pmo_servicekit.telemetry)
    )
    app.state.runtime = runtime
    app.state.authenticator = Authenticator(settings)
    install_problem_handlers(app, definition.problem_table)
    telemetry = install_telemetry(app, runtime)
    backlog = install_metrics(app, runtime, telemetry)
    # Server span (unless the instrumentor makes it), request id and access line, metrics, input guard: one layer.
    app.add_middleware(
        Edge, metrics=app.state.request_metrics, tracer=telemetry.server_tracer, untraced_paths=UNTRACED_PATHS
    )
    if settings.cors_origins:
        # Outside the rest: a browser's preflight is answered before auth, guards and metrics.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                *("Authorization", "Content-Type", "Accept"),
                *("If-Match", "Idempotency-Key", "X-Correlation-Id"),
            ],
            expose_headers=["ETag", "Location", "Retry-After", "Idempotent-Replayed"],
            max_age=600,
        )
    app.include_router(health_router)
    for router in definition.routers:
        app.include_router(router)
    install_docs(app)
    install_contract(app)
    flat_dispatch(app.router)  # each included router's routes matched once per request (issue 17)
    return app
