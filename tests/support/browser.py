"""A real headless browser (Debian chromium + chromedriver via selenium) against a served dashboard."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
    "--hide-scrollbars",
)


def free_port() -> int:
    """A free loopback TCP port (outside the ephemeral range, see :mod:`tests.support.ports`)."""
    from tests.support.ports import free_port as pick

    return pick()


def require_browser() -> None:
    """Skip the test, with the reason, when chromium or chromedriver is missing."""
    for p in (CHROMIUM, CHROMEDRIVER):
        if not Path(p).exists():
            pytest.skip(f"{p} not installed (./dev.sh setup as root installs chromium and chromium-driver)")


@contextlib.contextmanager
def chrome(*, width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A selenium Chrome driver on Debian's chromium with a fresh profile; quit (and profile removed) after."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="vs-chrome-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--window-size={width},{height}")
    opts.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        driver.set_page_load_timeout(180)  # a Streamlit page on 2 busy cores
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_idle(
    driver: Any, *, timeout_s: float = 180.0, settle_s: float = 0.0, need_css: str | None = None
) -> None:
    """Wait until Streamlit is connected, its script is not running, and (optionally) ``need_css`` exists.

    Streamlit marks its root ``[data-testid=stApp]`` with ``data-test-connection-state`` and
    ``data-test-script-state``; the app is idle when connected and ``notRunning`` (for ``settle_s``). Live
    fragments rerun every second and a run can take most of that on a loaded machine, so by default one
    ``notRunning`` observation (the last run completed) is enough.
    """
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout_s
    idle_since: float | None = None
    while time.monotonic() < deadline:
        roots = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stApp"]')
        ok = bool(roots)
        if ok:
            root = roots[0]
            ok = (
                root.get_attribute("data-test-connection-state") == "CONNECTED"
                and root.get_attribute("data-test-script-state") == "notRunning"
            )
        if ok and need_css:
            ok = bool(driver.find_elements(By.CSS_SELECTOR, need_css))
        if ok:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle_s:
                return
        else:
            idle_since = None
        time.sleep(0.2)
    raise AssertionError(f"dashboard not idle within {timeout_s} s (waiting for {need_css or 'script idle'})")


def wait_for_js(driver: Any, script: str, *, what: str, timeout_s: float = 180.0) -> Any:
    """Run ``script`` every 0.2 s until it returns something truthy; return that (AssertionError naming
    ``what`` after ``timeout_s``). One ``execute_script`` is one atomic read of the live page."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} in the page within {timeout_s} s (last value {value!r})")
        time.sleep(0.2)


def click_when_clear(driver: Any, css: str, *, timeout_s: float = 120.0) -> None:
    """A real click on the first element matching ``css`` once nothing covers it.

    Streamlit re-lays the page out while scripts and fragments rerun (a status line or a new paragraph can
    slide over a button for a moment): scroll the element to the middle of the window and click; a click
    another element would receive is retried until ``timeout_s`` (AssertionError naming ``css``)."""
    from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            el = driver.find_element(By.CSS_SELECTOR, css)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
            el.click()
            return
        except (ElementClickInterceptedException, StaleElementReferenceException) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{css} still covered or replaced after {timeout_s} s: {exc.msg}"
                ) from None
            time.sleep(0.3)


@contextlib.contextmanager
def served_dashboard(env: Mapping[str, str], log_path: Path, *, attempts: int = 3) -> Iterator[str]:
    """Serve the dashboard with ``env`` on a free port; yields its base URL; stops it afterwards.

    A server that exits before it is healthy (its port taken between the draw and the bind) is started
    again on another port, up to ``attempts`` times; the log keeps every attempt.
    """
    from vibsentry.dashboard import server as cmd
    from vibsentry.errors import StoreError

    with open(log_path, "wb") as log:
        for attempt in range(1, attempts + 1):
            port = free_port()
            proc: subprocess.Popen[bytes] = cmd.start(env, port, log=log.fileno())
            try:
                cmd.wait_healthy(port, proc, timeout_s=180)
                break
            except StoreError:
                exited = proc.poll() is not None
                cmd.stop(proc)
                if not exited or attempt == attempts:
                    raise  # not an early exit (a timeout), or out of attempts: the caller sees the cause
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            cmd.stop(proc)
