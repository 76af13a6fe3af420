"""A minimal headless-Chromium driver for tests: the DevTools protocol over ``--remote-debugging-pipe``.

No websocket library and no browser download: Chromium reads JSON commands, each ended by a NUL
byte, on file descriptor 3 and writes replies and events the same way on descriptor 4.

Example::

    with Chromium.start() as browser:
        page = browser.open("file:///tmp/index.html")
        title = browser.evaluate(page, "document.title")
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.helpers import HANG_TIMEOUT

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of an installed Chromium (Debian's ``chromium`` package), or None."""
    for name in EXECUTABLES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One headless Chromium process, driven through the DevTools protocol on a pipe."""

    def __init__(self, executable: str, timeout: float = HANG_TIMEOUT) -> None:
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._buffer = b""
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_child, self._to_browser = os.pipe()
        self._from_browser, from_child = os.pipe()
        # The child's descriptors 3 and 4, made from close-on-exec copies above 10 so the dup2 calls cannot clash.
        high = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_child, from_child))

        def child_pipes() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]
        flags += ["--remote-debugging-pipe", "--allow-file-access-from-files", "--disable-extensions"]
        self.process = subprocess.Popen(
            [executable, *flags, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=child_pipes,
            close_fds=False,  # keeps the new 3 and 4; Python's own descriptors are close-on-exec anyway
        )
        for fd in (to_child, from_child, *high):
            os.close(fd)

    @classmethod
    def start(cls, timeout: float = HANG_TIMEOUT) -> Chromium:
        executable = find_chromium()
        if executable is None:
            raise FileNotFoundError("no chromium executable on PATH")
        return cls(executable, timeout)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise ConnectionError(f"Chromium closed the pipe (exit code {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile go to ``self.events``."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        """The params of the first event ``method`` of ``session`` (already received, or waited for)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self.events:
                if event["method"] == method and event.get("sessionId") == session:
                    return event.get("params", {})
            event = self._read_message(deadline)
            if "method" in event:
                self.events.append(event)

    def open(self, url: str, width: int = 1280, height: int = 900) -> str:
        """A new page at ``url``, loaded (its load event fired), with console and network events recorded."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", session, **metrics)
        navigation = self.call("Page.navigate", session, url=url)
        if navigation.get("errorText"):
            raise RuntimeError(f"cannot open {url}: {navigation['errorText']}")
        self.wait_for("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", session, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def console_errors(self, session: str) -> list[str]:
        """Errors the page reported: console.error calls, uncaught exceptions, failed loads, error log entries."""
        errors = []
        for event in self.events:
            if event.get("sessionId") != session:
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                errors.append(str(params.get("exceptionDetails", {}).get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                errors.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed":
                errors.append(f"loading failed: {params.get('errorText')}")
        return errors

    def screenshot(self, session: str, path: Path) -> Path:
        """A PNG of the whole page (as tall as its content)."""
        size = self.call("Page.getLayoutMetrics", session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True, clip=clip)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
