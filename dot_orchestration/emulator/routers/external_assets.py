"""External assets: BI dashboards and data apps Dot recommends and explains.

Roles: reading is for every user; importing and deleting are for modelers (they change what
Dot knows). Import is an upsert by id and accepts URL auth, like Dot's docs say.
"""

from typing import Any

from pydantic import BaseModel

from dot_orchestration.emulator.auth import ModelerCaller, ModelerUrlCaller, UserCaller
from dot_orchestration.emulator.models import ExternalAsset
from dot_orchestration.emulator.routers.base import dot_router

router = dot_router("external assets")


class ImportExternalAssetBody(BaseModel):
    """Body of `POST /api/import_and_overwrite_external_asset`."""

    external_asset: ExternalAsset


@router.post(
    "/import_and_overwrite_external_asset",
    summary="Import and overwrite an external asset with an API token.",
)
async def import_external_asset(
    body: ImportExternalAssetBody, caller: ModelerUrlCaller
) -> dict[str, Any]:
    """Create or overwrite the asset with this id; answers the stored asset."""
    return caller.space.import_asset(body.external_asset).public()


@router.get("/external_assets", summary="Get External Assets")
async def get_external_assets(caller: UserCaller) -> list[dict[str, Any]]:
    """Every asset of the environment, with `source` telling who owns it."""
    return [stored.public() for stored in caller.space.assets()]


@router.post("/delete_external_asset", summary="Delete External Asset")
async def delete_external_asset(asset_id: str, caller: ModelerCaller) -> dict[str, Any]:
    """Remove an asset (404 if unknown); answers the removed asset."""
    return caller.space.delete_asset(asset_id).public()
