"""The latest outcome of each watched asset check, and the changes a sensor acts on.

Both check sensors (alerts, Dot quality incidents) work the same way: each tick they read
the latest completed evaluation of every watched check from the instance and compare its
state (passed or failed) with the state their cursor remembers. They act once per state
change, never on a repeat, and a sensor restarted with its cursor resumes where it was. A
check seen passing for the first time is no change; one seen failing for the first time is.
"""

import json
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from dagster import AssetCheckEvaluation, AssetCheckKey, AssetCheckSeverity, DagsterInstance


@dataclass(frozen=True)
class CheckOutcome:
    """The latest completed evaluation of one asset check."""

    key: AssetCheckKey
    passed: bool
    severity: AssetCheckSeverity
    details: str | None
    run_id: str

    @property
    def state(self) -> str:
        return "passed" if self.passed else "failed"


def latest_check_outcomes(
    instance: DagsterInstance, check_keys: Sequence[AssetCheckKey]
) -> list[CheckOutcome]:
    """The latest completed evaluation of each check that has one (planned runs ignored)."""
    summaries = instance.event_log_storage.get_asset_check_summary_records(list(check_keys))
    outcomes = []
    for key in check_keys:
        summary = summaries.get(key)
        record = summary.last_completed_check_execution_record if summary else None
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if record is None or evaluation is None:
            continue
        outcomes.append(
            CheckOutcome(
                key=key,
                passed=evaluation.passed,
                severity=evaluation.severity,
                details=_details(evaluation),
                run_id=record.run_id,
            )
        )
    return outcomes


def _details(evaluation: AssetCheckEvaluation) -> str | None:
    """What the check said: its description, or for a dbt test how many rows failed."""
    if evaluation.description:
        return evaluation.description
    failed_rows = evaluation.metadata.get("dagster_dbt/failed_row_count")
    return f"{failed_rows.value} failing rows" if failed_rows is not None else None


@dataclass(frozen=True)
class CheckTransitions:
    """The watched checks' latest outcomes against the states a sensor's cursor remembers
    (`{"asset/key:check": "passed" | "failed"}`), for sensors that act once per change."""

    seen: Mapping[str, str]
    outcomes: tuple[CheckOutcome, ...]

    @classmethod
    def read(
        cls, instance: DagsterInstance, check_keys: Sequence[AssetCheckKey], cursor: str | None
    ) -> "CheckTransitions":
        return cls(
            seen=json.loads(cursor) if cursor else {},
            outcomes=tuple(latest_check_outcomes(instance, check_keys)),
        )

    @property
    def changes(self) -> list[CheckOutcome]:
        """The outcomes to act on: a state other than the one seen, or a first failure."""
        return [
            outcome
            for outcome in self.outcomes
            if (before := self.seen.get(outcome.key.to_user_string())) != outcome.state
            and (before is not None or not outcome.passed)
        ]

    def cursor(self, *, unsent: AbstractSet[AssetCheckKey] = frozenset()) -> str:
        """The next cursor: every outcome is seen, except the changes in `unsent`."""
        acted = {o.key.to_user_string(): o.state for o in self.outcomes if o.key not in unsent}
        return json.dumps({**self.seen, **acted}, sort_keys=True)


__all__ = ["CheckOutcome", "CheckTransitions", "latest_check_outcomes"]
