"""Wire-protocol decode speed on one core: Python ``Decoder`` vs the C streaming decoder, side by side.

Both decode the same byte stream of SCORE frames (the gateway's common case) and of a realistic mix (SCORE with
a STATUS every 100 frames, a FEATURES of 40 values every 10 frames), fed in 4 KiB reads as from a serial port.
The C decoder runs through one ctypes call per stream (``tests/support/protocol_shim.c``: decode + re-encode
every frame), so its time is C only. Python encode speed is printed too. The gateway target (ARCHITECTURE.md) is
>= 20,000 messages/s per core decoded *and journaled*, so decoding must stay well under 50 us/message.

Run: ``.venv/bin/python benchmarks/bench_protocol.py [--frames 50000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.protocol import Shim, build_shim
from vibsentry import protocol as vp

TARGET = 20_000.0


def _score(i: int) -> vp.Score:
    return vp.Score(0.1 + (i % 97) * 0.01, 1.5, 0, -1, 0.02, 0.11, 1.3 + (i % 7) * 0.1, i)


def _streams(n: int) -> dict[str, bytes]:
    scores = b"".join(vp.encode(_score(i), node_id=3, seq=i, timestamp_us=i * 85_333) for i in range(n))
    mix = bytearray()
    for i in range(n):
        if i % 100 == 0:
            m: vp.Message = vp.Status(i, i, 0, i, 0, 0, 0, None, 35.5)
        elif i % 10 == 0:
            m = vp.Features(0, i, tuple(float(k) * 0.25 for k in range(40)))
        else:
            m = _score(i)
        mix += vp.encode(m, node_id=3, seq=i, timestamp_us=i * 85_333)
    return {"SCORE only": scores, "mixed": bytes(mix)}


def _best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    shim = Shim(build_shim())
    n = args.frames

    def py_decode(data: bytes) -> int:
        dec = vp.Decoder()
        count = 0
        for i in range(0, len(data), 4096):
            count += len(dec.feed(data[i : i + 4096]))
        assert count == n and dec.errors == 0
        return count

    print(f"{n} frames per stream, best of {args.repeat}, one core")
    print(
        f"{'stream':<12} {'bytes/frame':>11} {'Python msg/s':>13} {'C msg/s':>12} {'C/Python':>9} {'Py/target':>10}"
    )
    for name, data in _streams(n).items():
        t_py = _best(lambda d=data: py_decode(d), args.repeat)
        t_c = _best(lambda d=data: shim.stream(d, 4096), args.repeat)
        py_rate, c_rate = n / t_py, n / t_c
        print(
            f"{name:<12} {len(data) / n:>11.1f} {py_rate:>13,.0f} {c_rate:>12,.0f} {c_rate / py_rate:>8.1f}x "
            f"{py_rate / TARGET:>9.1f}x"
        )
    msgs = [_score(i) for i in range(n)]
    t_enc = _best(
        lambda: [vp.encode(m, node_id=3, seq=i, timestamp_us=i) for i, m in enumerate(msgs)], args.repeat
    )
    print(f"Python encode SCORE: {n / t_enc:,.0f} msg/s")
    print("(C msg/s includes re-encoding each decoded message; Python msg/s is decode only)")


if __name__ == "__main__":
    main()
