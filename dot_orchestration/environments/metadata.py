"""What the environment's asset, check and jobs record, under the `dot/` namespace with
`environment_` names that no other operation uses."""

from collections.abc import Sequence

from dagster import (
    JsonMetadataValue,
    MetadataValue,
    TableColumn,
    TableMetadataValue,
    TableRecord,
    TableSchema,
    UrlMetadataValue,
)

from dot_orchestration._compat import NamespacedMetadataSet
from dot_orchestration.client import REGION_URLS, ChangedFile
from dot_orchestration.resources import DotResource

_FILES = TableSchema(
    columns=[
        TableColumn("path", "string", description="The file in Dot's model."),
        TableColumn("status", "string", description="added, modified or deleted, as Dot says."),
    ]
)


class DotEnvironmentMetadata(NamespacedMetadataSet):
    """One environment's identity and state, as the asset, check and jobs saw it."""

    environment_id: str | None = None
    environment_name: str | None = None
    environment_created: bool | None = None
    environment_url: UrlMetadataValue | None = None
    environment_targets: JsonMetadataValue | None = None
    environment_changed_files: TableMetadataValue | None = None
    environment_changed_count: int | None = None
    environment_conflicts: TableMetadataValue | None = None
    environment_conflict_count: int | None = None
    environment_response: JsonMetadataValue | None = None

    @classmethod
    def namespace(cls) -> str:
        return "dot"


def files_table(files: Sequence[ChangedFile]) -> TableMetadataValue:
    """A diff's or conflicts' files as a table Dagster's UI shows row by row."""
    records = [TableRecord({"path": file.path, "status": file.status}) for file in files]
    return MetadataValue.table(records=records, schema=_FILES)


def dot_web_url(dot: DotResource) -> UrlMetadataValue:
    """Dot's web app, where Manage environments switches into the environment: Dot
    documents no link to a single environment, so none is made up."""
    return MetadataValue.url(str(dot.base_url or REGION_URLS[dot.region or "app"]))


def reply_json(reply: object) -> JsonMetadataValue:
    """A write's 2xx reply as received (its shape is undocumented; often empty)."""
    value = reply if isinstance(reply, dict | list) else {"reply": reply}
    return MetadataValue.json(value)


__all__ = ["DotEnvironmentMetadata", "dot_web_url", "files_table", "reply_json"]
