"""External assets: BI dashboards and data apps Dot recommends and explains.

Roles: reading is for every user; importing and deleting are for modelers (they change what
Dot knows). Import is an upsert by id and accepts URL auth, like Dot's docs say.

**Strict profile** (`EmulatorConfig.strict`): Dot's spec gives every reply here the empty
schema, so the import and delete answer `null` and the listing holds only the fields of
Dot's `ExternalAsset` (no `source`, no `updated_at`). `active` is a documented field of the
asset and is honoured in both profiles.
"""

from typing import Any

from pydantic import BaseModel

from dot_orchestration.emulator.auth import ModelerCaller, ModelerUrlCaller, StateDep, UserCaller
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
    body: ImportExternalAssetBody, caller: ModelerUrlCaller, state: StateDep
) -> dict[str, Any] | None:
    """Create or overwrite the asset with this id; answers the stored asset (strict: null)."""
    stored = caller.space.import_asset(body.external_asset)
    return None if state.config.strict else stored.public()


@router.get("/external_assets", summary="Get External Assets")
async def get_external_assets(caller: UserCaller, state: StateDep) -> list[dict[str, Any]]:
    """Every asset of the environment, with `source` telling who owns it (strict: only
    Dot's `ExternalAsset` fields)."""
    if state.config.strict:
        return [stored.asset.model_dump() for stored in caller.space.assets()]
    return [stored.public() for stored in caller.space.assets()]


@router.post("/delete_external_asset", summary="Delete External Asset")
async def delete_external_asset(
    asset_id: str, caller: ModelerCaller, state: StateDep
) -> dict[str, Any] | None:
    """Remove an asset (404 if unknown); answers the removed asset (strict: null)."""
    removed = caller.space.delete_asset(asset_id)
    return None if state.config.strict else removed.public()
