"""A stand-in for `dbt build` in the example DAG's test: writes the two artifacts dbt
writes into `--target-path` (one model that passed, one test that failed) and exits 0, or
1 when `FAKE_DBT_FAIL` is set, as a failed build does. dbt itself is built and tested in
tests/dbt_project; here only what the DAG does around it matters, at a fraction of the
CPU a real build costs."""

import json
import os
import sys
from pathlib import Path

target = Path(sys.argv[sys.argv.index("--target-path") + 1])
target.mkdir(parents=True, exist_ok=True)
nodes = {
    "model.dot_demo.orders": {
        "resource_type": "model",
        "database": "dot_demo",
        "schema": "main",
        "alias": "orders",
        "name": "orders",
    },
    "test.dot_demo.not_null_orders_id": {
        "resource_type": "test",
        "name": "not_null_orders_id",
        "attached_node": "model.dot_demo.orders",
        "depends_on": {"nodes": ["model.dot_demo.orders"]},
    },
}
results = [
    {"unique_id": "model.dot_demo.orders", "status": "success"},
    {"unique_id": "test.dot_demo.not_null_orders_id", "status": "fail", "message": "3 rows"},
]
(target / "manifest.json").write_text(json.dumps({"nodes": nodes, "sources": {}}))
(target / "run_results.json").write_text(json.dumps({"results": results}))
sys.exit(1 if os.environ.get("FAKE_DBT_FAIL") else 0)
