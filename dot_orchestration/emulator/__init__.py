"""A faithful local Dot API (getdot.ai), like moto or LocalStack are for AWS.

```python
from dot_orchestration.emulator import EmulatorConfig, EmulatorServer
with EmulatorServer(EmulatorConfig(seed=42), port=0) as server:
    server.url      # Dot's base URL; API paths start with /api
    server.state    # the live state, for assertions
```

The contract is in docs/ARCHITECTURE.md ("Emulator contract"). Never imports Dagster.
"""

from dot_orchestration._extras import extra_required

# The emulator serves HTTP with FastAPI and uvicorn: the [emulator] extra.
with extra_required("emulator", feature="The Dot API emulator"):
    import fastapi  # noqa: F401
    import uvicorn  # noqa: F401

from dot_orchestration.emulator.app import create_app
from dot_orchestration.emulator.config import (
    ADMIN_TOKEN,
    DEFAULT_TOKENS,
    EXPIRED_TOKEN,
    MODELER_TOKEN,
    USER_TOKEN,
    ConnectionRef,
    EmulatorConfig,
    SeededDashboard,
    SeededExternalAsset,
    TokenSpec,
)
from dot_orchestration.emulator.faults import FaultPlan, FaultRule
from dot_orchestration.emulator.models import ConnectionType, ExternalAsset, Role
from dot_orchestration.emulator.server import EmulatorServer
from dot_orchestration.emulator.state import EmulatorState, HistoryTruth

__all__ = [
    "ADMIN_TOKEN",
    "DEFAULT_TOKENS",
    "EXPIRED_TOKEN",
    "MODELER_TOKEN",
    "USER_TOKEN",
    "ConnectionRef",
    "ConnectionType",
    "EmulatorConfig",
    "EmulatorServer",
    "EmulatorState",
    "ExternalAsset",
    "FaultPlan",
    "FaultRule",
    "HistoryTruth",
    "Role",
    "SeededDashboard",
    "SeededExternalAsset",
    "TokenSpec",
    "create_app",
]
