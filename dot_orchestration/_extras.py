"""Optional dependencies: a missing one says which extra of this package installs it.

The core install is what every user needs (Dagster, dagster-dbt, httpx, pandas, ...).
Everything else is an extra, imported only where the feature lives, inside
`extra_required`, so the import fails with the pip line that fixes it instead of a bare
`No module named 'duckdb'`:

```python
with extra_required("duckdb", feature="the DuckDB warehouse writer"):
    import duckdb
```

The import stays a plain statement, so type checkers and IDEs see the module as usual.
"""

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MissingExtraError", "extra_required"]

#: The distribution name users install.
DISTRIBUTION = "dot-orchestration"


class MissingExtraError(ImportError):
    """A feature was imported without the extra that brings its dependencies."""

    def __init__(self, *, extra: str, feature: str, module: str | None) -> None:
        self.extra = extra
        self.feature = feature
        missing = f" (module {module!r} is not installed)" if module else ""
        super().__init__(
            f"{feature}: missing the optional dependencies of {DISTRIBUTION}[{extra}]{missing}; "
            f"install them with: pip install '{DISTRIBUTION}[{extra}]'",
            name=module,
        )


@contextmanager
def extra_required(extra: str, *, feature: str) -> Iterator[None]:
    """Turn a `ModuleNotFoundError` raised inside into a `MissingExtraError` naming `extra`.

    Only a module that is absent is translated: a module that is installed but fails to
    import (a broken build, an incompatible version) keeps its own error, which is the one
    that explains it.
    """
    try:
        yield
    except ModuleNotFoundError as error:
        raise MissingExtraError(extra=extra, feature=feature, module=error.name) from error
