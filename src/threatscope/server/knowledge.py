"""The server's knowledge bases: one read-only `KnowledgeBase` per worker thread (SQLite
connections belong to the thread that opened them; a PostgreSQL one is kept warm), and a
writable one opened for each write, so a write never shares a connection with a read."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threatscope.knowledge_base import KnowledgeBase

__all__ = ["KnowledgeBases"]


class KnowledgeBases:
    def __init__(self, location: str) -> None:
        self.location = location
        self._local = threading.local()
        self._opened: list[KnowledgeBase] = []
        self._lock = threading.Lock()

    def reader(self) -> KnowledgeBase:
        """This thread's read-only knowledge base."""
        kb: KnowledgeBase | None = getattr(self._local, "kb", None)
        if kb is None or kb.closed:
            kb = KnowledgeBase(self.location, read_only=True)
            self._local.kb = kb
            with self._lock:
                self._opened.append(kb)
        return kb

    @contextmanager
    def writer(self) -> Iterator[KnowledgeBase]:
        """A writable knowledge base for one write, closed after it."""
        with KnowledgeBase(self.location) as kb:
            yield kb

    def close(self) -> None:
        with self._lock:
            for kb in self._opened:
                # A worker thread's SQLite connection may only be closed by that thread; at
                # shutdown no request uses it any more, and garbage collection closes it.
                with contextlib.suppress(sqlite3.ProgrammingError):
                    kb.close()
            self._opened.clear()
