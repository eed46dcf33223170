"""A real headless chromium against the served dashboard while a retrain trains in the background: the
progress bar advances by itself and another view opens and renders before the job ends."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.dashboard.test_retrain_dashboard import export_manifest, fault_store, old_bundle
from tests.support.browser import (
    chrome,
    click_when_clear,
    require_browser,
    served_dashboard,
    wait_for_js,
    wait_idle,
)
from vibsentry.dashboard import retrain_job as rj

pytestmark = [pytest.mark.slow, pytest.mark.needs_tf]

TILE = '[class*="st-key-tile-"]'
START = '[class*="st-key-rt-start"] button'
PROGRESS = "return Array.from(document.querySelectorAll('[role=progressbar]')).map(e => e.getAttribute('aria-valuenow'));"


def test_page_stays_responsive_while_training(tmp_path: Path) -> None:
    require_browser()
    pytest.importorskip("tensorflow", reason="training needs the 'train' extra")

    work = old_bundle()
    store = fault_store(tmp_path / "s.sqlite")
    paths = {"store": store, "exports": tmp_path / "exports"}
    export_manifest(paths)
    shutil.copytree(work / "pump-v1", tmp_path / "bundles" / "pump-v1")
    jobs = tmp_path / "jobs"
    env = {
        **os.environ,
        "VIBSENTRY_DASHBOARD_STORE": f"sqlite:{store}",
        "VIBSENTRY_DASHBOARD_AUDIT": str(tmp_path / "audit.sqlite"),
        "VIBSENTRY_DASHBOARD_EXPORT_DIR": str(paths["exports"]),
        "VIBSENTRY_DASHBOARD_BUNDLES_DIR": str(tmp_path / "bundles"),
        "VIBSENTRY_DASHBOARD_RETRAIN_DIR": str(jobs),
        "VIBSENTRY_DASHBOARD_RETRAIN_CONFIG": str(work / "train.toml"),
        "VIBSENTRY_DASHBOARD_ANONYMOUS_ROLE": "operator",
    }
    with served_dashboard(env, tmp_path / "dashboard.log") as url, chrome(height=1800) as driver:
        driver.get(f"{url}/?view=retrain")
        wait_idle(driver, need_css=START)
        click_when_clear(driver, START)
        t0 = time.monotonic()
        first = wait_for_js(driver, PROGRESS, what="progress bar", timeout_s=60)
        job = rj.latest(jobs)
        assert job is not None
        seen = {int(v) for v in first if v is not None}
        # The bar advances with no click: only its fragment reruns, once a second.
        later = wait_for_js(
            driver,
            f"const v = ({PROGRESS.removeprefix('return ').rstrip(';')}); "
            f"return v.length && Number(v[0]) > {max(seen)} ? v : null;",
            what="an advanced progress bar",
            timeout_s=120,
        )
        seen |= {int(v) for v in later if v is not None}
        # Another view, opened while the child trains, renders (the server is not busy training).
        running_before = rj.status(job).running
        t1 = time.monotonic()
        driver.get(f"{url}/?view=fleet")
        wait_idle(driver, need_css=TILE)
        fleet_s = time.monotonic() - t1
        running_after = rj.status(job).running
        driver.get(f"{url}/?view=retrain")
        wait_for_js(
            driver,
            "return document.body.innerText.includes('needs the admin role') ? 1 : 0;",
            what="the OLD vs NEW comparison",
            timeout_s=150,
        )
        done_s = time.monotonic() - t0
        body = driver.execute_script("return document.body.innerText;")
        wait_idle(driver)
        driver.execute_script(
            "document.querySelector('h2, h3') && [...document.querySelectorAll('h2')].pop().scrollIntoView();"
        )
        driver.save_screenshot(str(tmp_path / "retrain.png"))
    out = Path(os.environ.get("VIBSENTRY_SCREENSHOT_DIR", ""))
    if out.name:  # `VIBSENTRY_SCREENSHOT_DIR=docs/screenshots` refreshes the docs' screenshot
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "retrain.png", out / "retrain.png")
    assert rj.status(job).state == "done", rj.status(job).message
    assert "Old versus new" in body and "Confusion matrix" in body and "No-regression gate: PASSED" in body
    assert len(seen) >= 2, seen
    print(
        f"\nretrain in the browser: job {done_s:.1f} s; progress values seen {sorted(seen)}; fleet view rendered "
        f"in {fleet_s:.2f} s while training (job running before/after: {running_before}/{running_after})"
    )
    assert running_before, "the job ended before the responsiveness check could run"
