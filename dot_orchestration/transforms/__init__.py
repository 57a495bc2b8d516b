"""Pure transforms: plain data in, plain data out; no HTTP, no Dagster."""
