"""Tensor arena planning: tensors whose lifetimes do not overlap share bytes of one static buffer."""

from __future__ import annotations

#: Every tensor starts at a multiple of this many bytes (the kernels read int32 biases and words).
ARENA_ALIGN = 4


def plan_arena(lifetimes: dict[int, tuple[int, int, int]]) -> tuple[dict[int, int], int]:
    """Greedy offset assignment: largest tensors first, each at the lowest offset that overlaps no tensor alive
    at the same time.

    Parameters
    ----------
    lifetimes : dict
        tensor -> (first op index, last op index, bytes); intervals are inclusive.

    Returns
    -------
    offsets : dict
        tensor -> byte offset (multiple of :data:`ARENA_ALIGN`).
    arena_bytes : int
    """
    order = sorted(lifetimes, key=lambda k: (-lifetimes[k][2], lifetimes[k][0], k))
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    offsets: dict[int, int] = {}
    for k in order:
        first, last, size = lifetimes[k]
        size_al = -(-size // ARENA_ALIGN) * ARENA_ALIGN
        busy = sorted((o, s) for o, s, f, la in placed if not (la < first or f > last))
        off = 0
        for o, s in busy:
            if off + size_al <= o:
                break
            off = max(off, -(-(o + s) // ARENA_ALIGN) * ARENA_ALIGN)
        offsets[k] = off
        placed.append((off, size_al, first, last))
    total = max((o + s for o, s, _, _ in placed), default=0)
    return offsets, total
