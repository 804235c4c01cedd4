"""A headless Chromium driven over the Chrome DevTools Protocol: load pages, wait for what they show, run
the page's own JavaScript, click, and keep screenshots."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import websocket
from ports import free_port

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-allow-origins=*",
    "--window-size=1600,1000",
]


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self, profile: Path, artifacts: Path):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        assert chromium, "Chromium is not installed (scripts/test installs it)"
        self.artifacts = artifacts
        artifacts.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.process = subprocess.Popen(
            [chromium, *FLAGS, f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._ids = itertools.count(1)
        deadline = time.monotonic() + 60
        while True:
            try:
                pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                page = next(p for p in pages if p["type"] == "page")
                break
            except (httpx.HTTPError, StopIteration, ValueError):
                if time.monotonic() > deadline:
                    self.close()
                    raise BrowserError("Chromium's DevTools endpoint did not come up") from None
                time.sleep(0.3)
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=120, suppress_origin=True)
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method: str, **params):
        message_id = next(self._ids)
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", 60, f"{url} to load")

    def wait_for(self, expression: str, timeout: float, what: str):
        """The first truthy value of `expression` in the page, polled until `timeout` (then fail saying `what`)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {what}")
            time.sleep(0.5)

    def wait_for_text(self, text: str, timeout: float = 90) -> str:
        """The page's visible text once it shows `text`."""
        return self.wait_for(
            f"document.body && document.body.innerText.includes({json.dumps(text)}) && document.body.innerText",
            timeout,
            f"the page to show {text!r}",
        )

    def click_button(self, label: str) -> None:
        clicked = self.evaluate(
            f"""(() => {{
              const button = [...document.querySelectorAll('button')].find(b => b.innerText.trim() === {json.dumps(label)});
              if (!button || button.disabled) return false;
              button.click();
              return true;
            }})()"""
        )
        if not clicked:
            raise BrowserError(f"no enabled button {label!r}")

    def screenshot(self, name: str) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path = self.artifacts / f"{name}.png"
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
