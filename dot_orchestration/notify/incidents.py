"""Dot quality incidents: what an item says, and how new incidents and resolutions reach Dot.

Failed checks on the tables Dot reads become `POST /api/quality/incidents` items and are
resolved when the checks pass again, so Dot's dashboards show "data issues" exactly while
they exist. Which checks changed is the orchestrator's business; this module is handed the
changes, each under a key of the caller's choosing (Dagster's `AssetCheckKey`, say), and
answers which keys must be sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, get_args

from dot_orchestration.client import (
    DotAPIError,
    DotClient,
    DotOutcomeUnknownError,
    DotRateLimitError,
    DotServerError,
    DotTransportError,
)
from dot_orchestration.notify.alerts import AlertLog, short

K = TypeVar("K", bound=Hashable)

#: How table names are sent: as the orchestrator knows them (dagster-dbt: `database.schema.
#: alias`, in the case dbt writes), or in one case, for a Dot whose table docs name the
#: relations otherwise (Snowflake's upper-case identifiers, say). Dot documents no
#: normalisation.
TableNameCase = Literal["as_is", "lower", "upper"]
TABLE_NAME_CASES: tuple[str, ...] = get_args(TableNameCase)
_CASES: Mapping[str, Callable[[str], str]] = {
    "as_is": lambda name: name,
    "lower": str.lower,
    "upper": str.upper,
}


def check_table_name_case(case: str) -> TableNameCase:
    """`case` if it is one of `TABLE_NAME_CASES`; otherwise an error naming the choices."""
    if case not in _CASES:
        raise ValueError(
            f"table_name_case must be one of {', '.join(TABLE_NAME_CASES)}, not {case!r}"
        )
    return case  # type: ignore[return-value]  # checked against the Literal's values


def incident_item(
    *,
    table: str,
    check: str,
    passed: bool,
    severity: Literal["error", "warning"],
    details: str | None,
    link: str,
    table_name_case: TableNameCase = "as_is",
) -> dict[str, str]:
    """One `POST /api/quality/incidents` item for a check's new state.

    A passing check gives `status: "resolved"`, which Dot does not document (its docs show
    only `"open"`); `report_incident_changes` sends those apart from new incidents.
    """
    table = _CASES[check_table_name_case(table_name_case)](table)
    what = f"Dagster check {check} on {table}"
    message = (
        f"{what} passes again." if passed else f"{what} failed: {short(details) or 'see the run'}"
    )
    return {
        "table": table,
        "check": check,
        "status": "resolved" if passed else "open",
        "severity": severity,
        "message": message,
        "url": link,
    }


@dataclass(frozen=True)
class IncidentReport(Generic[K]):
    """What one tick sent to Dot: the changes Dot has, and the keys to send again."""

    opened: int
    resolved: int
    resolutions_refused: int
    unsent: frozenset[K]

    def summary(self) -> str:
        refused = self.resolutions_refused
        return (
            f"{self.opened} incident(s) opened, {self.resolved} resolution(s) sent"
            + (f", {refused} refused by Dot (clear them in Dot)" if refused else "")
            + (f", {len(self.unsent)} to send again next tick" if self.unsent else "")
        )


def report_incident_changes(
    client: DotClient, source: str, changes: Sequence[tuple[K, Mapping[str, str]]], log: AlertLog
) -> IncidentReport[K]:
    """New incidents in one request, resolutions in another, so neither blocks the other.

    `changes` are `(key, incident_item(...))` pairs. New incidents (`status: "open"`) are
    what Dot documents: a refusal raises, so the tick fails visibly and they are sent again.
    Resolutions (`status: "resolved"`) are undocumented: Dot may refuse them, and a refusal
    must never stop new incidents from reaching Dot on every later tick. A resolution Dot
    refuses outright (a 4xx) is logged once and not sent again (the incident stays open in
    Dot until a person clears it); one lost to an outage or a rate limit is sent again on
    the next tick (its key is in `unsent`).
    """
    opened = [item for _, item in changes if item["status"] == "open"]
    resolving = [(key, item) for key, item in changes if item["status"] != "open"]
    unsent: set[K] = set()
    refused = 0
    if resolving:
        try:  # undocumented call: Dot documents only status "open"
            client.report_quality_incidents(source, [item for _, item in resolving])
        except (DotTransportError, DotOutcomeUnknownError, DotRateLimitError, DotServerError):
            unsent.update(key for key, _ in resolving)
            log.warning(f"Dot did not take {len(resolving)} resolution(s) now; sent again later")
        except DotAPIError as error:
            refused = len(resolving)
            tables = sorted({item["table"] for _, item in resolving})
            log.warning(
                f"Dot refused resolving incidents on {', '.join(tables)} ({error}); they stay "
                "open in Dot until cleared there: Dot documents only new incidents"
            )
    if opened:
        client.report_quality_incidents(source, opened)  # a refusal fails the tick
    return IncidentReport(
        opened=len(opened),
        resolved=len(resolving) - refused - len(unsent),
        resolutions_refused=refused,
        unsent=frozenset(unsent),
    )


__all__ = [
    "TABLE_NAME_CASES",
    "IncidentReport",
    "TableNameCase",
    "check_table_name_case",
    "incident_item",
    "report_incident_changes",
]
