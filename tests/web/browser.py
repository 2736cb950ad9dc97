"""Debian's chromium, headless, driven through /usr/bin/chromedriver (nothing downloaded)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDE = (1280, 800)
NARROW = (390, 844)
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / ".screenshots"


def start_browser() -> webdriver.Chrome:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("chromium and chromedriver are missing: run `make test`, which installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        f"--window-size={WIDE[0]},{WIDE[1]}",
    ):
        options.add_argument(argument)  # fmt: skip
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


def set_viewport(driver: webdriver.Chrome, size: tuple[int, int]) -> None:
    """The page's viewport (not the window) at ``size``, as a screen of that size shows it."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 600},
    )


def set_color_scheme(driver: webdriver.Chrome, scheme: str) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


def wait_until_loaded(driver: webdriver.Chrome, *, seconds: float = 30) -> None:
    """Until every data call of the page has answered and been drawn."""
    deadline = time.monotonic() + seconds
    while driver.execute_script("return document.body.dataset.loaded") != "true":
        has_data = driver.execute_script("return document.querySelector('[data-src]') !== null")
        if not has_data and driver.execute_script("return document.readyState") == "complete":
            return
        assert time.monotonic() < deadline, f"{driver.current_url} did not finish loading"
        time.sleep(0.05)


def submit_and_wait(driver: webdriver.Chrome, field: WebElement, *, seconds: float = 30) -> None:
    """Submit `field`'s form and wait for the next page to load.

    The old page also says it has loaded, so first wait for it to be gone.
    """
    old_page = driver.find_element(By.TAG_NAME, "html")
    field.submit()
    WebDriverWait(driver, seconds).until(staleness_of(old_page))
    wait_until_loaded(driver, seconds=seconds)


def console_errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    logs = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry for entry in logs if entry["level"] == "SEVERE"]


def full_page_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    """The whole page, not only what fits in the viewport."""
    import base64

    path.parent.mkdir(parents=True, exist_ok=True)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
