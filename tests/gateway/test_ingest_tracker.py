"""Sequence tracking, boots and feature_hash checks: what the gateway decides per frame."""

from __future__ import annotations

from tests.support.ingest import FEATURE_HASH, hello, score
from vibsentry import protocol as vp
from vibsentry.dashboard.gateway.tracker import Tracker


class Clock:
    def __init__(self, t: int = 1_800_000_000_000_000_000) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def _feed(tr: Tracker, frames: list[bytes], port: str = "p0") -> list:
    return [tr.process(vp.decode_frame(f), port) for f in frames]


def test_timestamps_come_from_node_time_not_arrival_time():
    clock = Clock()
    tr = Tracker(clock_ns=clock)
    a = _feed(tr, [hello(5, 0, 2_000_000)])[0]
    clock.t += 7_000_000_000  # the next frame arrives 7 s late (a stalled port), node time says 0.5 s
    b = _feed(tr, [score(5, 1, 2_500_000)])[0]
    assert b.ts_ns - a.ts_ns == 500_000_000
    assert a.ts_ns == clock.t - 7_000_000_000 and a.fields["boot_epoch_ns"] == a.ts_ns - 2_000_000_000


def test_resumed_tracker_derives_identical_keys_for_the_same_boot():
    clock = Clock()
    tr = Tracker(clock_ns=clock)
    _feed(tr, [hello(5, 0, 1000), score(5, 1, 90_000)])
    states = tr.take_dirty()
    clock.t += 3_600_000_000_000  # gateway restarted an hour later; the node kept running
    tr2 = Tracker(states, clock_ns=clock)
    r1 = _feed(tr, [score(5, 2, 180_000)])[0]
    r2 = _feed(tr2, [score(5, 2, 180_000)])[0]
    assert (r1.ts_ns, r1.seq) == (r2.ts_ns, r2.seq)
    assert tr2.nodes[5].gaps == 0 and tr2.nodes[5].reboots == 0


def test_gaps_duplicates_and_reboots_are_counted():
    tr = Tracker(clock_ns=Clock())
    frames = [hello(1, 0, 1000), score(1, 1, 2000), score(1, 2, 3000), score(1, 2, 3000), score(1, 6, 7000)]
    out = _feed(tr, frames)
    assert out[3] is None  # the exact duplicate is dropped
    c = tr.nodes[1]
    assert (c.frames, c.duplicates, c.gaps, c.reboots) == (4, 1, 3, 0)
    # Reboot announced by HELLO with a new boot counter: sequence restarts without being a gap.
    rebooted = _feed(tr, [hello(1, 0, 500, boot=2), score(1, 1, 90_000)])
    assert (c.reboots, c.gaps) == (1, 3)
    # New boot's records come after the old boot's, even though its node clock restarted near zero.
    assert rebooted[0].ts_ns > out[4].ts_ns
    # Reboot without HELLO (lost): the node clock goes backwards.
    _feed(tr, [score(1, 0, 100)])
    assert c.reboots == 2


def test_feature_hash_mismatch_flags_every_later_record_of_that_node_only():
    tr = Tracker(expected_feature_hash=FEATURE_HASH.hex(), clock_ns=Clock())
    good = _feed(tr, [hello(1, 0, 1000), score(1, 1, 2000)])
    bad = _feed(tr, [hello(2, 0, 1000, feature_hash=bytes(32)), score(2, 1, 2000)])
    assert not good[0].fields["hash_mismatch"] and not good[1].fields["hash_mismatch"]
    assert bad[0].fields["hash_mismatch"] and bad[1].fields["hash_mismatch"]
    assert tr.nodes[2].hash_mismatch and not tr.nodes[1].hash_mismatch


def test_machine_name_from_config_wins_over_hello():
    tr = Tracker(machines={1: "feed-pump"}, clock_ns=Clock())
    recs = _feed(tr, [hello(1, 0, 1000), score(1, 1, 2000), hello(2, 0, 1000), score(2, 1, 2000)])
    assert [r.machine for r in recs] == ["feed-pump", "feed-pump", "m2", "m2"]


def test_commands_and_acks_are_not_stored_but_counted():
    tr = Tracker(clock_ns=Clock())
    ack = vp.encode(vp.Ack(0x40, 3), node_id=1, seq=0, timestamp_us=10)
    assert _feed(tr, [ack]) == [None]
    assert tr.ignored == 1


def test_a_quick_reboot_repeating_the_same_seq_and_times_is_kept_not_dropped_as_duplicates():
    # A deterministic node (or the simulator) that reboots repeats its first frames bit for bit: same
    # sequence numbers, same node timestamps. Only the HELLO's boot counter tells the boots apart.
    tr = Tracker(clock_ns=Clock())
    first = [hello(3, 0, 1000, boot=1), score(3, 1, 2000), score(3, 2, 3000)]
    second = [hello(3, 0, 1000, boot=2), score(3, 1, 2000), score(3, 2, 3000)]
    a = _feed(tr, first)
    b = _feed(tr, second)
    assert all(r is not None for r in a + b)
    c = tr.nodes[3]
    assert (c.frames, c.duplicates, c.reboots) == (6, 0, 1)
    assert min(r.ts_ns for r in b) > max(r.ts_ns for r in a)  # distinct keys: nothing overwritten
    # A true duplicate within the new boot is still dropped.
    assert _feed(tr, [score(3, 2, 3000)]) == [None]
