"""A headless Chromium for the map tests (Debian's /usr/bin/chromium driven by playwright; never
`playwright install`). Pages are opened from file://; every request that is not a file (or data:/blob:) is
recorded and aborted, so a test can assert that a page asked for nothing from the network."""

from __future__ import annotations

import mimetypes
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
MAP_READY = "() => window.PlanMap !== undefined && !!document.querySelector('.leaflet-control-layers')"
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
                      shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class PageLog:
    """What a page did: console errors, uncaught exceptions, and requests to anything but local files."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)   # external URLs answered from a local file (serve=)

    @property
    def errors(self) -> list[str]:
        return self.console_errors + self.page_errors


@contextmanager
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    if exe is None:
        raise RuntimeError("Chromium not found: install Debian's chromium (scripts/install.sh does)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(b, path: str | Path, *, width: int = 1400, height: int = 900,
              serve: Callable[[str], Path | None] | None = None, offline: bool = True, wait_ms: int = 300,
              ready: str | None = MAP_READY):
    """Open ``path`` from file:// in a fresh context; returns (page, log).

    Requests that are not file:// are aborted and recorded in ``log.external_requests``, except those that
    ``serve(url)`` maps to a local file (used to give online maps their CDN scripts without a network).
    ``offline`` also puts the context in offline mode, so nothing can slip past the router.
    """
    log = PageLog()
    context = b.new_context(viewport={"width": width, "height": height}, offline=offline,
                            service_workers="block", locale="zh-CN")

    def route(r):
        url = r.request.url
        if url.startswith(LOCAL_SCHEMES):
            return r.continue_()
        local = serve(url) if serve is not None else None
        if local is not None:
            log.served.append(url)
            ctype = mimetypes.guess_type(str(local))[0] or "application/octet-stream"
            if str(local).endswith(".js"):
                ctype = "application/javascript"
            return r.fulfill(status=200, body=Path(local).read_bytes(), content_type=ctype)
        log.external_requests.append(url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.goto(Path(path).resolve().as_uri(), wait_until="load")
    if ready:
        page.wait_for_function(ready, timeout=15_000)
    if wait_ms:
        page.wait_for_timeout(wait_ms)
    return page, log


# Map probes shared by the map tests: features drawn per layer id, the layer control, every layer switched on.
COUNT_JS = """() => {
  const out = {};
  document.querySelectorAll('.leaflet-map-pane path.pm-f').forEach(p => {
    const c = [...p.classList].find(x => x.startsWith('pm-k-'));
    if (c) { out[c.slice(5)] = (out[c.slice(5)] || 0) + 1; }
  });
  return out;
}"""
CONTROL_JS = """() => [...document.querySelectorAll('.leaflet-control-layers-overlays > *')].map(e =>
  e.classList.contains('pm-lc-group') ? {group: e.textContent.trim()}
  : {label: e.textContent.trim(), kind: e.getAttribute('data-kind'), checked: e.querySelector('input').checked})"""
ALL_ON_JS = """() => { document.querySelectorAll('.leaflet-control-layers-overlays input[type=checkbox]')
  .forEach(i => { if (!i.checked) { i.click(); } }); }"""
