"""Atomic partition replacement in Snowflake: the staged writer (`_staged`) in Snowflake's SQL.

What Snowflake does differently, and what this module does about it:

* **DDL commits.** ``CREATE`` ends any open transaction, so the table is created, and each
  frame staged into a ``TEMPORARY`` table (in the export's schema, made the session's
  current one: the role needs ``CREATE TABLE`` on it), before ``BEGIN``; the transaction
  holds only the ``DELETE``, the ``INSERT … SELECT`` from the stage and the verifying count.
* **Unquoted names are upper case.** A table created as ``"dot_history"."conversations"``
  would be invisible to ``select * from dot_history.conversations`` (and to dbt sources,
  which do not quote). Names made only of lower-case letters, digits and underscores are
  therefore stored in upper case (``DOT_HISTORY.CONVERSATIONS``, ``CONVERSATION_ID``), as if
  unquoted, and read back in lower case; any other name is kept exactly.
* **Types**: ``NUMBER`` (38, 0), ``FLOAT``, ``TEXT``, ``BOOLEAN``, ``DATE``,
  ``TIMESTAMP_NTZ`` holding UTC (no session time zone plays a part).
* **Concurrent writers**: Snowflake's ``DELETE`` takes the table's lock until ``COMMIT``, so
  a second writer of the same table waits (up to the session's ``LOCK_TIMEOUT``, set from
  ``lock_timeout_s``).

The tests run it on fakesnow (Snowflake's SQL translated onto DuckDB, in-process): the
statements, the transaction, a crash between ``DELETE`` and ``INSERT``; not Snowflake's
own locking, permissions or limits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from dot_orchestration._extras import extra_required
from dot_orchestration.warehouse._staged import (
    AfterDelete,
    DbApiConnection,
    Dialect,
    StagedSession,
    simple_identifier,
)

with extra_required("snowflake", feature="The Snowflake warehouse writer"):
    import snowflake.connector

__all__ = ["SnowflakeDialect", "SnowflakeLocation", "check_login"]


def check_login(*, password: bool, private_key_file: bool, authenticator: str | None) -> None:
    """Exactly one way to log in, checked when the configuration loads, not at the first
    connection: a password, a key pair, or another authenticator (which may take none)."""
    if password and private_key_file:
        raise ValueError("set `password` or `private_key_file`, not both")
    if not (password or private_key_file or authenticator):
        raise ValueError(
            "set how to log in to Snowflake: `password`, `private_key_file` (key-pair "
            "authentication) or `authenticator` (e.g. 'oauth', 'externalbrowser')"
        )


class SnowflakeDialect(Dialect):
    name = "Snowflake"
    types: ClassVar = {
        "BIGINT": "NUMBER",
        "DOUBLE": "FLOAT",
        "VARCHAR": "TEXT",
        "BOOLEAN": "BOOLEAN",
        "DATE": "DATE",
        "TIMESTAMP": "TIMESTAMP_NTZ",
    }
    # Snowflake's statement text is bounded (1 MB is the documented safe size): stage in
    # statements well under it.
    max_statement_bytes = 512 << 10

    def create_stage(self, schema: str, stage: str, columns: Mapping[str, str]) -> list[str]:
        """In the export's schema: a temporary table needs a current schema, and the
        connection may have none (a ``CREATE SCHEMA`` made it current only when it ran)."""
        return [f"USE SCHEMA {self.quote(schema)}", *super().create_stage(schema, stage, columns)]

    def identifier(self, name: str) -> str:
        return name.upper() if simple_identifier(name) and name == name.lower() else name

    def column_name(self, stored: str) -> str:
        return stored.lower() if simple_identifier(stored) and stored == stored.upper() else stored


class SnowflakeLocation(BaseModel):
    """Which Snowflake account, database and warehouse, and how to log in.

    Give exactly one of ``password`` and ``private_key_file`` (key-pair authentication, what
    Snowflake asks of service users); both are kept out of reprs and validation errors and
    handed to the connector as keywords. ``schema`` of the export is its own setting: the
    connection needs only the database.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    account: str = Field(min_length=1)
    user: str = Field(min_length=1)
    database: str = Field(min_length=1)
    warehouse: str | None = None
    role: str | None = None
    password: SecretStr | None = None
    private_key_file: Path | None = None
    private_key_file_pwd: SecretStr | None = None
    authenticator: str | None = None
    login_timeout_s: int = Field(default=60, gt=0)
    lock_timeout_s: int = Field(default=120, ge=0)

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> SnowflakeLocation:
        check_login(
            password=self.password is not None,
            private_key_file=self.private_key_file is not None,
            authenticator=self.authenticator,
        )
        return self

    def connect(self) -> Any:
        """A connection in autocommit mode with UTC as its time zone."""
        secrets: dict[str, Any] = {}
        if self.password is not None:
            secrets["password"] = self.password.get_secret_value()
        if self.private_key_file is not None:
            secrets["private_key_file"] = str(self.private_key_file)
        if self.private_key_file_pwd is not None:
            secrets["private_key_file_pwd"] = self.private_key_file_pwd.get_secret_value()
        optional = {
            "warehouse": self.warehouse,
            "role": self.role,
            "authenticator": self.authenticator,
        }
        return snowflake.connector.connect(
            account=self.account,
            user=self.user,
            database=self.database,
            login_timeout=self.login_timeout_s,
            autocommit=True,
            application="dot_orchestration",
            session_parameters={"TIMEZONE": "UTC", "LOCK_TIMEOUT": self.lock_timeout_s},
            **{key: value for key, value in optional.items() if value is not None},
            **secrets,
        )

    @contextmanager
    def session(
        self, *, read_only: bool = False, after_delete: AfterDelete | None = None
    ) -> Iterator[StagedSession]:
        """One connection for a run's writes (or a check's reads)."""
        with closing(self.connect()) as connection:
            yield StagedSession(
                DbApiConnection(connection, errors=(snowflake.connector.Error,)),
                SnowflakeDialect(),
                read_only=read_only,
                after_delete=after_delete,
            )
