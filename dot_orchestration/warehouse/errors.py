"""Why a partition write was refused or failed.

Every error here means the same thing for the caller: the warehouse holds what it held
before the call. Refusals are raised before any data is touched; failures during the write
are raised after the transaction was rolled back.
"""

from __future__ import annotations

__all__ = [
    "EmptyPartitionError",
    "PartitionMismatchError",
    "PartitionWriteError",
    "SchemaMismatchError",
]


class PartitionWriteError(Exception):
    """A partition write did not happen; the previous rows are intact."""


class EmptyPartitionError(PartitionWriteError):
    """An empty frame would empty the partition, and the caller did not say that is right."""


class PartitionMismatchError(PartitionWriteError):
    """The frame holds rows of partitions the call does not replace (or no valid partition)."""


class SchemaMismatchError(PartitionWriteError):
    """The frame's columns or column types differ from the table's, or cannot be stored."""
