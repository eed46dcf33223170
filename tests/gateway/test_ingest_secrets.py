"""Finding K5: InfluxDB credentials never appear in a URL, a log line (even at DEBUG) or the status file.

The real ``vibsentry ingest`` reads frames from a real pty and delivers to a real ``influxd`` with
authentication on; its DEBUG log (urllib3 logs every request line there) and its status file are searched for
the secrets afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.influxd import InfluxdServer, score_count
from tests.support.ingest import gateway_on_pty, hello, score_stream, stop_gateway, wait_for
from vibsentry.config import redact_url, split_url_credentials


def test_credentials_stay_out_of_urls_logs_and_status(tmp_path: Path) -> None:
    srv = InfluxdServer(tmp_path / "influxd", auth=True)
    srv.start()
    try:
        srv.query("CREATE USER gw WITH PASSWORD 'pw-1-SECRET' WITH ALL PRIVILEGES")
        data, log = tmp_path / "data", tmp_path / "gw.log"
        # The URL carries credentials too (a common copy-paste); the environment's win, neither may leak.
        url = srv.url.replace("http://", "http://nobody:url-SECRET@")
        with gateway_on_pty(
            tmp_path / "port", data, "--influx-url", url,
            "--db", "sec",
            "--log-level", "DEBUG",
            log=log,
            env={"VIBSENTRY_INFLUX_USERNAME": "gw", "VIBSENTRY_INFLUX_PASSWORD": "pw-1-SECRET"},
        ) as (link, gw):  # fmt: skip
            for f in [hello(7, 0, 1000), *score_stream(7, 30)]:
                link.write(f)
            wait_for(
                lambda: score_count(srv.url, "sec", username="gw", password="pw-1-SECRET") == 30,
                timeout=300,
                what="30 points in the auth-enabled InfluxDB",
            )
            assert stop_gateway(gw) == 0
        status = (data / "ingest-status.json").read_text()  # the final one, written on exit
        text = log.read_text()
        assert "/write?db=sec" in text  # urllib3's DEBUG request lines are there ...
        for secret in ("pw-1-SECRET", "url-SECRET", "&p=", "?u=", "nobody:"):
            assert secret not in text and secret not in status, secret  # ... without credentials
        assert json.loads(status)["sinks"]["influx"]["delivered"] == 31  # HELLO + 30 scores
    finally:
        srv.stop()


def test_url_credential_helpers() -> None:
    assert split_url_credentials("https://u%40x:p%3Aw@[::1]:8086/db?x=1") == (
        "https://[::1]:8086/db?x=1",
        "u@x",
        "p:w",
    )
    assert split_url_credentials("http://h:1") == ("http://h:1", None, None)
    assert redact_url("http://a:b@h/write?db=d&u=a&p=b") == "http://***@h/write?db=d&u=***&p=***"
