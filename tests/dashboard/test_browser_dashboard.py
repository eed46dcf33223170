"""A real headless chromium against the dashboard served by a short `vibsentry demo` run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.browser import chrome, free_port, require_browser, wait_for_js, wait_idle
from tests.support.dashboard import DemoProcess, demo_bundle_dir

pytestmark = [pytest.mark.slow, pytest.mark.needs_tf]

TILE = '[class*="st-key-tile-"]'
CHART = '[data-testid="stVegaLiteChart"]'
READ_TILES_WHEN_COMPLETE = (
    f"const t = Array.from(document.querySelectorAll('{TILE}')).map(e => [e.className, e.innerText]);"
    "return t.length === 4 && t.every(x => x[1].includes('ISO')) ? t : null;"
)


@pytest.fixture(scope="session")
def demo_bundle() -> Path:
    pytest.importorskip("tensorflow", reason="training the demo bundle needs the 'train' extra")
    return demo_bundle_dir()


def test_fleet_and_machine_views_show_the_alarm(tmp_path: Path, demo_bundle: Path) -> None:

    require_browser()
    port = free_port()
    demo = DemoProcess(
        tmp_path / "wd", "--bundle", str(demo_bundle), "--fault-after", "5", "--port", str(port)
    )
    try:
        demo.wait_for_line(f"dashboard at http://localhost:{port}/", 300)
        demo.wait_for_line("demo: ALARM pump-2", 300)
        with chrome() as driver:
            driver.get(f"http://127.0.0.1:{port}/?view=fleet")
            wait_idle(driver, need_css=TILE)
            # A live fragment may be redrawing a tile at any moment: read (one atomic read each time, no stale
            # elements) until four complete tiles are seen.
            tiles = dict(
                wait_for_js(
                    driver,
                    READ_TILES_WHEN_COMPLETE,
                    what="four complete fleet tiles (each with its ISO zone)",
                )
            )
            assert len(tiles) == 4, tiles
            pump2 = next(text for cls, text in tiles.items() if "st-key-tile-2" in cls)
            assert "pump-2" in pump2 and "ALARM" in pump2 and "ISO" in pump2
            for node in (1, 3, 4):
                other = next(text for cls, text in tiles.items() if f"st-key-tile-{node}" in cls)
                assert "ALARM" not in other and ("OK" in other or "WARNING" in other), other
            driver.save_screenshot(str(tmp_path / "fleet.png"))

            driver.get(f"http://127.0.0.1:{port}/?view=machine&node=2")
            wait_idle(driver, need_css=CHART)
            heights = driver.execute_script(
                f"return Array.from(document.querySelectorAll('{CHART}')).map(e => e.getBoundingClientRect().height);"
            )
            assert len(heights) >= 3 and heights[0] > 100  # the score chart is drawn, not an empty frame
            body = driver.execute_script("return document.body.innerText;")
            assert "Anomaly score" in body and "ALARM" in body and "Alarm history" in body
            driver.save_screenshot(str(tmp_path / "machine.png"))
        rc = demo.interrupt()
        assert rc == 0, demo.report()
    finally:
        demo.kill()
    for name in ("fleet.png", "machine.png"):
        assert (tmp_path / name).stat().st_size > 20_000  # a rendered page, not a blank one
    out = Path(__import__("os").environ.get("VIBSENTRY_SCREENSHOT_DIR", ""))
    if out.name:  # `VIBSENTRY_SCREENSHOT_DIR=docs/screenshots` refreshes the README screenshots
        out.mkdir(parents=True, exist_ok=True)
        for name in ("fleet.png", "machine.png"):
            shutil.copy(tmp_path / name, out / name)
