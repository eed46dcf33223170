"""What a libFuzzer run (C targets built with clang, Python targets through atheris) says it did."""

from __future__ import annotations

import re

_DONE = re.compile(r"^Done (\d+) runs", re.MULTILINE)


def runs_done(stderr: str) -> int:
    """Inputs libFuzzer executed, from its closing ``Done N runs in S second(s)`` line; -1 when there is none.

    ``-runs=N`` is where libFuzzer stops looking for more work, not an exact count: an atheris run of 3,000 has
    ended at 3,000 to 3,091 from the same seed and corpus (a clean-clone CI run printed 3,058 and failed a test
    that expected exactly 3,000), so callers compare with ``>=``.
    """
    m = _DONE.search(stderr)
    return int(m.group(1)) if m else -1
