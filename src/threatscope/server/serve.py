"""Running the server: uvicorn in this process, stopped gracefully on SIGINT/SIGTERM (requests in
flight finish, for up to `grace` seconds), access log as JSON lines on stderr."""

from __future__ import annotations

import logging
import sys

import uvicorn

from threatscope.errors import ConfigError
from threatscope.knowledge_base import KnowledgeBase
from threatscope.server.app import create_app
from threatscope.server.principal import Authenticator

__all__ = ["serve"]


def serve(
    location: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    authenticator: Authenticator | None = None,
    anonymous_read: bool = False,
    grace: float = 10.0,
) -> None:
    """Serve the knowledge base at `location` until interrupted. A missing knowledge base is a
    ConfigError before anything listens."""
    with KnowledgeBase(location, read_only=True) as kb:
        kb.stats()  # fails here, in one line, when there is no knowledge base
    if not 0 < port < 65536:
        raise ConfigError(f"port {port}: expected 1 to 65535")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("threatscope.access", "threatscope.server"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(logging.INFO)
        log.propagate = False
    app = create_app(location, authenticator=authenticator, anonymous_read=anonymous_read)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        timeout_keep_alive=5,
        timeout_graceful_shutdown=int(grace),
        server_header=False,
    )
    uvicorn.Server(config).run()
