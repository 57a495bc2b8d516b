"""Atomic partition replacement in Amazon Redshift: the staged writer (`_staged`) in
Redshift's SQL, over psycopg2 (Redshift speaks PostgreSQL's protocol).

What Redshift does differently from the PostgreSQL writer (`_postgres`):

* **No ``COPY FROM STDIN``** (Redshift's ``COPY`` reads S3): frames are staged into a
  ``TEMPORARY`` table by multi-row ``INSERT`` statements, then moved with ``INSERT …
  SELECT`` inside the transaction.
* **No advisory locks**: ``LOCK`` on the written tables, first in the transaction,
  serialises two writers of the same day (the second waits, then replaces the first's rows).
* **Types**: ``VARCHAR(65535)`` for text (Redshift's ``TEXT`` is ``VARCHAR(256)``; a longer
  value fails the write, rolled back), ``DOUBLE PRECISION``, and ``TIMESTAMP`` holding UTC.

Every statement here is also valid PostgreSQL: the tests run this writer on a real
PostgreSQL 15 server (the transaction, the lock, a crash between ``DELETE`` and ``INSERT``);
Redshift itself is by construction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from typing import Any, ClassVar

from pydantic import Field

from dot_orchestration._extras import extra_required
from dot_orchestration.warehouse._staged import (
    AfterDelete,
    DbApiConnection,
    Dialect,
    StagedSession,
)

with extra_required("redshift", feature="The Redshift warehouse writer"):
    import psycopg2

    from dot_orchestration.warehouse._postgres import LibpqLogin

__all__ = ["RedshiftDialect", "RedshiftLocation"]


class RedshiftDialect(Dialect):
    name = "Redshift"
    types: ClassVar = {
        "BIGINT": "BIGINT",
        "DOUBLE": "DOUBLE PRECISION",
        "VARCHAR": "VARCHAR(65535)",
        "BOOLEAN": "BOOLEAN",
        "DATE": "DATE",
        "TIMESTAMP": "TIMESTAMP",
    }
    catalogued: ClassVar = {
        "CHARACTER VARYING": "VARCHAR(65535)",
        "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    }

    def lock(self, tables: Sequence[str]) -> list[str]:
        return [f"LOCK {', '.join(tables)}"]


class RedshiftLocation(LibpqLogin):
    """Where the Redshift cluster (or Serverless workgroup) is and how to log in.

    ``sslmode`` defaults to ``require``: Redshift endpoints are reached over the network.
    """

    port: int = Field(default=5439, gt=0, lt=65536)
    sslmode: str | None = "require"

    def connect(self) -> Any:
        """An autocommit connection (no startup options: Redshift takes few)."""
        return self._connect()

    @contextmanager
    def session(
        self, *, read_only: bool = False, after_delete: AfterDelete | None = None
    ) -> Iterator[StagedSession]:
        """One connection for a run's writes (or a check's reads)."""
        with closing(self.connect()) as connection:
            yield StagedSession(
                DbApiConnection(connection, errors=(psycopg2.Error,)),
                RedshiftDialect(),
                read_only=read_only,
                after_delete=after_delete,
            )
