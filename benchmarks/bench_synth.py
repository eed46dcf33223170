"""How fast vibsentry.synth generates signal, as a multiple of real time (12 kHz, one core).

Run: ``.venv/bin/python benchmarks/bench_synth.py``. Prints, for healthy and faulty signals of a few
lengths, the generation CPU time (one core) and the ratio signal-seconds / CPU-second. The target is
minutes of 12 kHz data in well under a second, i.e. a real-time factor above ~200.
"""

from __future__ import annotations

import time

from vibsentry import synth


def _best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    # CPU time of this process: on a shared machine wall time mostly measures the neighbours.
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    print(f"{'signal':<34}{'seconds':>9}{'CPU s':>11}{'x real time':>13}")
    for duration in (10.0, 60.0, 180.0):
        for fault in (None, "outer", "inner", "ball"):
            dt = _best(lambda d=duration, f=fault: synth.machine_signal(duration_s=d, fault=f, seed=1))
            name = fault or "healthy"
            print(f"{name:<34}{duration:>9.0f}{dt:>11.3f}{duration / dt:>13.0f}")
        dt = _best(
            lambda d=duration: synth.machine_signal(
                duration_s=d, fault="outer", fault_onset_s=d / 2, growth_s=5.0,
                load_changes=((d / 4, 0.8), (d / 2, 0.2)), seed=1,
            )
        )  # fmt: skip
        name = "outer, onset + growth + load steps"
        print(f"{name:<34}{duration:>9.0f}{dt:>11.3f}{duration / dt:>13.0f}")


if __name__ == "__main__":
    main()
