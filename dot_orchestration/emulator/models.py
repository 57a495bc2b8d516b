"""Dot's API vocabulary: roles, connection types and the `ExternalAsset` model.

`ExternalAsset` mirrors the schema in Dot's FastAPI-generated OpenAPI document field by
field (names, types, defaults, descriptions), so the emulator's `/openapi.json` and its 422
bodies line up with Dot's.
"""

from enum import Enum

from pydantic import BaseModel, Field


class Role(str, Enum):
    """A Dot user's permission level; each role includes the rights of the ones before it.

    Dot has exactly these three (permissions page: "Admin, Modeler and User"); a `user` may
    only chat. Some pages still say "viewer token": they mean a `user` token.
    """

    user = "user"
    modeler = "modeler"
    admin = "admin"

    def includes(self, required: "Role") -> bool:
        """Whether a user with this role may call an endpoint that requires `required`."""
        order = list(Role)
        return order.index(self) >= order.index(required)


class ConnectionType(str, Enum):
    """Connection types known by name: the vocabulary of seeded connections.

    The first eight are the ones Dot's docs list for syncing; duckdb, mysql and saphana are
    the other warehouses Dot's 2024 spec has `connect_*` endpoints for. The sync endpoint
    itself takes any string, as Dot's spec does.
    """

    postgres = "postgres"
    redshift = "redshift"
    snowflake = "snowflake"
    mssql = "mssql"
    bigquery = "bigquery"
    databricks = "databricks"
    looker = "looker"
    dbt = "dbt"
    duckdb = "duckdb"
    mysql = "mysql"
    saphana = "saphana"


class ExternalAsset(BaseModel):
    """A BI dashboard or data app Dot should know about (Dot's `ExternalAsset` schema)."""

    id: str = Field(description="Unique identifier for the external asset.")
    subtype: str = Field(description="Subtype of the external asset, such as 'looker_dashboard'.")
    folder: str | None = Field(None, description="Folder path where the external asset is stored.")
    name: str | None = Field(None, description="The name of the external asset.")
    description: str | None = Field(None, description="Description of the external asset.")
    url: str | None = Field(None, description="Full URL of the external asset.")
    active: bool = Field(True, description="Indicates if the external asset is active.")
    view_count: int | None = Field(
        0, description="Number of times the external asset has been viewed."
    )
    last_accessed_at: str | None = Field(
        None, description="Timestamp of the last access to the external asset."
    )
    dot_description: str | None = Field(
        None,
        description=(
            "Formatted text description of the external asset, can e.g. include a markdown "
            "representation of all charts in a dashboard."
        ),
    )
