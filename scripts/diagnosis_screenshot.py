"""Screenshot of the dashboard's machine-detail Diagnosis section (docs/screenshots/diagnosis.png).

A real served dashboard (``vibsentry.dashboard.server``) in headless chromium over a SQLite store written by
the gateway's store class: the test fleet of ``tests/support/dashboard.py`` (pump-2 in alarm) plus a 1 s
RAW_CHUNK capture of a simulated outer-race defect at 1797 rpm, with ``[dashboard.machines."pump-2"]`` in the
dashboard TOML. Run from the repository root: ``.venv/bin/python scripts/diagnosis_screenshot.py [OUT.png]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import chrome, served_dashboard, wait_idle
from tests.support.dashboard import SECOND, fill_store
from vibsentry import synth
from vibsentry.dashboard.store.records import Record
from vibsentry.dashboard.store.sqlite import SQLiteStore

SCALE = 16.0 / 32768  # g per LSB of a +-16 g int16 capture
CHART = '[data-testid="stVegaLiteChart"]'


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots/diagnosis.png")
    tmp = Path(tempfile.mkdtemp(prefix="vs-diag-shot-"))
    path = tmp / "s.sqlite"
    t0 = time.time_ns() - 125 * SECOND
    fill_store(path, t0_ns=t0)
    store = SQLiteStore(path)
    x = synth.machine_signal(duration_s=1.0, rpm=1797.0, fault="outer", seed=5)
    q16 = np.clip(np.round(x / SCALE), -32768, 32767).astype("<i2")
    store.write([
        Record("raw", 2, t0 + 64 * SECOND + i, 90_000 + i,
               {"capture_id": 1, "chunk_index": i, "n_chunks": 4, "sample_rate": 12000.0, "sample_format": "i16",
                "scale": SCALE, "data": part.tobytes()}, machine="pump-2")
        for i, part in enumerate(np.array_split(q16, 4))
    ])  # fmt: skip
    store.close()
    cfg = tmp / "dash.toml"
    cfg.write_text('[dashboard.machines."pump-2"]\nrpm = 1797\nbearing = "6205-2rs"\n')
    env = {
        **os.environ,
        "VIBSENTRY_DASHBOARD_STORE": f"sqlite:{path}",
        "VIBSENTRY_DASHBOARD_CONFIG": str(cfg),
    }
    with served_dashboard(env, tmp / "log.txt") as url, chrome(width=1400, height=2600) as d:
        d.get(f"{url}/?view=machine&node=2")
        wait_idle(d, need_css=CHART, timeout_s=120)
        deadline = time.monotonic() + 60
        while True:
            body = d.execute_script("return document.body.innerText;")
            n = d.execute_script(f"return document.querySelectorAll('{CHART}').length;")
            if ("outer race defect" in body and n >= 6) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "outer race defect" in body and n >= 6, (n, body[-500:])
        time.sleep(2)  # let the charts finish drawing
        d.save_screenshot(str(tmp / "full.png"))
    Image.open(tmp / "full.png").crop((360, 1420, 1330, 2100)).save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
