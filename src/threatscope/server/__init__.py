"""`threatscope serve`: the knowledge base over HTTP (FastAPI): TAXII 2.1, a REST API and a web UI,
all answering through `KnowledgeBase`, on SQLite or PostgreSQL, from one process."""

from threatscope.server.app import create_app
from threatscope.server.principal import ANONYMOUS, Authenticator, Principal

__all__ = ["ANONYMOUS", "Authenticator", "Principal", "create_app"]
