"""A module imported when first used rather than when its importer is.

Loading a code location imports every module its definitions name, but pandas and numpy
are needed only when a step reads, checks or writes rows: importing them cost each process
that loads the definitions (the code server, each run worker, each spawned step process,
`dg`) ~0.6 CPU s; so are bs4 and markdownify, only when a note sync converts a page (the
note sync binds `storage_markdown` the same way). The modules that use them at run time bind
the usual name to a `LazyModule`, and type checkers see the real import:

```python
if TYPE_CHECKING:
    import pandas as pd
else:
    pd = LazyModule("pandas", globals(), "pd")
```

The first attribute read imports the module and puts it in the importer's globals in place
of the stand-in, so from then on `pd.Timestamp` (once per value in a writer's row loop) costs
what it always did. Unlike `importlib.util.LazyLoader`, nothing goes into `sys.modules`
early: libraries that look there to learn whether pandas is in use (DuckDB, Dagster) see it
only once it is.
"""

import importlib
import types
from collections.abc import MutableMapping
from typing import Any

__all__ = ["LazyModule"]


class LazyModule(types.ModuleType):
    """Stands in for the module `name`, bound to `alias` in `namespace` (the importer's
    globals) until the first attribute read replaces it there with the module itself."""

    def __init__(self, name: str, namespace: MutableMapping[str, Any], alias: str) -> None:
        super().__init__(name)
        self._namespace, self._alias = namespace, alias

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        if self._namespace.get(self._alias) is self:
            self._namespace[self._alias] = module
        return getattr(module, attribute)
