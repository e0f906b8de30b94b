"""Debian's headless Chromium driven through chromedriver's W3C WebDriver protocol, over plain HTTP."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = "apt-get install -y chromium chromium-driver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
# The key under which WebDriver names an element.
_ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"
_DRIVER_READY = re.compile(r"started successfully on port (\d+)")
_START_TIMEOUT_S = 30.0
# Errors that mean "not there yet" to a test waiting for the page to change.
_TRANSIENT_ERRORS = frozenset({"no such element", "stale element reference", "element not interactable"})


class WebDriverError(Exception):
    """chromedriver refused a command."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(f"{error}: {message.splitlines()[0] if message else ''}")
        self.error = error


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when Chromium and chromedriver are installed."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not missing:
        return None
    return f"no {' or '.join(missing)}: install them with `{INSTALL_HINT}`"


class Element:
    """One element of the page."""

    def __init__(self, browser: HeadlessChromium, element_id: str) -> None:
        self._browser = browser
        self.element_id = element_id

    @property
    def text(self) -> str:
        value: str = self._command("GET", "text")
        return value

    def attribute(self, name: str) -> str | None:
        value: str | None = self._command("GET", f"attribute/{name}")
        return value

    def click(self) -> None:
        self._command("POST", "click", {})

    def type(self, text: str) -> None:
        self._command("POST", "value", {"text": text})

    def clear(self) -> None:
        self._command("POST", "clear", {})

    def find(self, css: str) -> Element:
        return self._browser._element(self._command("POST", "element", {"using": "css selector", "value": css}))

    def _command(self, method: str, what: str, body: object = None) -> Any:
        return self._browser._session_command(method, f"element/{self.element_id}/{what}", body)


class HeadlessChromium:
    """A chromedriver process and one browser session; close() ends both (and every browser process)."""

    def __init__(self, user_data_dir: Path, *, width: int = 1280, height: int = 820) -> None:
        self._user_data_dir = user_data_dir
        self._size = (width, height)
        self._driver: subprocess.Popen[str] | None = None
        self._base_url = ""
        self._session_id: str | None = None

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _start(self) -> None:
        # A session of its own: the browser processes join chromedriver's group and go with it.
        self._driver = subprocess.Popen(
            [str(CHROMEDRIVER), "--port=0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(target=_drain, args=(self._driver, lines), daemon=True).start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                found = _DRIVER_READY.search(lines.get(timeout=remaining))
            except queue.Empty:
                break
            if found:
                self._base_url = f"http://127.0.0.1:{found.group(1)}"
                break
        if not self._base_url:
            raise RuntimeError("chromedriver did not start")
        options = {
            "binary": str(CHROMIUM),
            "args": [
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self._user_data_dir}",
                f"--window-size={self._size[0]},{self._size[1]}",
            ],
        }
        capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        session = self._call("POST", "/session", {"capabilities": capabilities})
        self._session_id = session["sessionId"]

    def close(self) -> None:
        if self._session_id is not None:
            with contextlib.suppress(WebDriverError, OSError):
                self._call("DELETE", f"/session/{self._session_id}", None)
            self._session_id = None
        driver, self._driver = self._driver, None
        if driver is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(driver.pid, signal.SIGTERM)
            try:
                driver.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(driver.pid, signal.SIGKILL)
                driver.wait()
        shutil.rmtree(self._user_data_dir, ignore_errors=True)

    def open(self, url: str) -> None:
        self._session_command("POST", "url", {"url": url})

    def find(self, css: str) -> Element:
        return self._element(self._session_command("POST", "element", {"using": "css selector", "value": css}))

    def find_all(self, css: str) -> list[Element]:
        found = self._session_command("POST", "elements", {"using": "css selector", "value": css})
        return [self._element(reference) for reference in found]

    def run_script(self, script: str, *args: object) -> Any:
        return self._session_command("POST", "execute/sync", {"script": script, "args": list(args)})

    def switch_to_frame(self, frame: Element | None) -> None:
        """Into an iframe's document; None: back to the page."""
        target = None if frame is None else {_ELEMENT_KEY: frame.element_id}
        self._session_command("POST", "frame", {"id": target})

    def save_screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._session_command("GET", "screenshot", None)))

    def wait_for[T](self, produce: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
        """The first value other than None (or False) that `produce` returns, trying until the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                value = produce()
            except WebDriverError as error:
                if error.error not in _TRANSIENT_ERRORS:
                    raise
                value = None
            if value is not None and value is not False:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout_s} s")
            time.sleep(0.1)

    def _element(self, reference: dict[str, str]) -> Element:
        return Element(self, reference[_ELEMENT_KEY])

    def _session_command(self, method: str, what: str, body: object) -> Any:
        if self._session_id is None:
            raise RuntimeError("the browser session is not started")
        return self._call(method, f"/session/{self._session_id}/{what}", body)

    def _call(self, method: str, path: str, body: object) -> Any:
        data = None if method in ("GET", "DELETE") else json.dumps(body or {}).encode()
        request = urllib.request.Request(
            f"{self._base_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as error:
            with error:
                value = json.loads(error.read() or b"{}").get("value") or {}
            raise WebDriverError(str(value.get("error", error.code)), str(value.get("message", ""))) from None


def _drain(process: subprocess.Popen[str], lines: queue.SimpleQueue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
