"""The sections of a `DotComponent`'s `defs.yaml`, one per Dot operation, and the Dot
section of a `DotDbtProjectComponent`'s.

Each section is a pydantic model in the style of the Python API's own settings, and holds
exactly what its factory takes: the component passes the fields a file sets as keyword
arguments, so the factory's defaults apply to the rest and live in one place. Where the
Python API already has a settings class (`SyncSettings`, `DotHistorySettings`,
`DotNotesSettings`, `DotResource`, `ConfluenceResource`, `DuckDBWarehouse`,
`AlertChannels`, `MonitoringSettings`, `DotEnvironmentSettings`, `DotQuestion`), a
section uses it as it is: its validators are the YAML's validators.
"""

from dot_orchestration.catalogue import CatalogueSchedule, CatalogueSettings, ExposuresSettings
from dot_orchestration.components._yaml import YamlFront
from dot_orchestration.environments import DotEnvironmentSettings
from dot_orchestration.history import (
    BigQueryWarehouse,
    DatabricksWarehouse,
    DotHistorySettings,
    DotHistoryTables,
    HistoryFreshness,
    HistorySchedule,
    PostgresWarehouse,
    RedshiftWarehouse,
    SnowflakeWarehouse,
)
from dot_orchestration.monitoring import AlertChannels, MonitoringSettings
from dot_orchestration.notes import (
    ConfluenceResource,
    DotNotesSettings,
    NoteSchedule,
    NoteSensor,
)
from dot_orchestration.questions import DotQuestion
from dot_orchestration.resources import DotResource
from dot_orchestration.syncs import SyncSchedule, SyncSettings

# Secrets never take a value from defs.yaml: only an `{{ env.NAME }}` reference (EnvVar).
YamlFront.declare_secrets(DotResource, "api_token")
YamlFront.declare_secrets(ConfluenceResource, "api_token", "personal_access_token")
YamlFront.declare_secrets(AlertChannels, "slack_token", "teams_webhook_url")
YamlFront.declare_secrets(PostgresWarehouse, "password")
YamlFront.declare_secrets(RedshiftWarehouse, "password")
YamlFront.declare_secrets(SnowflakeWarehouse, "password", "private_key_file_pwd")
YamlFront.declare_secrets(BigQueryWarehouse, "service_account_json")
YamlFront.declare_secrets(DatabricksWarehouse, "access_token")


# --------------------------------------------------------------------------- catalogue

# The `catalogue` and `exposures` sections are `CatalogueSettings` (with its
# `CatalogueSchedule`) and `ExposuresSettings` of `dot_orchestration.catalogue` itself
# (imported above), what `build_dot_catalogue_definitions` takes in Python.


# --------------------------------------------------------------------------- environment

#: The `environment` section is the Python API's settings class: which Dot environment
#: this deployment works in (production, a fixed id, or one per branch deployment).
EnvironmentSettings = DotEnvironmentSettings


# --------------------------------------------------------------------------- history

#: The `history` section is the Python API's settings class (schedule, freshness and the
#: warehouse are nested settings of it), so YAML and Python switch the same things.
HistorySettings = DotHistorySettings

#: The dbt component's `dot_history:`: where the `history` section's export writes, so the
#: dbt sources reading those tables become its asset. Same fields and defaults as there.
HistoryTables = DotHistoryTables


# --------------------------------------------------------------------------- confluence


#: The notes operation's settings are its section, as they are: `DotNotesSettings` (with its
#: `NoteSensor` and `NoteSchedule`) is what `build_dot_notes_definitions` takes in Python.
ConfluenceSettings = DotNotesSettings


# --------------------------------------------------------------------------- questions

#: Each item of the `questions` section is the Python API's `DotQuestion` (its
#: expectations told apart by `kind: number | phrases | tables`), what
#: `build_dot_question_definitions` takes.
QuestionSettings = DotQuestion


# --------------------------------------------------------------------------- monitoring


# The `monitoring` section is `MonitoringSettings` of `dot_orchestration.monitoring` itself
# (imported above): one class, so whatever YAML can switch, Python can too.


__all__ = [
    "CatalogueSchedule",
    "CatalogueSettings",
    "ConfluenceSettings",
    "EnvironmentSettings",
    "ExposuresSettings",
    "HistoryFreshness",
    "HistorySchedule",
    "HistorySettings",
    "HistoryTables",
    "MonitoringSettings",
    "NoteSchedule",
    "NoteSensor",
    "QuestionSettings",
    "SyncSchedule",
    "SyncSettings",
]
