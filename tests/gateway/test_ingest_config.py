"""``vibsentry ingest`` configuration: TOML [ingest] table < VIBSENTRY_INGEST_* variables < options."""

from __future__ import annotations

import os

import pytest

from vibsentry.cli import build_parser
from vibsentry.commands import ingest
from vibsentry.errors import ConfigError, FileFormatError, UsageError


def _settings(*argv: str) -> dict:
    return ingest.settings(build_parser().parse_args(["ingest", *argv]))


def test_toml_then_environment_then_options(tmp_path, monkeypatch):
    for k in [k for k in os.environ if k.startswith("VIBSENTRY_INGEST_")]:
        monkeypatch.delenv(k)
    cfg = tmp_path / "gw.toml"
    cfg.write_text(
        '[ingest]\nports = ["/dev/ttyUSB0", "socket://10.0.0.5:7000"]\nbaud = 9600\njournal_sync = "NORMAL"\n'
        '[ingest.machines]\n1 = "feed-pump"\n2 = "fan"\n',
        encoding="utf-8",
    )
    s = _settings("--config", str(cfg))
    assert s["ports"] == ["/dev/ttyUSB0", "socket://10.0.0.5:7000"]
    assert (s["baud"], s["journal_sync"], s["machines"]) == (9600, "NORMAL", {1: "feed-pump", 2: "fan"})
    assert (s["flush_ms"], s["batch_size"], s["verify_tls"]) == (250.0, 2000, True)
    monkeypatch.setenv("VIBSENTRY_INGEST_BAUD", "921600")
    monkeypatch.setenv("VIBSENTRY_INGEST_PORTS", "/dev/ttyACM0,/dev/ttyACM1")
    s = _settings("--config", str(cfg))
    assert s["baud"] == 921600 and s["ports"] == ["/dev/ttyACM0", "/dev/ttyACM1"]
    s = _settings(
        "--config",
        str(cfg),
        "--baud",
        "115200",
        "--port",
        "loop://",
        "--machine",
        "2=exhaust-fan",
        "--no-verify-tls",
    )
    assert s["baud"] == 115200 and s["ports"] == ["loop://"]
    assert s["machines"] == {1: "feed-pump", 2: "exhaust-fan"} and s["verify_tls"] is False


def test_bad_values_name_the_key_and_value(tmp_path, monkeypatch):
    monkeypatch.delenv("VIBSENTRY_INGEST_BATCH_SIZE", raising=False)
    cfg = tmp_path / "gw.toml"
    cfg.write_text('[ingest]\nbatch_size = "lots"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"batch_size='lots'"):
        _settings("--config", str(cfg))
    cfg.write_text("[ingest]\nflush_ms = -5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"flush_ms=-5\.0"):
        _settings("--config", str(cfg))
    cfg.write_text("[ingest\nbaud = 1\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match=r"gw\.toml.*line 1"):
        _settings("--config", str(cfg))
    with pytest.raises(UsageError, match="'70000=x'"):
        _settings("--machine", "70000=x")
