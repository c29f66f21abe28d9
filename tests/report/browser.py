"""Load pages in headless Chromium and report what a user's browser would: console errors, uncaught
exceptions, failed or external requests, and facts about the rendered DOM.

Talks the Chrome DevTools Protocol over `--remote-debugging-pipe` (fd 3: commands in, fd 4: replies and
events out, NUL-separated JSON), so it needs nothing beyond the standard library and Debian's `chromium`.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """$SPARSESIM_CHROMIUM, else the first of CHROMIUM_NAMES on PATH."""
    env = os.environ.get("SPARSESIM_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    url: str
    console: list[dict[str, Any]] = field(default_factory=list)  # every console API call: type, text
    exceptions: list[str] = field(default_factory=list)  # uncaught exceptions
    log_errors: list[str] = field(default_factory=list)  # browser log entries of level error
    requests: list[str] = field(default_factory=list)  # every URL the page requested
    failed_requests: list[str] = field(default_factory=list)
    facts: Any = None  # the value of the `probe` expression after load

    @property
    def console_errors(self) -> list[str]:
        return [c["text"] for c in self.console if c["type"] in ("error", "assert")]

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:"))]

    def problems(self) -> list[str]:
        out = [f"console {t}" for t in self.console_errors]
        out += [f"exception {e}" for e in self.exceptions]
        out += [f"log error {e}" for e in self.log_errors]
        out += [f"external request {u}" for u in self.external_requests]
        out += [f"failed request {u}" for u in self.failed_requests]
        return out


class Chromium:
    """One headless browser; `load(path, probe)` opens a page in a fresh tab and returns a PageReport."""

    def __init__(self, executable: str, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="sparsesim-chromium-")
        cmd_r, self._cmd_w = os.pipe()  # we write commands; the browser reads fd 3
        self._evt_r, evt_w = os.pipe()  # the browser writes fd 4; we read
        # A tiny trampoline puts the pipe ends on fds 3 and 4 and execs the browser (shells such as dash
        # cannot redirect file descriptors above 9).
        trampoline = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        args = [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", trampoline, str(cmd_r), str(evt_w), *args],
            pass_fds=(cmd_r, evt_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(cmd_r)
        os.close(evt_w)
        self._buf = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # protocol ----------------------------------------------------------------------------------------
    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._evt_r], [], [], min(left, 0.5))
            if not ready:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"chromium exited ({self.proc.returncode}): {self._stderr_tail()}")
                continue
            chunk = os.read(self._evt_r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the DevTools pipe: {self._stderr_tail()}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict[str, Any]:
        want = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._read(deadline)
            if msg is None:
                raise TimeoutError(f"no reply to {method} within {self.timeout} s")
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def _wait_event(self, method: str, session: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    del self._events[i]
                    return True
            msg = self._read(deadline)
            if msg is None:
                return False
            if "method" in msg:
                self._events.append(msg)

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            msg = self._read(deadline)
            if msg is None:
                return
            if "method" in msg:
                self._events.append(msg)

    def _stderr_tail(self) -> str:
        try:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=5)
        except Exception:
            return ""
        return (err or b"").decode(errors="replace")[-2000:]

    # pages ---------------------------------------------------------------------------------------------
    def load(self, path: Path, probe: str, *, settle: float = 0.5) -> PageReport:
        url = path.resolve().as_uri()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable", session=session)
        self._events = [e for e in self._events if e.get("sessionId") != session]
        self.call("Page.navigate", {"url": url}, session=session)
        if not self._wait_event("Page.loadEventFired", session, self.timeout):
            raise TimeoutError(f"{url} did not finish loading within {self.timeout} s")
        self._drain(settle)  # late console messages and exceptions
        value = self.call(
            "Runtime.evaluate", {"expression": probe, "returnByValue": True, "awaitPromise": True}, session
        )
        if "exceptionDetails" in value:
            raise RuntimeError(f"probe failed: {value['exceptionDetails']}")
        self._drain(0.2)
        report = PageReport(url=url, facts=value.get("result", {}).get("value"))
        for ev in self._events:
            if ev.get("sessionId") != session:
                continue
            p = ev.get("params", {})
            m = ev.get("method")
            if m == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                report.console.append({"type": p.get("type"), "text": text})
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                report.exceptions.append(d.get("exception", {}).get("description") or d.get("text", ""))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                report.log_errors.append(f"{e.get('source')}: {e.get('text')} {e.get('url', '')}".strip())
            elif m == "Network.requestWillBeSent":
                report.requests.append(p.get("request", {}).get("url", ""))
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                report.failed_requests.append(f"{p.get('errorText')} ({p.get('type')})")
        self._events = [e for e in self._events if e.get("sessionId") != session]
        self.call("Target.closeTarget", {"targetId": target})
        return report

    def close(self) -> None:
        try:
            self._send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            for fd in (self._cmd_w, self._evt_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self.proc.stderr:
                self.proc.stderr.close()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# What the tests ask of every page: the charts (rendered by Vega once `sparsesimChartsReady` settles), their
# titles and sizes, the data marks drawn per named mark, tables, resources.
PROBE = """(async () => {
  if (window.sparsesimChartsReady) { await window.sparsesimChartsReady; }
  const charts = Array.from(document.querySelectorAll("figure.plot div.chart")).map(el => {
    const s = el.querySelector("svg");
    const box = s ? s.getBoundingClientRect() : {width: 0, height: 0};
    const marks = {};
    if (s) {
      s.querySelectorAll("g.role-mark").forEach(g => {
        const m = (g.getAttribute("class") || "").match(/\\b(data_[A-Za-z0-9_]+?)(?:_\\d+)?_marks\\b/);
        if (m) { marks[m[1]] = (marks[m[1]] || 0) + g.children.length; }
      });
    }
    const titles = s ? Array.from(s.querySelectorAll(".role-title-text")).map(t => t.textContent) : [];
    return {id: el.id, svg: !!s, titles, title: el.getAttribute("data-title") || "", width: box.width,
            height: box.height, marks};
  });
  const tables = Array.from(document.querySelectorAll("table.data")).map(t => ({
    id: t.id, rows: t.tBodies[0] ? t.tBodies[0].rows.length : 0}));
  let sorted = null;
  const th = document.querySelector("table.sortable th:nth-child(2)");
  if (th) { th.click(); th.click(); sorted = th.getAttribute("aria-sort"); }
  return {title: document.title, figures: document.querySelectorAll("figure.plot").length, charts, tables,
          sorted, external: Array.from(document.querySelectorAll("[src], link[href]")).map(e => e.outerHTML),
          text: document.body.innerText.length};
})()"""
