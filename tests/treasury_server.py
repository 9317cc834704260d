"""A fake Treasury file server on 127.0.0.1 for tests and the bench (real HTTP, no internet).

Each file has a timeline of editions; the edition served is the newest whose moment is ≤ the
server's clock (injected, so a test or the bench can switch to the next vintage at a given
simulated moment). Answers carry an ETag and Last-Modified and honour If-None-Match /
If-Modified-Since with a 304 and no body. Faults are injected per file for the next N requests:

``500``, ``503``  an error status (with a small HTML body)
``timeout``       hold the answer longer than the client waits
``html200``       an HTML error page with status 200
``short``         Content-Length of the whole file, then half the body and a closed connection
``cut``           a body cut off mid-table, with a matching Content-Length
``reset``         close the connection without an answer

The server counts the bytes it sends and receives, and records every request's headers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vintages import cut_mid_table

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    b"<body><h1>We are performing maintenance</h1><p>Please try again later.</p></body></html>"
)


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    status: int = 0  # 0 until answered (or when the connection was dropped)


class _Counter:
    """Wraps the handler's wfile to count the bytes written to the socket."""

    def __init__(self, raw: Any, server: FakeTreasury):
        self.raw = raw
        self.server = server
        self.path = ""

    def write(self, data: bytes) -> int:
        with self.server.lock:
            self.server.bytes_sent += len(data)
            by_path = self.server.bytes_by_path
            by_path[self.path] = by_path.get(self.path, 0) + len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class FakeTreasury:
    """Serves file editions over HTTP/1.1 on 127.0.0.1; use as a context manager."""

    def __init__(self, clock: Callable[[], float] = time.time, hang_seconds: float = 1.0):
        self.clock = clock
        self.hang_seconds = hang_seconds
        self.timeline: dict[str, list[tuple[float, bytes]]] = {}
        self.faults: dict[str, list[str]] = {}
        self.seen: list[Seen] = []
        self.bytes_sent = 0
        self.bytes_received = 0
        self.bytes_by_path: dict[str, int] = {}  # sent + received, by file name
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> FakeTreasury:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- what is served --------------------------------------------------------------------

    def publish(self, name: str, body: bytes, at: float = float("-inf")) -> None:
        """Serve ``body`` as ``name`` from moment ``at`` (epoch seconds of the server clock) on."""
        with self.lock:
            editions = self.timeline.setdefault(name, [])
            editions.append((at, body))
            editions.sort(key=lambda e: e[0])

    def publish_all(self, files: dict[str, bytes], at: float = float("-inf")) -> None:
        for name, body in files.items():
            self.publish(name, body, at)

    def inject(self, name: str, fault: str, times: int = 1) -> None:
        """The next ``times`` requests for ``name`` get ``fault``."""
        with self.lock:
            self.faults.setdefault(name, []).extend([fault] * times)

    def current(self, name: str) -> tuple[float, bytes] | None:
        now = self.clock()
        editions = [e for e in self.timeline.get(name, []) if e[0] <= now]
        return editions[-1] if editions else None

    def requests_for(self, name: str) -> list[Seen]:
        return [s for s in self.seen if s.path == "/" + name]

    def reset_counters(self) -> None:
        with self.lock:
            self.bytes_sent = self.bytes_received = 0
            self.bytes_by_path.clear()
            self.seen.clear()


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _handler(fake: FakeTreasury) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
        server_version = "FakeTreasury/1.0"

        def setup(self) -> None:
            super().setup()
            self.wfile = _Counter(self.wfile, fake)  # type: ignore[assignment]

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            name = self.path.lstrip("/").split("?")[0]
            self.wfile.path = name  # type: ignore[attr-defined]
            with fake.lock:
                received = len(self.requestline) + 2 + len(str(self.headers)) + 2
                fake.bytes_received += received
                fake.bytes_by_path[name] = fake.bytes_by_path.get(name, 0) + received
                queue = fake.faults.get(name)
                fault = queue.pop(0) if queue else None
                seen = Seen(self.path, dict(self.headers.items()))
                fake.seen.append(seen)
            self._seen = seen
            self._answer(name, fault)

        def _answer(self, name: str, fault: str | None) -> int:
            if fault == "reset":
                self.close_connection = True
                return 0
            if fault == "timeout":
                time.sleep(fake.hang_seconds)
            if fault in ("500", "503"):
                return self._send(int(fault), HTML_PAGE, "text/html")
            if fault == "html200":
                return self._send(200, HTML_PAGE, "text/html")
            edition = fake.current(name)
            if edition is None:
                return self._send(404, b"<html><body>Not Found</body></html>", "text/html")
            at, body = edition
            etag = etag_of(body)
            modified = formatdate(at if at > 0 else 1_600_000_000, usegmt=True)
            if self._not_modified(etag, at):
                self._seen.status = 304  # before the answer leaves, so a test sees it at once
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self.end_headers()
                return 304
            if fault == "short":
                self.close_connection = True
                return self._send(200, body, "text/plain", etag, modified, send=body[: len(body) // 2])
            if fault == "cut":
                return self._send(200, cut_mid_table(body), "text/plain", etag, modified)
            return self._send(200, body, "text/plain", etag, modified)

        def _not_modified(self, etag: str, at: float) -> bool:
            inm = self.headers.get("If-None-Match")
            if inm is not None:
                return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
            ims = self.headers.get("If-Modified-Since")
            if ims is None:
                return False
            try:
                return int(at if at > 0 else 1_600_000_000) <= parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False

        def _send(
            self,
            status: int,
            body: bytes,
            ctype: str,
            etag: str | None = None,
            modified: str | None = None,
            send: bytes | None = None,
        ) -> int:
            self._seen.status = status
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                if modified:
                    self.send_header("Last-Modified", modified)
                self.end_headers()
                self.wfile.write(body if send is None else send)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return status

    return Handler
