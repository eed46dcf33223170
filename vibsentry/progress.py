"""Progress bars for long work: shown on a terminal, silent when output is piped or ``--quiet`` is given."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def enabled(quiet: bool = False) -> bool:
    """True when a progress bar should be drawn (stderr is a terminal and not ``quiet``)."""
    return not quiet and sys.stderr.isatty()


def progress(
    items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it", quiet: bool = False
) -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar on stderr when :func:`enabled`, else yield them unchanged."""
    if not enabled(quiet):
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(
        items, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False
    )


def bar(*, total: int | None, desc: str = "", unit: str = "it", quiet: bool = False):  # type: ignore[no-untyped-def]
    """A manual tqdm bar (``update(n)``/``close()``); a no-op object when bars are disabled."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled(quiet),
        dynamic_ncols=True,
        leave=False,
    )
