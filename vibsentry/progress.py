"""Progress bars for long work: shown on a terminal, silent when output is piped or ``--quiet`` is given.

:func:`observe` lets code that runs the work (the dashboard's background retrain job) follow every bar of its
process, drawn or not, e.g. to write the progress to a file another process polls.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

#: ``callback(desc, done, total)``: called at the start of a bar, after every step and when it closes.
Observer = Callable[[str, int, int | None], None]
_observers: list[Observer] = []


@contextlib.contextmanager
def observe(callback: Observer) -> Iterator[None]:
    """Call ``callback(desc, done, total)`` for every bar of this process while inside the ``with`` block.

    ``done`` counts steps (``unit`` of the bar: files, epochs, bytes), ``total`` is None when unknown; a bar
    that ends early (early stopping) reports ``done == total`` when it closes. Bars are observed whether or not
    they are drawn (``quiet`` only hides them).
    """
    _observers.append(callback)
    try:
        yield
    finally:
        _observers.remove(callback)


def _notify(desc: str, done: int, total: int | None) -> None:
    for cb in list(_observers):
        cb(desc, done, total)


def _observed(items: Iterable[T], total: int | None, desc: str) -> Iterator[T]:
    n = total if total is not None else (len(items) if hasattr(items, "__len__") else None)  # type: ignore[arg-type]
    _notify(desc, 0, n)
    i = 0
    for i, x in enumerate(items, 1):
        yield x
        _notify(desc, i, n)  # after the caller's work on x
    _notify(desc, n if n is not None else i, n)


class _ObservedBar:
    """A bar from :func:`bar` that also reports to the observers (every other attribute is the tqdm bar's)."""

    def __init__(self, inner: Any, desc: str, total: int | None) -> None:
        self._inner, self._desc, self._total, self._done = inner, desc, total, 0
        _notify(desc, 0, total)

    def update(self, n: int = 1) -> None:
        self._inner.update(n)
        self._done += n
        _notify(self._desc, self._done, self._total)

    def close(self) -> None:
        self._inner.close()
        _notify(self._desc, self._total if self._total is not None else self._done, self._total)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def enabled(quiet: bool = False) -> bool:
    """True when a progress bar should be drawn (stderr is a terminal and not ``quiet``)."""
    return not quiet and sys.stderr.isatty()


def progress(
    items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it", quiet: bool = False
) -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar on stderr when :func:`enabled`, else yield them unchanged."""
    if _observers:
        items = _observed(items, total, desc)
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

    inner = tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled(quiet),
        dynamic_ncols=True,
        leave=False,
    )
    return _ObservedBar(inner, desc, total) if _observers else inner
