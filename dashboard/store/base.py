"""The store interface every backend implements (SQLite, InfluxDB 1.x, InfluxDB 2.x/3.x)."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from vibsentry.dashboard.store.records import Record


class Store(abc.ABC):
    """A destination for records. ``write`` is idempotent: writing the same records twice stores them once.

    ``write`` returns only after the records are durable in the backend (the store's acknowledgement); it
    raises :class:`vibsentry.errors.StoreError` when they are not, and the gateway retries the whole batch
    later. A batch may be partially written before the error; idempotent keys make the retry safe.
    """

    #: Short description for logs and ``--status`` (never contains secrets).
    description: str = "store"

    @abc.abstractmethod
    def write(self, records: Sequence[Record]) -> None:
        """Store ``records`` (any mix of kinds) durably and idempotently."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default does nothing."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
