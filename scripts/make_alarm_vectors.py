"""Regenerate tests/vectors/alarm/*.json: alarm-rule known-answer vectors from the Python reference.

Each file holds a rule, a float32 score sequence (as decimal floats that round-trip exactly to float32) and the
expected state and event after every frame. The C ``vs_alarm`` tests and the Python tests both check them.
Run: ``.venv/bin/python scripts/make_alarm_vectors.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vibsentry.runtime.alarm import AlarmRule, apply_alarm_rule

OUT = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "alarm"


def cases() -> dict[str, tuple[AlarmRule, np.ndarray]]:
    rng = np.random.default_rng(20261121)
    out: dict[str, tuple[AlarmRule, np.ndarray]] = {}
    # Healthy noise, then a fault episode, then recovery: the ordinary life of a machine.
    s = np.concatenate([rng.gamma(2.0, 0.25, 200), rng.gamma(2.0, 0.25, 80) + 1.5, rng.gamma(2.0, 0.25, 120)])
    out["episode_k3_n5"] = (AlarmRule(1.6, 1.2, 3, 5), s)
    # Scores hovering around the threshold: hysteresis must keep the alarm from flapping.
    out["hover_k2_n4"] = (AlarmRule(1.0, 0.7, 2, 4), 1.0 + 0.35 * np.sin(np.arange(300) * 0.37))
    # Exactly at the threshold never counts (strict '>').
    eq = np.full(50, 2.0)
    eq[[10, 11, 12, 30]] = np.nextafter(np.float32(2.0), np.float32(3.0))
    out["equal_threshold_k3_n3"] = (AlarmRule(2.0, 2.0, 3, 3), eq)
    out["single_frame_k1_n1"] = (AlarmRule(0.5, 0.25, 1, 1), rng.uniform(0.0, 1.0, 200))
    out["long_ring_k20_n32"] = (
        AlarmRule(0.8, 0.6, 20, 32),
        rng.uniform(0.0, 1.0, 400) + np.linspace(0, 0.5, 400),
    )
    out["negative_scores_k2_n3"] = (AlarmRule(-1.0, -2.0, 2, 3), rng.normal(-1.5, 1.0, 300))
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (rule, scores) in cases().items():
        s32 = np.asarray(scores, dtype=np.float32)
        states, events = apply_alarm_rule(s32, rule)
        doc = {
            "generator": "scripts/make_alarm_vectors.py",
            "rule": rule.to_dict(),
            "scores": [float(x) for x in s32],
            "states": states.tolist(),
            "events": events.tolist(),
        }
        (OUT / f"{name}.json").write_text(json.dumps(doc, indent=None) + "\n")
        print(f"{name}: {int((events == 1).sum())} raises, {int((events == 2).sum())} clears")


if __name__ == "__main__":
    main()
