"""The dot-orchestration example as a `dg` project (see ../../pyproject.toml)."""
