"""Real Chromium for the pages of `dot-setup serve`: Debian's `chromium` and `chromium-driver`,
driven from Python with Selenium (nothing downloads a browser: the driver and the browser are
the system's, and Selenium Manager is kept offline).

Every test gets its own Chromium with a fresh profile under the test's tmp dir, on a live
server on 127.0.0.1. `Browser.shot(step)` saves a screenshot per step under the tmp dir and
asserts it is not blank; a failing test names the folder.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Chromium's own calls home are refused by this machine's closed network, many at a time; these
# switches stop it from trying (the probe of the machine image uses the same).
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",  # tests run as root, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--password-store=basic",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


def png_is_blank(data: bytes) -> bool:
    """A screenshot of one colour (a blank page) decodes to rows of the same few bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(idat)
    return len(set(pixels[:: max(1, len(pixels) // 200_000)])) <= 3


class Browser:
    """One Chromium window; `driver` is the Selenium WebDriver."""

    def __init__(self, folder: Path, phone: bool = False) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a driver
        for tool in (CHROMIUM, CHROMEDRIVER):
            assert Path(tool).exists(), (
                f"{tool} is missing: install Debian's chromium and chromium-driver "
                "(.ci/run does it when they are missing)"
            )
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in CHROMIUM_ARGS:
            options.add_argument(arg)
        options.add_argument(f"--user-data-dir={folder / 'profile'}")
        options.add_argument("--window-size=390,844" if phone else "--window-size=1280,900")
        self.shots = folder / "screenshots"
        self.shots.mkdir(parents=True, exist_ok=True)
        self.steps = 0
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(20)

    # -- acting as a person -----------------------------------------------------------------

    def open(self, url: str) -> None:
        self.driver.get(url)

    def by_css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all_css(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def fill(self, label: str, value: str) -> None:
        """Type into the input whose label says `label` (as a person finds it)."""
        from selenium.webdriver.common.by import By

        field = self.driver.find_element(
            By.XPATH, f"//label[contains(normalize-space(.), '{label}')]//input"
        )
        field.clear()
        field.send_keys(value)

    def click(self, text: str) -> None:
        """Click the button or link that shows `text`."""
        from selenium.webdriver.common.by import By

        element = self.driver.find_element(
            By.XPATH,
            f"//button[normalize-space(.)='{text}'] | //a[normalize-space(.)='{text}']",
        )
        element.click()

    def text(self) -> str:
        """The visible text of the page now showing (read in one go, so a page that is being
        replaced by the next one is never half read)."""
        return str(
            self.driver.execute_script("return document.body ? document.body.innerText : ''")
        )

    def title(self) -> str:
        return str(self.driver.title)

    def wait_for(self, predicate: Any, timeout: float = 20) -> None:
        """Until `predicate()` is true; a page still loading or being replaced is retried."""
        from selenium.common.exceptions import (
            JavascriptException,
            NoSuchElementException,
            StaleElementReferenceException,
        )
        from selenium.webdriver.support.ui import WebDriverWait

        retry = (StaleElementReferenceException, NoSuchElementException, JavascriptException)
        WebDriverWait(self.driver, timeout, ignored_exceptions=retry).until(lambda _d: predicate())

    def sign_in(self, email: str, password: str) -> None:
        """On the login page: fill it in and submit, as a person would."""
        self.fill("E-mail", email)
        self.fill("Password", password)
        self.click("Sign in")

    def shot(self, step: str) -> Path:
        """A screenshot of this step, checked not to be blank."""
        self.steps += 1
        path = self.shots / f"{self.steps:02d}-{step}.png"
        data = self.driver.get_screenshot_as_png()
        path.write_bytes(data)
        assert not png_is_blank(data), f"the page is blank at step {step!r}: see {path}"
        return path

    def close(self) -> None:
        self.driver.quit()


@pytest.fixture
def chromium(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Browser]:
    browser = Browser(tmp_path / "chromium")
    request.node.user_properties.append(("screenshots", str(browser.shots)))
    try:
        yield browser
    finally:
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for name, value in item.user_properties:
            if name == "screenshots":
                report.sections.append(("screenshots", f"screenshots of each step: {value}"))
