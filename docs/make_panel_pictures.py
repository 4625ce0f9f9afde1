"""Takes the picture of the FacePop panel in a running WebUI, in headless Chromium:
docs/panel-a1111.png (AUTOMATIC1111, gradio 3.41) and docs/panel-forge.png (Forge,
gradio 4) are made with it.

    python docs/make_panel_pictures.py http://127.0.0.1:7860 docs/panel-a1111.png

It opens the WebUI's img2img tab, opens the FacePop accordion (in the WebUI opening it also
ticks its header checkbox: FacePop on) and its "Face pass" section, and saves that
accordion alone as an optimised PNG. The WebUI must be running with FacePop installed.

Needs Chromium and its driver (Debian: ``apt-get install chromium chromium-driver``) and
selenium, which is no dependency of FacePop: install it into an environment of its own
(``python3 -m venv /tmp/shots && /tmp/shots/bin/pip install selenium pillow``) and run the
script with that Python.
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

log = logging.getLogger("make_panel_pictures")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PANEL_ID = "facepop"  # the panel's element id in the img2img tab (lib_facepop/webui/panel.py)
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--force-device-scale-factor=1")
MAX_BYTES = 400_000

_CLICK_TAB = """
const name = arguments[0];  // A1111 names the tab "img2img", Forge "Img2img"
const byId = document.getElementById('tab_' + name + '-button');
const buttons = [...document.querySelectorAll('button')]
    .filter(b => b.textContent.trim().toLowerCase() === name && b.offsetParent !== null);
const button = byId || buttons[0];
if (!button) return false;
button.click();
return true;
"""
_IS_SHOWN = """
const el = document.getElementById(arguments[0]);
return el !== null && el.offsetParent !== null && el.getBoundingClientRect().height > 0;
"""
_OPEN_ACCORDION = """
const el = document.getElementById(arguments[0]);
const label = el && el.querySelector('.label-wrap');
if (!label) return 'missing';
if (label.classList.contains('open')) return 'open';
label.scrollIntoView({block: 'center'});
label.click();
return 'clicked';
"""
_RECT = """
const el = document.getElementById(arguments[0]);
el.scrollIntoView({block: 'start'});
const r = el.getBoundingClientRect();
return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the WebUI, e.g. http://127.0.0.1:7860")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--section", action="append", default=None,
                        help="a section of the panel to open as well (default: Face pass)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds to wait for the WebUI's page (default: 300)")
    parser.add_argument("--width", type=int, default=1600, help="window width (default 1600)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sections = args.section if args.section is not None else ["Face pass"]
    with tempfile.TemporaryDirectory(prefix="facepop-shots-") as profile:
        driver = _chromium(profile, args.width)
        try:
            png = panel_picture(driver, args.url, sections, args.timeout)
        finally:
            driver.quit()
    args.out.write_bytes(optimised_png(png))
    log.info("%s: %d bytes", args.out, args.out.stat().st_size)
    return 0


def _chromium(profile: str, width: int) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Not waiting for every resource: a page that asks for something outside loopback
    # (a font, say) would otherwise hold the load; the panel is waited for below.
    options.page_load_strategy = "eager"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},1400"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def panel_picture(driver: Any, url: str, sections: list[str], timeout: float) -> bytes:
    """The FacePop accordion of the img2img tab, opened, as PNG bytes."""
    log.info("loading %s", url)
    driver.set_page_load_timeout(timeout)
    driver.get(url.rstrip("/") + "/?__theme=light")
    _wait(lambda: driver.execute_script(_CLICK_TAB, "img2img"), timeout, "the img2img tab")
    _wait(lambda: driver.execute_script(_IS_SHOWN, PANEL_ID), 60, "the FacePop accordion")
    log.info("opening the FacePop accordion and %s", ", ".join(sections) or "no section")
    _open(driver, PANEL_ID)
    for title in sections:
        _open(driver, f"{PANEL_ID}_{title.lower().replace(' ', '_')}")
    time.sleep(2)  # let the opened sections lay themselves out
    x, y, width, height = driver.execute_script(_RECT, PANEL_ID)
    log.info("taking the panel: %dx%d px", width, height)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1}})
    return base64.b64decode(shot["data"])


def _open(driver: Any, elem_id: str) -> None:
    state = driver.execute_script(_OPEN_ACCORDION, elem_id)
    if state == "missing":
        raise SystemExit(f"make_panel_pictures: no accordion #{elem_id} on the page")
    _wait(lambda: driver.execute_script(
        "return document.getElementById(arguments[0]).querySelector('.label-wrap')"
        ".classList.contains('open')", elem_id), 10, f"#{elem_id} to open")


def _wait(ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"make_panel_pictures: waited {timeout:g} s for {what}")
        time.sleep(0.5)


def optimised_png(png: bytes) -> bytes:
    """The picture as a small PNG: as it is where that is small enough, else in 256
    colours (a screenshot of a form loses nothing visible)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = _png_bytes(image)
    if len(small) <= MAX_BYTES:
        return small
    return _png_bytes(image.quantize(colors=256, method=Image.Quantize.MEDIANCUT))


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
