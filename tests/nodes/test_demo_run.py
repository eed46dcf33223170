"""`vibsentry demo` as a user runs it: a real child process, real ptys, the real gateway, Ctrl-C at the end."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.dashboard import DemoProcess, alive, child_pids, demo_bundle_dir
from tests.support.ingest import rows, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.needs_tf]


@pytest.fixture(scope="session")
def demo_bundle() -> Path:
    pytest.importorskip("tensorflow", reason="training the demo bundle needs the 'train' extra")
    return demo_bundle_dir()


def test_demo_raises_alarm_for_faulty_pump_and_ctrl_c_stops_everything(
    tmp_path: Path, demo_bundle: Path
) -> None:
    demo = DemoProcess(
        tmp_path / "wd", "--bundle", str(demo_bundle), "--no-dashboard", "--fault-after", "8", "--nodes", "4"
    )
    try:
        demo.wait_for_line("streaming over 2 ptys", 120)
        children = child_pids(demo.proc.pid)
        assert len(children) == 3  # two simulators (pumps, fans) and the gateway
        line = demo.wait_for_line("demo: ALARM", 90)
        assert "pump-2 (node 2)" in line
        t_alarm = time.monotonic()
        # The alarm's raw capture (1 s, node-numbered ids below the simulator's routine 0x10000 +) is diagnosed
        # by the gateway in the background: wait for its row; healthy nodes keep streaming meanwhile.
        store = tmp_path / "wd" / "run" / "vibsentry.sqlite"
        alarm_q = "SELECT fault, rpm, summary, error FROM diagnoses WHERE node = 2 AND capture_id < 65536"
        wait_for(lambda: rows(store, alarm_q) != [], 45, "the alarm capture's stored diagnosis")
        alarm_diagnosis = rows(store, alarm_q)[0]
        time.sleep(max(0.0, 3 - (time.monotonic() - t_alarm)))  # no false alarm may appear in these seconds
        rc = demo.interrupt()
    finally:
        demo.kill()
    assert rc == 0, demo.report()
    assert any("stopped" in ln for ln in demo.lines)
    leftovers = [p for p in children if alive(p)]
    assert not leftovers, f"children left running after Ctrl-C: {leftovers}"
    db = sqlite3.connect(store)
    errors = db.execute("SELECT node, capture_id, error FROM diagnoses WHERE error IS NOT NULL").fetchall()
    raised = db.execute("SELECT DISTINCT node FROM alarms WHERE event = 1").fetchall()
    per_node = dict(db.execute("SELECT node, count(*) FROM scores GROUP BY node").fetchall())
    mismatch = db.execute("SELECT count(*) FROM nodes WHERE hash_mismatch != 0").fetchone()[0]
    machines = dict(db.execute("SELECT node, machine FROM nodes").fetchall())
    db.close()
    assert raised == [(2,)]
    assert set(per_node) == {1, 2, 3, 4} and min(per_node.values()) > 50  # ~11.7 scores/s per node
    assert mismatch == 0  # the nodes run the bundle's feature contract
    assert machines == {1: "pump-1", 2: "pump-2", 3: "fan-3", 4: "fan-4"}
    # The alarm names the fault in the analyst's words, at the speed the demo declares for pump-2 (1797 rpm):
    # a capture too short for that resolution, or a machine name the setup misses, would store an error.
    fault, rpm, summary, error = alarm_diagnosis
    assert (fault, rpm, error) == ("outer_race", 1797.0, None), alarm_diagnosis
    assert summary.startswith("outer race defect: BPFO"), summary
    assert errors == [], errors


def test_demo_bad_arguments_fail_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "vibsentry", "demo", "--nodes", "40", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stderr.strip().endswith("--nodes 40: must be 2..16")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibsentry",
            "demo",
            "--bundle",
            str(tmp_path / "nope"),
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "no bundle.json" in r.stderr and r.stderr.count("\n") == 1


def test_demo_killed_outright_takes_its_children_along(tmp_path: Path, demo_bundle: Path) -> None:
    demo = DemoProcess(tmp_path / "wd", "--bundle", str(demo_bundle), "--no-dashboard")
    try:
        demo.wait_for_line("streaming over 2 ptys", 120)
        children = child_pids(demo.proc.pid)
        assert len(children) == 3
        demo.proc.kill()  # SIGKILL: no chance to clean up; the children must notice on their own
        demo.proc.wait()
        deadline = time.monotonic() + 15
        while any(alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in children if alive(p)]
    finally:
        demo.kill()
