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

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from dot_orchestration._extras import extra_required
from dot_orchestration.warehouse._staged import (
    AfterDelete,
    DbApiConnection,
    Dialect,
    StagedSession,
)

with extra_required("redshift", feature="The Redshift warehouse writer"):
    import psycopg2

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


class RedshiftLocation(BaseModel):
    """Where the Redshift cluster (or Serverless workgroup) is and how to log in.

    The password is a `SecretStr` handed to libpq as a keyword, never inside a DSN an error
    could quote. ``sslmode`` defaults to ``require``: Redshift endpoints are reached over
    the network.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    host: str = Field(min_length=1)
    port: int = Field(default=5439, gt=0, lt=65536)
    dbname: str = Field(min_length=1)
    user: str = Field(min_length=1)
    password: SecretStr
    sslmode: str | None = "require"
    connect_timeout_s: int = Field(default=10, gt=0)

    def connect(self) -> Any:
        """An autocommit connection: the session spells ``BEGIN`` and ``COMMIT`` itself."""
        extra: dict[str, Any] = {"sslmode": self.sslmode} if self.sslmode else {}
        connection = psycopg2.connect(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user,
            password=self.password.get_secret_value(),
            connect_timeout=self.connect_timeout_s,
            application_name="dot_orchestration",
            client_encoding="UTF8",
            **extra,
        )
        connection.autocommit = True
        return connection

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
