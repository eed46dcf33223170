"""The exporter's arena planner and quantization helpers (no TensorFlow needed).

The planner is what makes RAM small: tensors whose lifetimes do not overlap share bytes. It must never let two
tensors that are alive at the same time overlap, and it must keep offsets aligned for the float tensors of
QUANTIZE / DEQUANTIZE.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from vibsentry.codegen.arena import ARENA_ALIGN, plan_arena
from vibsentry.codegen.quant import quantize_multiplier, round_half_away

lifetimes = st.dictionaries(
    st.integers(0, 60),
    st.tuples(st.integers(-1, 20), st.integers(0, 12), st.integers(1, 300)).map(
        lambda t: (t[0], t[0] + t[1], t[2])
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(lifetimes)
def test_live_tensors_never_overlap(life: dict[int, tuple[int, int, int]]) -> None:
    offsets, total = plan_arena(life)
    assert set(offsets) == set(life)
    for k, (first, last, size) in life.items():
        assert offsets[k] % ARENA_ALIGN == 0
        assert offsets[k] + size <= total
        for j, (f2, l2, s2) in life.items():
            if j == k or last < f2 or l2 < first:
                continue
            a0, a1 = offsets[k], offsets[k] + size
            b0, b1 = offsets[j], offsets[j] + s2
            assert a1 <= b0 or b1 <= a0, f"tensors {k} and {j} are alive together and overlap"
    # Never worse than giving every tensor its own bytes; never better than the largest live set allows.
    assert total <= sum(-(-s // ARENA_ALIGN) * ARENA_ALIGN for _, _, s in life.values())
    steps = range(min(f for f, _, _ in life.values()), max(la for _, la, _ in life.values()) + 1)
    peak = max(sum(s for f, la, s in life.values() if f <= t <= la) for t in steps)
    assert total >= peak


def test_a_chain_reuses_memory() -> None:
    # in(40) -> 32 -> 16 -> 32 -> out(40): at most two neighbours are alive at once.
    life = {0: (-1, 0, 40), 1: (0, 1, 32), 2: (1, 2, 16), 3: (2, 3, 32), 4: (3, 4, 40)}
    _, total = plan_arena(life)
    assert total == 72


def test_quantize_multiplier_matches_tflite_rules() -> None:
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    m, s = quantize_multiplier(0.123456789)
    assert (1 << 30) <= m < (1 << 31) and abs(m * 2.0 ** (s - 31) - 0.123456789) < 1e-9
    # A mantissa that rounds up to 2^31 is renormalised (TFLite: q_fixed /= 2, ++shift).
    assert quantize_multiplier(math.nextafter(1.0, 0.0)) == (1 << 30, 1)
    # Tiny multipliers flush to zero, huge ones saturate.
    assert quantize_multiplier(1e-12) == (0, 0)
    assert quantize_multiplier(2.0**40) == ((1 << 31) - 1, 30)


def test_round_half_away_from_zero() -> None:
    assert [round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997)] == [1, 2, 3, -1, -2, 0]
