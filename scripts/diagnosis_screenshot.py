"""Screenshot of the machine-detail Diagnosis section from a real demo run (docs/images/diagnosis_demo.png).

Runs ``vibsentry demo`` (2 simulated nodes over real ptys, the real gateway and the served dashboard; the
nodes' baseline scorer with ``--no-train`` so no model is trained), waits until pump-1's outer-race fault has
raised an alarm and the gateway has stored a diagnosis of a RAW_CHUNK capture taken after it (the nodes' routine
30 s capture; the alarm's own capture ends at the raise), then opens the pump's machine detail in headless
chromium and crops the Diagnosis section (latest capture) and the alarm history below it (the alarm capture's
stored diagnosis). Nothing is synthesised here: every number on the picture comes from that run.

Run from the repository root: ``.venv/bin/python scripts/diagnosis_screenshot.py [OUT.png]`` (about 2 min).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import chrome, free_port, wait_idle

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
    """(node, fault) once the gateway has diagnosed a capture taken after the first alarm, else None.

    The alarm's own capture ends at the raise; the first routine capture after it (the demo's nodes send one
    every 30 s) shows the machine in its alarm state. Whatever the gateway concluded is taken as it is.
    """
    if not store.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as c:
            row = c.execute(
                "SELECT d.node, d.fault FROM diagnoses d JOIN alarms a ON a.node = d.node "
                "WHERE d.fault IS NOT NULL AND d.ts_ns > a.ts_ns + 5000000000 ORDER BY d.ts_ns LIMIT 1"
            ).fetchone()
    except sqlite3.Error:  # the gateway may not have created the tables yet
        return None
    return (int(row[0]), str(row[1])) if row else None


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images/diagnosis_demo.png")
    work = Path(tempfile.mkdtemp(prefix="vs-diag-demo-"))
    port = free_port()
    argv = [sys.executable, "-m", "vibsentry", "demo", "--no-train", "--nodes", "2", "--fault-after", "15",
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
        full = Image.open(work / "full.png")
        top, bottom = max(0, int(box[0]) - 10), min(full.height, int(box[1]) + 10)
        out.parent.mkdir(parents=True, exist_ok=True)
        full.crop((0, top, full.width, bottom)).save(out, optimize=True)
        print(f"wrote {out} (demo run in {work})")
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
