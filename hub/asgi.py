"""ASGI entry point for uvicorn (`hub serve`) and any other ASGI server."""

from hub.app import create_asgi

app = create_asgi()
