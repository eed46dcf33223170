"""Damaged .tflite files never crash the exporter: every mutation either exports or gives one ExportError /
FileFormatError naming the file (hypothesis mutates bytes of a valid int8 model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import tflite_models as tm
from vibsentry.errors import VibsentryError

pytestmark = pytest.mark.needs_tf
pytest.importorskip("tensorflow")

_MODELS: dict[str, bytes] = {}


def _model(name: str) -> bytes:
    if name not in _MODELS:
        _MODELS[name] = tm.convert(name)
    return _MODELS[name]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    arch=st.sampled_from(["mlp_softmax", "cnn1d", "add_logistic"]),
    edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 1 << 20)),
)
def test_mutated_models_export_or_fail_cleanly(arch: str, edits: list[tuple[int, int]], cut: int | None,
                                               tmp_path: Path) -> None:  # fmt: skip
    from vibsentry.codegen.lower import lower
    from vibsentry.codegen.render import render
    from vibsentry.codegen.tflite_reader import read_tflite

    data = bytearray(_model(arch))
    for pos, val in edits:
        data[pos % len(data)] = val
    if cut is not None:
        data = data[: cut % len(data)]
    try:
        plan = lower(read_tflite("fuzzed.tflite", content=bytes(data)))
        h, c = render(plan)
    except VibsentryError as exc:
        msg = str(exc)
        assert "fuzzed.tflite" in msg and "\n" not in msg
        return
    assert "GENERATED" in h and "const vs_model_t vs_model" in c
