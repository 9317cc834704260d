"""The operator's HTTP endpoints (``[http] listen`` or ``TIC_ALERT_HTTP``; off by default).

* ``/healthz``: 200 while every registered loop ticks (the poller's, the bot's event loop), 503
  naming the one that stalled; one line of text either way (a container's HEALTHCHECK, systemd).
* ``/readyz``: 200 when the database opens and, where a bot runs, the Bot API answered lately, it
  leads, and it has a release to answer from; 503 with the reason otherwise.
* ``/metrics``: the process's :class:`~bot.telemetry.Telemetry` registry in Prometheus' text
  format, written by prometheus-client; with ``tic_alert_build_info{version}`` 1 and, from the
  database (:func:`~bot.store.census.census`, read at most once every :data:`CENSUS_SECONDS` = 5 s
  however hard it is scraped), ``tic_alert_newest_release_month`` (YYYYMM) and the outbox's rows.

The server runs in its own daemon threads, so a stalled event loop still gets its 503 out. A
client that hangs up before its answer is written costs one debug line, not a traceback.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.errors import ConfigError
from bot.masking import mask
from bot.store.census import Census, census
from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.http")
CENSUS_SECONDS = 5.0  # /metrics reads the database at most this often (a scrape in between: the last read)

# A readiness check: None when ready, else why not (one line).
Check = Callable[[], str | None]


def parse_listen(text: str) -> tuple[str, int] | None:
    """ "HOST:PORT" (or "[::1]:PORT") → (host, port); "" → None (off). Port 0 picks a free one;
    anything else is a ValueError (bot.config names the key)."""
    text = text.strip()
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("expected HOST:PORT such as 127.0.0.1:9108")
    return host, int(port)


class StatusServer:
    """``start()`` serves the three endpoints until ``stop()``; ``address`` is where it listens."""

    def __init__(
        self, telemetry: Telemetry, listen: tuple[str, int], checks: Sequence[tuple[str, Check]] = ()
    ):
        self.telemetry = telemetry
        self.checks = list(checks)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, ctype, body = server.answer(self.path.split("?", 1)[0])
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("%s " + format, self.address_string(), *args)

        try:
            self.httpd = _Server(listen, Handler)
        except OSError as err:
            raise ConfigError(
                f"http.listen {listen[0]}:{listen[1]}: cannot listen there ({err.strerror})"
            ) from err
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> StatusServer:
        self.thread.start()
        log.info("http: /healthz, /readyz and /metrics on %s", self.address)
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self.telemetry.registry)
        if path == "/healthz":
            ok, line = self.telemetry.health()
        elif path == "/readyz":
            ok, line = self.ready()
        else:
            return 404, "text/plain; charset=utf-8", b"not found: /healthz, /readyz, /metrics\n"
        return (200 if ok else 503), "text/plain; charset=utf-8", (line + "\n").encode()

    def ready(self) -> tuple[bool, str]:
        problems = []
        for name, check in self.checks:
            try:
                problem = check()
            except Exception as err:  # a check must answer, not raise
                problem = f"{type(err).__name__}: {mask(str(err))}"
            if problem:
                problems.append(f"{name}: {problem}")
        if problems:
            return False, "not ready: " + "; ".join(problems)
        return True, "ready: " + ", ".join(name for name, _ in self.checks) if self.checks else "ready"


class _Server(ThreadingHTTPServer):
    """Serves each request in a thread of its own; a client gone mid-answer is a debug line."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        err = sys.exc_info()[1]
        if isinstance(err, ConnectionError):  # BrokenPipe, ConnectionReset, ConnectionAborted
            log.debug("http: %s hung up before its answer was written (%s)", client_address[0], err)
        else:
            log.exception("http: answering %s failed", client_address[0])


class DatabaseCollector(Collector):
    """The database's figures as the database has them (so a `poll` and a `serve` process agree),
    read at most once every ``every`` seconds: scrapes in between get the last reading (or its
    failure), so a hard scrape costs one query per interval. Thread-safe (each request has a
    thread): scrapes that come while it reads wait for that reading."""

    def __init__(self, db: str, every: float = CENSUS_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.db, self.every, self.clock = db, every, clock
        self._lock = threading.Lock()
        self._read: tuple[float, Census | Exception] | None = None  # when, and what it got

    def census(self) -> Census:
        """The latest reading, or a new one once it is ``every`` seconds old; raises its error."""
        with self._lock:
            if self._read is None or self.clock() - self._read[0] >= self.every:
                try:
                    got: Census | Exception = census(self.db)
                except Exception as err:  # kept too: a database that fails is not asked per scrape
                    got = err
                self._read = (self.clock(), got)
            got = self._read[1]
        if isinstance(got, Exception):
            raise got.with_traceback(None)  # (the same error again: its traceback would grow)
        return got

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("tic_alert_database_up", "1 when this scrape could read the database")
        try:
            c = self.census()
        except Exception as err:  # a scrape must answer: the reason goes to /readyz and the log
            log.debug("metrics: database not read: %s", err)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        subs = GaugeMetricFamily(
            "tic_alert_subscribers",
            "Chats by state: active (subscribed, reachable), stopped, blocked",
            labels=["state"],
        )
        for state, n in c.subscribers.items():
            subs.add_metric([state], n)
        yield subs
        yield GaugeMetricFamily(
            "tic_alert_outbox_queue_depth",
            "Outbox rows of releases and test alerts pending or being sent (operator rows aside)",
            value=c.queue,
        )
        rows = GaugeMetricFamily(
            "tic_alert_outbox_rows",
            "The latest release's outbox rows, by state and kind",
            labels=["state", "kind"],
        )
        for (state, kind), n in sorted(c.deliveries.items()):
            rows.add_metric([state, kind], n)
        yield rows
        if c.newest is not None:  # absent, not 0, before the first release: no false "oldest"
            yield GaugeMetricFamily(
                "tic_alert_newest_release_month",
                "The newest release the poller recorded, its data month as YYYYMM (202604: April 2026)",
                value=release_number(c.newest),
            )


def release_number(month: str) -> int:
    """ "2026-04" → 202604: a gauge's value that sorts, compares and reads as the month."""
    year, mon = month.split("-")
    return int(year) * 100 + int(mon)
