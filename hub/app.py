"""The composition root: the only kernel module that knows every package, and assembles the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.stores.base import Store
from litestar.template.config import TemplateConfig

from hub import crypto, db, extension
from hub.auth.middleware import AuthMiddleware
from hub.auth.sessions import SessionConfig
from hub.packages import PACKAGES, import_optional
from hub.raw_sockets import ASGIApp, WithRawSockets
from hub.settings import Settings, get_settings

log = logging.getLogger("hub.app")

# Routes opt out of authentication one by one with `opt={"public": True}`; only the OpenAPI pages,
# which the framework adds, are matched by path.
PUBLIC_PATHS = ["^/schema"]


_background: dict[str, Any] = {}


def load_extensions() -> list[extension.Extension]:
    for name in PACKAGES:
        module = import_optional(name)
        ext = getattr(module, "extension", None)
        if isinstance(ext, extension.Extension):
            extension.register(ext)
    return extension.extensions()


async def start_services(settings: Settings, *, web: bool) -> None:
    """Database, broker, queue and package hooks; shared by the web process and `hub worker`."""
    from hub import fanout
    from hub.jobs import set_queue
    from hub.realtime import Broker, set_broker
    from hub.realtime.memory import MemoryTransport
    from hub.settings import set_active

    set_active(settings)
    crypto.configure(settings.secret_key)
    db.init_engine(settings.effective_database_url)
    transport: Any
    if settings.redis_url:
        from hub.realtime.redis import RedisTransport

        transport = RedisTransport(settings.redis_url, settings.redis_namespace)
    else:
        transport = MemoryTransport()
    broker = Broker(transport)
    await broker.start()
    set_broker(broker)
    fanout.install()
    queue: Any
    if settings.redis_url:
        from hub.jobs.saq_queue import SaqQueue

        queue = SaqQueue(settings.redis_url, settings.redis_namespace)
    else:
        from hub.jobs.inprocess import InProcessQueue

        queue = InProcessQueue()
    await queue.start()
    set_queue(queue)
    from hub import dispatch  # registers delivery jobs
    from hub.ingest import enable_batching

    enable_batching(settings.ingest_batching)

    dispatch.configure(lease_seconds=settings.delivery_lease_seconds)

    for ext in extension.extensions():
        if ext.setup is not None:
            ext.setup()
    if web and settings.redis_url and settings.jobs_in_web:
        from hub.jobs.saq_queue import build_worker

        worker = build_worker(queue, handle_signals=False)
        _background["saq-worker"] = (worker, asyncio.create_task(worker.start()))
    for ext in extension.extensions():
        for hook in ext.on_startup:
            await hook()
        if web:
            for hook in ext.on_web_startup:
                await hook()


async def stop_services() -> None:
    from hub import events
    from hub.ingest import disable_batching
    from hub.jobs import get_queue, set_queue
    from hub.realtime import get_broker, set_broker

    # Let background subscribers finish what was already emitted (the demo seed's workflow, a last message)
    # before their connections go away.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(events.drain(), 10)
    await disable_batching()
    for ext in reversed(extension.extensions()):
        for hook in ext.on_shutdown:
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed")
    entry = _background.pop("saq-worker", None)
    if entry is not None:
        worker, task = entry
        await worker.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    try:
        await get_queue().stop()
    except RuntimeError:
        pass
    set_queue(None)
    try:
        await get_broker().stop()
    except RuntimeError:
        pass
    set_broker(None)
    events.unsubscribe_all()
    await db.dispose_engine()


def _session_store(settings: Settings) -> Store:
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_namespace}-sessions")
    from litestar.stores.file import FileStore

    return FileStore(Path(settings.data_dir) / "sessions", create_directories=True)


def _internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        {
            "status_code": 500,
            "detail": "Something went wrong on our side; it has been logged. Try again shortly.",
        },
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
    )


def create_app(settings: Settings | None = None, *, manage_services: bool = True) -> Litestar:
    """`manage_services=False` lets a caller (the tests) run start_services on its own event loop."""
    settings = settings or get_settings()
    exts = load_extensions()

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if not manage_services:
            yield
            return
        await start_services(settings, web=True)
        try:
            yield
        finally:
            await stop_services()

    handlers: list[Any] = []
    template_dirs: list[Path | os.PathLike[Any] | str] = []
    for ext in exts:
        handlers.extend(ext.route_handlers)
        template_dirs.extend(ext.template_dirs)
        for prefix, directory in ext.static_dirs.items():
            handlers.append(
                create_static_files_router(
                    path=prefix,
                    directories=[directory],
                    name=f"static-{prefix}",
                    include_in_schema=False,
                    opt={"public": True},
                )
            )
    session_config = SessionConfig(
        key="hub_session",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https"),
        max_age=14 * 24 * 3600,
    )
    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        middleware=[
            session_config.middleware,
            DefineMiddleware(
                AuthMiddleware,
                exclude=PUBLIC_PATHS,
                exclude_from_auth_key="public",
                exclude_http_methods=["OPTIONS"],
            ),
        ],
        stores={"sessions": _session_store(settings)},
        template_config=TemplateConfig(directory=template_dirs or [Path(__file__).parent], engine=JinjaTemplateEngine)
        if template_dirs
        else None,
        openapi_config=OpenAPIConfig(
            title="Support hub API", version="1", path="/schema", render_plugins=[SwaggerRenderPlugin()]
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        request_max_body_size=settings.max_body_bytes,
        exception_handlers={HTTP_500_INTERNAL_SERVER_ERROR: _internal_error},
        debug=settings.debug,
    )
    app.state.settings = settings
    return app


def create_asgi(settings: Settings | None = None) -> WithRawSockets:
    """The app as servers run it: the framework app, with the extensions' raw WebSocket routes in front."""
    settings = settings or get_settings()
    app = create_app(settings)
    routes = {path: handler for ext in extension.extensions() for path, handler in ext.sockets.items()}
    framework: ASGIApp = cast("ASGIApp", app)  # Litestar's scope types are TypedDicts of the same dicts
    return WithRawSockets(framework, routes, settings)
