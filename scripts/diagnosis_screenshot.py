"""Screenshot of the machine-detail Diagnosis section from a real demo run (docs/screenshots/diagnosis.png).

Runs ``vibsentry demo`` as a user does (4 nodes on the firmware's node core through ctypes, real ptys, the real
gateway and the served dashboard; the model bundle the demo trains, cached under ``build/demo_bundle/``), waits
until pump-2's outer-race fault has raised an alarm and the gateway has stored the diagnosis of that alarm's
own RAW_CHUNK capture (1 s: the node's pre-trigger ring and the samples after the raise), then opens the pump's
machine detail in headless chromium and crops the Diagnosis section and the alarm history below it (the
alarm's stored diagnosis), and the alarm log beside it (``alarms.png``). Nothing is synthesised here: every number on the picture comes from that run.

Run from the repository root: ``.venv/bin/python scripts/diagnosis_screenshot.py [OUT.png]`` (about 2 min once
the bundle is cached).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import chrome, free_port, wait_idle
from tests.support.dashboard import demo_bundle_dir

CHART = '[data-testid="stVegaLiteChart"]'
# Top of the Diagnosis heading and bottom of the alarm-history table, in page pixels.
_BOUNDS_JS = """
const hs = [...document.querySelectorAll('h1,h2,h3')];
const a = hs.find(e => e.innerText.startsWith('Diagnosis'));
const b = hs.find(e => e.innerText.startsWith('Alarm history'));
if (!a || !b) return null;
const tables = [...document.querySelectorAll('[data-testid="stDataFrame"]')]
    .filter(t => t.getBoundingClientRect().top > b.getBoundingClientRect().top);
const end = tables.length ? tables[0].getBoundingClientRect().bottom : b.getBoundingClientRect().bottom + 200;
return [a.getBoundingClientRect().top + window.scrollY, end + window.scrollY];
"""


def _diagnosed(store: Path) -> tuple[int, str] | None:
    """(node, fault) once the gateway has diagnosed the capture a node sent with its first alarm, else None.

    Node-numbered captures (ids below 0x10000) are the ones sent on an alarm raise; the simulator's routine
    captures use ids from 0x10000. Whatever the gateway concluded is taken as it is.
    """
    if not store.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)) as c:
            row = c.execute(
                "SELECT d.node, d.fault FROM diagnoses d JOIN alarms a ON a.node = d.node AND a.event = 1 "
                "WHERE d.capture_id < 65536 AND d.ts_ns >= a.ts_ns - 2000000000 ORDER BY d.ts_ns LIMIT 1"
            ).fetchone()
    except sqlite3.Error:  # the gateway may not have created the tables yet
        return None
    return (int(row[0]), str(row[1])) if row else None


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots/diagnosis.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vs-diag-demo-"))
    port = free_port()
    bundle = demo_bundle_dir()
    argv = [sys.executable, "-m", "vibsentry", "demo", "--bundle", str(bundle), "--fault-after", "15",
            "--duration", "600", "--port", str(port), "--address", "127.0.0.1", "--workdir", str(work)]  # fmt: skip
    log = open(work / "demo.out", "wb")  # kept open for the child's lifetime
    demo = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        store = work / "run" / "vibsentry.sqlite"
        deadline = time.monotonic() + 400
        while (hit := _diagnosed(store)) is None:
            if demo.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"no diagnosis from the demo run; see {work / 'demo.out'}")
            time.sleep(2)
        node, fault = hit
        print(f"gateway diagnosed node {node}'s capture: {fault}")
        with chrome(width=1400, height=3000) as d:
            d.get(f"http://127.0.0.1:{port}/?view=machine&node={node}")
            wait_idle(d, need_css=CHART, timeout_s=120)
            deadline = time.monotonic() + 90
            while True:
                body = d.execute_script("return document.body.innerText;")
                n = d.execute_script(f"return document.querySelectorAll('{CHART}').length;")
                box = d.execute_script(_BOUNDS_JS)
                if ("defect" in body and n >= 4 and box) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert "defect" in body and box, body[-800:]
            time.sleep(3)  # the charts draw after the script run ends
            box = d.execute_script(_BOUNDS_JS)
            d.save_screenshot(str(work / "full.png"))
            # The alarm log with the same alarm's stored diagnosis (docs/screenshots/alarms.png beside OUT).
            d.set_window_size(1400, 900)
            d.get(f"http://127.0.0.1:{port}/?view=alarms")
            wait_idle(d, timeout_s=120, need_css='[data-testid="stDataFrame"]')
            time.sleep(3)  # the table draws on a canvas after the script run ends (no text to wait for)
            d.save_screenshot(str(out.parent / "alarms.png"))
        full = Image.open(work / "full.png")
        top, bottom = max(0, int(box[0]) - 10), min(full.height, int(box[1]) + 10)
        full.crop((0, top, full.width, bottom)).save(out, optimize=True)
        print(f"wrote {out} and {out.parent / 'alarms.png'} (demo run in {work})")
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGINT)  # the demo stops its children on SIGINT
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
        log.close()


if __name__ == "__main__":
    main()
