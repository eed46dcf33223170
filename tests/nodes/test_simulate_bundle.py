"""``vibsentry simulate`` with a real model bundle: the bundle's features, INT8 model and alarm rule."""

from __future__ import annotations

import numpy as np
import pytest

from vibsentry import protocol as vp
from vibsentry.dsp import extract_features
from vibsentry.nodes.virtual import NodeSpec, VirtualNode, load_signal

pytestmark = [pytest.mark.slow, pytest.mark.needs_tf]

HEALTHY = "sample_data/synthetic/m1_normal_a.wav"
FAULTY = "sample_data/synthetic/m1_outer_race_sev100.wav"


@pytest.fixture(scope="module")
def bundle():
    pytest.importorskip("tensorflow", reason="training a bundle needs the train extra")
    from tests.support.dashboard import demo_bundle_dir
    from vibsentry.runtime.bundle import load_bundle

    return load_bundle(demo_bundle_dir())


def test_node_reports_the_bundle_and_scores_with_its_int8_model(bundle, repo_root):
    spec = NodeSpec(
        3, "pump-3", str(repo_root / HEALTHY), fault_recording=str(repo_root / FAULTY), fault_at_s=8.0
    )
    # The Python pipeline: its scores are the reference features' scores exactly. The C node (the default
    # engine with a bundle) is checked stage by stage in tests/firmware/test_c_node.py: its features match the
    # reference within tolerance, so an int8 rounding may differ now and then.
    node = VirtualNode(spec, duration_s=16.0, bundle=bundle, features_every=0, engine="python")
    frames = [vp.decode_frame(f) for _, f in node.messages()]
    h = frames[0].message
    assert isinstance(h, vp.Hello)
    assert h.feature_hash.hex() == bundle.feature_hash
    assert h.model_hash.hex() == bundle.meta["files"]["model.tflite"]
    scores = [f.message for f in frames if isinstance(f.message, vp.Score)]
    assert {s.threshold for s in scores} == {np.float32(bundle.alarm.threshold)}
    # The first healthy frames score exactly as the bundle scores the reference features.
    sig = load_signal(str(repo_root / HEALTHY), sample_rate=bundle.params.sample_rate, duration_s=8.0)
    ref = bundle.score_features(extract_features(sig[: 8 * 12000], params=bundle.params))
    got = np.asarray([s.score for s in scores[: len(ref) - 1]], dtype=np.float32)
    np.testing.assert_array_equal(got, ref[: len(got)])
    raises = [
        f.message
        for f in frames
        if isinstance(f.message, vp.Alarm) and f.message.event == vp.AlarmEvent.RAISE
    ]
    assert raises and raises[0].frame_index >= int(8.0 * 12000) // bundle.params.hop_length - 1
    assert (raises[0].k, raises[0].n) == (bundle.alarm.k, bundle.alarm.n)
