"""A minimal Chrome DevTools Protocol client over the system Chromium, for the browser tests.

It starts `chromium --headless` with a fresh profile and no network services, talks to one page
through the DevTools WebSocket (the `websockets` package), and records console errors, uncaught
exceptions, log errors and every request the page makes. No browser is downloaded: the test
uses the Debian `chromium` package.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]
START_TIMEOUT_SECONDS = 30
LOAD_TIMEOUT_SECONDS = 30


def find_chromium() -> str | None:
    """Return the path of a Chromium executable on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class NavigatedError(RuntimeError):
    """The page navigated away while a command ran."""


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, executable: str) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="mdph-chromium-"))
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.stack = contextlib.ExitStack()
        self.socket = self.stack.enter_context(
            connect(self._page_socket_url(), max_size=None, open_timeout=10)
        )
        self.next_id = 0
        self.events: list[dict] = []
        for method in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            self.call(method)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.stack.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            shutil.rmtree(self.profile, ignore_errors=True)

    def _page_socket_url(self) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not port_file.exists() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        page = next(target for target in targets if target["type"] == "page")
        return page["webSocketDebuggerUrl"]

    def call(self, method: str, **params) -> dict:
        """Send a command and return its result, keeping the events that arrive meanwhile."""
        self.next_id += 1
        message_id = self.next_id
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=LOAD_TIMEOUT_SECONDS))
            if message.get("id") == message_id:
                if "error" in message:
                    error = message["error"]
                    if "navigated" in str(error.get("message", "")):
                        raise NavigatedError(f"{method} failed: {error}")
                    raise RuntimeError(f"{method} failed: {error}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = LOAD_TIMEOUT_SECONDS) -> dict:
        """Wait for the next event of a method that is not already recorded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise TimeoutError(f"no {method} event within {timeout} s")

    def open(self, url: str) -> None:
        """Load a URL, wait for its load event, and let pending scripts run.

        A page that redirects at once (meta refresh) is followed to the page it opens.
        """
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        for _ in range(3):
            try:
                self.evaluate("new Promise(resolve => setTimeout(resolve, 100))", True)
                return
            except NavigatedError:
                self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str, await_promise: bool = False):
        """Evaluate a JavaScript expression in the page and return its value."""
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=await_promise,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries since the last open()."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(f"exception: {details.get('text')} {details.get('exception', {})}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                texts = [str(arg.get("value", arg.get("description"))) for arg in params["args"]]
                found.append("console: " + " ".join(texts))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
        return found

    def requests(self) -> list[str]:
        """URLs of every request the page made since the last open()."""
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event.get("method") == "Network.requestWillBeSent"
        ]
