"""Atomic partition replacement in Google BigQuery: the staged writer (`_staged`) in GoogleSQL.

What BigQuery does differently, and what this module does about it:

* **Datasets.** The export's schema is a dataset of the client's project, created (``CREATE
  SCHEMA``) in the location the queries run in (``location``, else BigQuery's default).
  Names are quoted with backticks; no BigQuery name holds a backtick or a backslash (which
  a quoted name would have to escape), so a name with one is refused.
* **The catalogue is the dataset's own** (`` `dataset`.INFORMATION_SCHEMA.COLUMNS ``):
  before the dataset exists, reading it fails with ``NotFound``, which means "no table".
* **Temporary tables live only inside one script**, and the bulk loader is a load job: each
  frame is loaded (as newline-delimited JSON, with explicit column types) into a regular
  table of the dataset, created just before with a one-day expiration, so a stage a killed
  writer could not drop expires on its own; the session drops it otherwise. (The client's
  own DataFrame loader is deprecated, for the pandas-gbq package.)
* **One script per write**: ``BEGIN TRANSACTION``, then for each table ``DELETE``, ``INSERT
  … SELECT`` from its stage and a check that fails the script unless the partitions hold
  exactly the staged rows, then ``COMMIT TRANSACTION``. A failing statement ends the
  script, and BigQuery rolls back the transaction it leaves open. The check is ``SELECT
  IF(…, TRUE, ERROR(…))``, not ``ASSERT``: BigQuery lists what a transaction may hold
  (``SELECT``, DML, temporary DDL), and ``ASSERT`` is not in the list.
* **Types**: ``INT64``, ``FLOAT64``, ``STRING``, ``BOOL``, ``DATE``, ``TIMESTAMP`` (the
  staged naive values are UTC, and come back as such).

The tests check what this writer asks BigQuery to do (``tests/warehouse/test_statements.py``:
every statement parsed as GoogleSQL and run against a model of the warehouse); BigQuery
itself cannot run there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from dot_orchestration._extras import extra_required
from dot_orchestration.warehouse._staged import (
    AfterDelete,
    Dialect,
    StagedSession,
    Transaction,
    frame_rows,
)
from dot_orchestration.warehouse.errors import SchemaMismatchError

with extra_required("bigquery", feature="The BigQuery warehouse writer"):
    import requests
    from google.api_core.exceptions import GoogleAPIError, NotFound
    from google.auth.credentials import Credentials
    from google.auth.exceptions import GoogleAuthError
    from google.cloud import bigquery
    from google.oauth2 import service_account

__all__ = ["BigQueryConnection", "BigQueryDialect", "BigQueryLocation"]

#: What no BigQuery name holds and a quoted one would have to escape.
_UNQUOTABLE = re.compile(r"[`\\\x00-\x1f\x7f]")
#: What a string literal written here keeps as it is; any other character is escaped.
_PLAIN = re.compile(r"[A-Za-z0-9 _.,:;()=<>+-]")


class BigQueryDialect(Dialect):
    name = "BigQuery"
    types: ClassVar = {
        "BIGINT": "INT64",
        "DOUBLE": "FLOAT64",
        "VARCHAR": "STRING",
        "BOOLEAN": "BOOL",
        "DATE": "DATE",
        "TIMESTAMP": "TIMESTAMP",
    }
    transaction = Transaction.SCRIPT
    placeholder = "?"

    def quote(self, name: str) -> str:
        if _UNQUOTABLE.search(name):
            raise SchemaMismatchError(
                f"BigQuery cannot name anything {name!r}: its names hold no backtick, "
                "backslash or control character"
            )
        return f"`{name}`"

    def stage_table(self, schema: str, name: str) -> str:
        """A regular table of the dataset: a temporary one would vanish with its script."""
        return self.table(schema, name)

    def catalogue(self, schema: str, table: str) -> tuple[str, list[object]]:
        return (
            f"SELECT column_name, data_type FROM {self.quote(schema)}.INFORMATION_SCHEMA.COLUMNS "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        )

    def schema_missing(self, error: BaseException) -> bool:
        return isinstance(error, NotFound)

    def create_stage(self, schema: str, stage: str, columns: Mapping[str, str]) -> list[str]:
        """Expiring a day after it was made, if the session cannot drop it."""
        expiry = "TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)"
        return [f"{self.create_table(stage, columns)} OPTIONS (expiration_timestamp = {expiry})"]

    def begin(self) -> str:
        return "BEGIN TRANSACTION"

    def commit(self) -> str:
        return "COMMIT TRANSACTION"

    def verify(self, count_query: str, expected: int, described: str) -> str:
        message = f"writing {described}: a table does not hold the {expected} rows written"
        return f"SELECT IF(({count_query}) = {int(expected)}, TRUE, ERROR({_literal(message)}))"


def _literal(text: str) -> str:
    """A GoogleSQL string literal of ``text``, whatever it holds: every character but
    letters, digits and plain punctuation is written as its ``\\U`` escape."""
    escaped = (char if _PLAIN.fullmatch(char) else f"\\U{ord(char):08x}" for char in text)
    return "'" + "".join(escaped) + "'"


@dataclass
class BigQueryConnection:
    """The `SqlConnection` of a BigQuery client: a statement (or a script) is one query job,
    waited for; a stage is a table loaded by a load job."""

    client: bigquery.Client
    errors: tuple[type[BaseException], ...] = (
        GoogleAPIError,
        GoogleAuthError,
        requests.RequestException,
    )

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Positional parameters (``?``); TIMESTAMP values come back as naive UTC, as the
        session writes them."""
        config = bigquery.QueryJobConfig(query_parameters=[_parameter(value) for value in params])
        rows = self.client.query(sql, job_config=config).result()
        return [tuple(_naive(value) for value in row.values()) for row in rows]

    def stage(
        self,
        dialect: Dialect,
        schema: str,
        stage: str,
        types: Mapping[str, str],
        frame: pd.DataFrame,
    ) -> None:
        """Create the stage, then load the frame into it: ``WRITE_EMPTY``, so a load into a
        stage that somehow holds rows fails instead of adding to them."""
        for statement in dialect.create_stage(schema, stage, types):
            self.query(statement)
        config = bigquery.LoadJobConfig(
            schema=[bigquery.SchemaField(column, kind) for column, kind in types.items()],
            write_disposition=bigquery.WriteDisposition.WRITE_EMPTY,
        )
        rows = [dict(zip(types, map(_json, row), strict=True)) for row in frame_rows(frame)]
        destination = _reference(self.client.project, stage)
        self.client.load_table_from_json(rows, destination, job_config=config).result()


def _reference(project: str, name: str) -> bigquery.TableReference:
    """The table that a `BigQueryDialect.table` name quotes: exactly, since quoted names
    hold no backtick."""
    dataset, table = name[1:-1].split("`.`")
    return bigquery.TableReference(bigquery.DatasetReference(project, dataset), table)


def _parameter(value: object) -> bigquery.ScalarQueryParameter:
    """A positional ``STRING`` parameter: what the session binds are names."""
    if not isinstance(value, str):
        raise TypeError(f"BigQueryConnection binds text only, not {type(value).__name__}")
    return bigquery.ScalarQueryParameter(None, "STRING", value)


def _json(value: object) -> object:
    """A value as the JSON of a load job carries it: dates and (naive UTC) timestamps as
    text, which BigQuery reads as UTC when it names no zone."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _naive(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


class BigQueryLocation(BaseModel):
    """Which Google Cloud project (and location) to write into, and as whom.

    ``service_account_json`` is the JSON text of a service account key, kept out of reprs
    and validation errors; without it the client uses Application Default Credentials
    (``GOOGLE_APPLICATION_CREDENTIALS``, the metadata server on Google Cloud, or ``gcloud
    auth application-default login``). ``location`` is the region the jobs run in, where a
    dataset the writer creates is created.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    project: str = Field(min_length=1)
    location: str | None = Field(default=None, min_length=1)
    service_account_json: SecretStr | None = None

    def credentials(self) -> Credentials | None:
        """The service account's credentials; None for Application Default Credentials.

        A key that cannot be read is reported without its text, and without the parser's
        error chained (a `json.JSONDecodeError` holds the whole document).
        """
        if self.service_account_json is None:
            return None
        try:
            info = json.loads(self.service_account_json.get_secret_value())
        except json.JSONDecodeError as error:
            reason = f"not JSON ({error.msg} at line {error.lineno} column {error.colno})"
        else:
            if not isinstance(info, dict):
                reason = f"a JSON {type(info).__name__}, not an object"
            else:
                read = service_account.Credentials.from_service_account_info
                try:
                    credentials: Credentials = read(info)  # type: ignore[no-untyped-call]
                except ValueError as error:
                    reason = str(error)
                else:
                    return credentials
        raise ValueError(f"service_account_json is not a service account key: {reason}")

    def connect(self) -> bigquery.Client:
        """A client of the project; no request is made until a query runs."""
        return bigquery.Client(
            project=self.project,
            credentials=self.credentials(),
            location=self.location,
        )

    @contextmanager
    def session(
        self, *, read_only: bool = False, after_delete: AfterDelete | None = None
    ) -> Iterator[StagedSession]:
        """One client for a run's writes (or a check's reads). ``after_delete`` is never
        called: a script has no moment between its ``DELETE`` and ``INSERT`` to call it at."""
        with closing(self.connect()) as client:
            yield StagedSession(
                BigQueryConnection(client),
                BigQueryDialect(),
                read_only=read_only,
                after_delete=after_delete,
            )
