"""The example code location and the demo, outside the `dot_orchestration` package.

`definitions` is what `workspace.yaml` loads, `demo` is `make demo`, `dev` is `make dev`.
Import it with `examples/` on the path (the Makefile, `workspace.yaml` and pytest set it).
"""
