"""The sync's two asset checks, from one selection and one read of Dot (reads only: no
pool): `every_selected_page_has_a_current_note` and the warning `no_note_outlives_its_page`.
"""

from collections.abc import Iterator, Mapping

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetsDefinition,
    MetadataValue,
    multi_asset_check,
)

from dot_orchestration.notes.metadata import recorded_ownership
from dot_orchestration.resources import ConfluenceResource, DotResource
from dot_orchestration.transforms.note_sync import (
    ConfluenceNoteSync,
    check_note_sync,
    not_current,
)

__all__ = ["CURRENT_CHECK", "LEFT_CHECK", "build_confluence_note_check"]

CURRENT_CHECK = "every_selected_page_has_a_current_note"
LEFT_CHECK = "no_note_outlives_its_page"


def build_confluence_note_check(
    sync: ConfluenceNoteSync, notes: AssetsDefinition
) -> AssetChecksDefinition:
    """`every_selected_page_has_a_current_note`: every selected page has notes in Dot
    holding its current version. `no_note_outlives_its_page` (a warning): no active note of
    ours belongs to a page that left the selection (or Confluence) or is a part its page no
    longer has; with ``on_removed="keep"`` such notes stay until a person acts.

    Costs what a sensor tick costs plus one Dot read: no page body is read, because the
    notes' markers (or, where Dot dropped them, the last run's ownership record) say which
    version they hold.
    """

    @multi_asset_check(
        name=f"dot_notes_{sync.name}_checks",
        specs=[
            AssetCheckSpec(
                CURRENT_CHECK,
                asset=notes.key,
                description="Every selected Confluence page has notes in Dot that hold its "
                "current version.",
            ),
            AssetCheckSpec(
                LEFT_CHECK,
                asset=notes.key,
                description="No active note of this sync belongs to a page that left the "
                "selection (a warning: Dot's API documents no way to remove a note, so a "
                "person deletes or deactivates it in Dot).",
            ),
        ],
    )
    def _checks(
        context: AssetCheckExecutionContext, dot: DotResource, confluence: ConfluenceResource
    ) -> Iterator[AssetCheckResult]:
        record = recorded_ownership(context.instance, notes.key)
        with confluence.get_client() as wiki, dot.get_client() as client:
            selected, held, left = check_note_sync(sync, wiki, client, record)
        problems = not_current(selected, held)
        yield AssetCheckResult(
            check_name=CURRENT_CHECK,
            passed=not problems,
            description=(
                f"all {len(selected.pages)} selected pages have current notes"
                if not problems
                else f"{len(problems)} of {len(selected.pages) + len(selected.missing)} "
                "selected pages have no current note: materialize the asset (failures say "
                "why per page)"
            ),
            metadata={
                "dot/pages_selected": MetadataValue.int(len(selected.pages)),
                "dot/pages_not_current": MetadataValue.json(problems),
                "dot/confluence_links": MetadataValue.json(
                    {
                        page_id: selected.pages[page_id].web_url
                        for page_id in problems
                        if page_id in selected.pages
                    }
                ),
            },
        )
        yield _left_result(left)

    return _checks


def _left_result(left: Mapping[str, list[str]]) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=LEFT_CHECK,
        passed=not left,
        severity=AssetCheckSeverity.WARN,
        description=(
            "every note of this sync belongs to a selected page"
            if not left
            else f"{sum(map(len, left.values()))} note(s) no selected page needs are still "
            "active in Dot (their pages left the selection or Confluence, or no longer have "
            "that many parts): delete or deactivate them in Dot's UI (or `dot notes "
            "deactivate <id>`), or select their pages again"
        ),
        metadata={"dot/notes_left_in_dot": MetadataValue.json(dict(left))},
    )
