"""The machine detail's "Request raw capture": the real dashboard page (Streamlit AppTest) sends REQUEST_RAW
through a real ``vibsentry ingest`` (its command socket) to a real ``vibsentry simulate`` node behind a pty; the
node's ACK is shown, the capture of the asked length lands in the store, the action is audited, and viewers /
a read-only dashboard get no button."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("streamlit", reason="the dashboard extra is not installed")

from tests.support.dashboard import run_view
from tests.support.ingest import rows, simulated_node_and_gateway, wait_for
from tests.support.update_node import tiny_bundle

NODE = 5


def _page(monkeypatch: pytest.MonkeyPatch, role: str, *, read_only: bool = False) -> Any:
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_ANONYMOUS_ROLE", role)
    monkeypatch.setenv("VIBSENTRY_DASHBOARD_READ_ONLY", "1" if read_only else "0")
    return run_view("machine", 120, node=str(NODE))


def _buttons(at: Any) -> list[str]:
    return [b.label for b in at.button]


def test_operator_requests_a_raw_capture_through_the_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tiny_bundle(tmp_path / "bundle")
    link, data, audit = tmp_path / "node.pty", tmp_path / "gw", tmp_path / "audit.sqlite"
    with simulated_node_and_gateway(
        link, data,
        ["--bundle", str(bundle), "--engine", "python", "--node-id", str(NODE), "--machine", "pump",
         "--duration", "120", "--speed", "1", "--features-every", "0", "--status-every", "2"],
    ):  # fmt: skip
        db = data / "vibsentry.sqlite"
        scored = "SELECT count(*) FROM scores WHERE node = ?"
        wait_for(lambda: db.exists() and rows(db, scored, (NODE,))[0][0] >= 2, 60, "scores from the node")
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_STORE", f"sqlite:{db}")
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_GATEWAY_DIR", str(data))
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_AUDIT", str(audit))
        (tmp_path / "dash.toml").write_text("")
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_CONFIG", str(tmp_path / "dash.toml"))

        assert "Request raw capture" not in _buttons(_page(monkeypatch, "viewer"))
        assert "Request raw capture" not in _buttons(_page(monkeypatch, "operator", read_only=True))

        at = _page(monkeypatch, "operator")
        at.number_input(key=f"raw-seconds-{NODE}").set_value(20.0)
        at.button(key=f"raw-go-{NODE}").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert [e.value for e in at.error] == ["`capture length 20.0 s: must be between 0.01 and 10 seconds`"]

        at.number_input(key=f"raw-seconds-{NODE}").set_value(1.0)
        at.button(key=f"raw-go-{NODE}").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        ok = "\n".join(s.value for s in at.success)
        assert "12000 samples (1 s): the node accepted the request (ACK)" in ok, ok
        assert "appears in the Diagnosis picker" in ok
        capture_id = int(ok.split("capture ")[1].split(",")[0])

        q = "SELECT count(*), sum(length(data)) / 2, max(n_chunks) FROM raw_chunks WHERE node = ? AND capture_id = ?"
        wait_for(lambda: (r := rows(db, q, (NODE, capture_id))[0])[0] == r[2], 60, "the capture stored")
        n_chunks = rows(db, q, (NODE, capture_id))[0]
        assert n_chunks[1] == 12000 and n_chunks[2] == 24, n_chunks  # 1 s at 12 kHz, 500 int16 per chunk

        # A NACK comes back as one plain line (the simulator holds 10 s at 12 kHz)
        from vibsentry.dashboard import raw_request as rr

        nack = rr.request_raw(data, NODE, 120_001)
        assert not nack.ok and nack.text == rr.PLAIN_REASONS[6], nack  # 6: TOO_LARGE

        # A dashboard pointed at a directory without a gateway: one error line, audited, the page still works
        monkeypatch.setenv("VIBSENTRY_DASHBOARD_GATEWAY_DIR", str(tmp_path / "no-gateway"))
        at.button(key=f"raw-go-{NODE}").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert len(at.error) == 1 and at.error[0].value.startswith("`no gateway command socket at "), at.error
        assert not at.success

        with sqlite3.connect(audit) as a:
            log = a.execute(
                "SELECT user, role, action, target, outcome, detail FROM audit ORDER BY ts_ns"
            ).fetchall()
        assert [r[:5] for r in log] == [
            ("anonymous", "operator", "request_raw", f"node {NODE}", "refused"),
            ("anonymous", "operator", "request_raw", f"node {NODE}", "ok"),
            ("anonymous", "operator", "request_raw", f"node {NODE}", "refused"),
        ], log
        assert log[1][5].startswith(f"capture {capture_id}, 12000 samples"), log


def test_no_gateway_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vibsentry.dashboard.raw_request import request_raw
    from vibsentry.errors import DeployError

    with pytest.raises(DeployError, match=r"^no gateway command socket at .*gateway\.sock: is the gateway"):
        request_raw(tmp_path, NODE, 12000)
