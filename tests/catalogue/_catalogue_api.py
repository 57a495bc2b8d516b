"""What the catalogue tests share: the example's catalogue file and Dot's two write routes."""

from pathlib import Path

EXAMPLE_CATALOGUE = Path(__file__).resolve().parents[2] / "examples" / "dot_catalogue.yaml"
IMPORT = "/api/import_and_overwrite_external_asset"
DELETE = "/api/delete_external_asset"
