"""The alarm rule: threshold, k-of-n persistence and hysteresis, identical in Python, C and the gateway.

Semantics (normative; ``firmware_core`` ``vs_alarm`` implements the same and is tested on the vectors in
``tests/vectors/alarm/``): every analysed frame's score ``s`` (float32) enters a ring of the last ``n``
scores (fewer at start-up).

- state OK: when at least ``k`` scores in the ring are ``> threshold``, the state becomes ALARM and the step
  returns :data:`RAISE`;
- state ALARM: when no score in the ring is ``> clear_threshold``, the state becomes OK and the step returns
  :data:`CLEAR`.

Comparisons are strict and done in float32. ``clear_threshold <= threshold`` gives the hysteresis: a score
hovering at the threshold cannot make the alarm flap, and one alarm per episode reaches the plant engineer.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vibsentry.errors import ConfigError

NONE = 0
RAISE = 1
CLEAR = 2
MAX_N = 32

STATE_OK = 0
STATE_ALARM = 1


@dataclass(frozen=True)
class AlarmRule:
    """Threshold plus persistence and hysteresis.

    Parameters
    ----------
    threshold : float
        Score above which a frame counts towards raising (rounded to float32).
    clear_threshold : float
        Score above which a frame keeps an alarm up; ``<= threshold`` (rounded to float32).
    k, n : int
        Raise when ``k`` of the last ``n`` frames exceed ``threshold``; ``1 <= k <= n <= 32``.
    """

    threshold: float
    clear_threshold: float
    k: int = 3
    n: int = 5

    def __post_init__(self) -> None:
        for name in ("threshold", "clear_threshold"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not np.isfinite(v):
                raise ConfigError(f"alarm rule {name}={v!r}: must be a finite number")
            object.__setattr__(self, name, float(np.float32(v)))
        for name in ("k", "n"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ConfigError(f"alarm rule {name}={v!r}: must be an integer")
            object.__setattr__(self, name, int(v))
        if not 1 <= self.k <= self.n <= MAX_N:
            raise ConfigError(f"alarm rule k={self.k}, n={self.n}: need 1 <= k <= n <= {MAX_N}")
        if self.clear_threshold > self.threshold:
            raise ConfigError(
                f"alarm rule clear_threshold={self.clear_threshold!r}: must not exceed threshold={self.threshold!r}"
            )

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready fields (as stored in ``bundle.json``)."""
        return {
            "threshold": self.threshold,
            "clear_threshold": self.clear_threshold,
            "k": self.k,
            "n": self.n,
        }

    @classmethod
    def from_dict(cls, d: dict[str, float | int]) -> AlarmRule:
        """Inverse of :meth:`to_dict`; unknown or missing keys raise :class:`ConfigError`."""
        keys = {"threshold", "clear_threshold", "k", "n"}
        if set(d) != keys:
            raise ConfigError(f"alarm rule keys {sorted(d)}: expected {sorted(keys)}")
        return cls(float(d["threshold"]), float(d["clear_threshold"]), int(d["k"]), int(d["n"]))


class AlarmState:
    """Streaming evaluation of an :class:`AlarmRule`, one score at a time (what a node does per frame)."""

    def __init__(self, rule: AlarmRule) -> None:
        self.rule = rule
        self._thr = np.float32(rule.threshold)
        self._clr = np.float32(rule.clear_threshold)
        self._ring: deque[np.float32] = deque(maxlen=rule.n)
        self.state = STATE_OK

    def reset(self) -> None:
        """Forget history (after a node reboot)."""
        self._ring.clear()
        self.state = STATE_OK

    def step(self, score: float) -> int:
        """Feed one frame's score; return :data:`NONE`, :data:`RAISE` or :data:`CLEAR`."""
        self._ring.append(np.float32(score))
        if self.state == STATE_OK:
            if sum(1 for s in self._ring if s > self._thr) >= self.rule.k:
                self.state = STATE_ALARM
                return RAISE
        elif not any(s > self._clr for s in self._ring):
            self.state = STATE_OK
            return CLEAR
        return NONE


def apply_alarm_rule(
    scores: npt.ArrayLike, rule: AlarmRule
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Run the rule over a score sequence.

    Parameters
    ----------
    scores : array_like, shape (n_frames,)
        Scores in frame order (converted to float32).
    rule : AlarmRule

    Returns
    -------
    states : ndarray of uint8, shape (n_frames,)
        State after each frame (0 OK, 1 ALARM).
    events : ndarray of uint8, shape (n_frames,)
        Event at each frame (0 none, 1 raise, 2 clear).
    """
    s = np.asarray(scores, dtype=np.float32).ravel()
    st = AlarmState(rule)
    events = np.zeros(s.shape[0], dtype=np.uint8)
    states = np.zeros(s.shape[0], dtype=np.uint8)
    for i, v in enumerate(s):
        events[i] = st.step(float(v))
        states[i] = st.state
    return states, events
