"""A Confluence site in memory: Cloud REST v2 pages, v1 content and CQL search, basic and
bearer auth, page restrictions, editable versions, injectable 429s and a request journal.

```python
from dot_orchestration.emulator.confluence import ConfluenceEmulatorServer
with ConfluenceEmulatorServer() as site:      # real uvicorn on 127.0.0.1, free port
    site.url                                   # "http://127.0.0.1:<port>/wiki"
    site.state.update_page("100101", body="<p>new</p>")   # Revenue, now one version up
```

Seed pages (space DATA, and ENG for cross-space links) are storage-format files under
`pages/`, listed in `pages/manifest.json`; the demo reads them too.
"""

from dot_orchestration.emulator.confluence.app import create_confluence_app
from dot_orchestration.emulator.confluence.cql import CqlError, parse_cql
from dot_orchestration.emulator.confluence.server import ConfluenceEmulatorServer
from dot_orchestration.emulator.confluence.state import (
    DEFAULT_USERS,
    ConfluenceEmulatorConfig,
    ConfluenceState,
    EmulatorUser,
    FaultRule,
    JournalEntry,
    PageRecord,
    seed_page_ids,
)

__all__ = [
    "DEFAULT_USERS",
    "ConfluenceEmulatorConfig",
    "ConfluenceEmulatorServer",
    "ConfluenceState",
    "CqlError",
    "EmulatorUser",
    "FaultRule",
    "JournalEntry",
    "PageRecord",
    "create_confluence_app",
    "parse_cql",
    "seed_page_ids",
]
