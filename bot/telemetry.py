"""What a running tic-alert tells its operator's machines: Prometheus metrics and loop heartbeats.

One :class:`Telemetry` per process (tests make several): its own ``CollectorRegistry``, never
the library's global one. Every stage may record into it (it sits at the foundation and imports
no stage); the HTTP server (:mod:`bot.status_server`) exposes it. Figures that live in the
database (subscribers, the outbox) are read at scrape time by a collector that wiring adds
(:meth:`Telemetry.add_collector`), so they are right across processes (`poll` + `serve`).

Heartbeats: each loop that must keep ticking (the poller's, the bot's event loop) beats; a loop
silent for longer than its limit makes /healthz answer 503 naming it. A standby (another process
leads the shared database) is healthy: /healthz says "standby: …" with 200.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot import __version__

# Send and command latencies: Telegram answers in 50 ms..several s; a chart takes ~0.3 s of CPU.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Telemetry:
    """The process's metrics (one registry) and the heartbeats of its loops."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.registry = CollectorRegistry()
        r = self.registry
        # tic_alert_build_info{version="0.1.0"} 1: which release of tic-alert answers the scrape
        Info("tic_alert_build", "The tic-alert that runs", registry=r).info({"version": __version__})
        self.polls = Counter(
            "tic_alert_polls", "Polls of the headline file, by outcome", ["outcome"], registry=r
        )
        self.poll_seconds = Histogram(
            "tic_alert_poll_duration_seconds",
            "Time one poll took (all its files)",
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "tic_alert_last_successful_poll_timestamp_seconds",
            "Unix time of the last poll that reached the Treasury and read its answer",
            registry=r,
        )
        self.detection_delay = Gauge(
            "tic_alert_detection_delay_seconds",
            "The last new release: seconds to its detection from the later of its scheduled moment"
            " (4 p.m. ET) and its file's publication (Last-Modified); never negative",
            registry=r,
        )
        self.deliveries = Counter(
            "tic_alert_deliveries",
            "Outbox rows finished by the sender, by state and kind",
            ["state", "kind"],
            registry=r,
        )
        self.send_seconds = Histogram(
            "tic_alert_send_duration_seconds",
            "Bot API time of one outbox row (all its messages)",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.throttled = Counter(
            "tic_alert_telegram_429",
            "Bot API answers 429 Too Many Requests (retry_after honoured)",
            registry=r,
        )
        self.retries = Counter(
            "tic_alert_delivery_retries",
            "Outbox rows put back for another attempt (429, network)",
            registry=r,
        )
        self.unknown_outcomes = Counter(
            "tic_alert_unknown_outcomes",
            "Bot API sends written but never answered (timed out or cut): the chat may have the message",
            registry=r,
        )
        self.command_seconds = Histogram(
            "tic_alert_command_duration_seconds",
            "From a command's arrival to its last reply sent (or dropped), by command",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.leader = Gauge(
            "tic_alert_leader",
            "1 while this process leads (polls, sends), 0 while it stands by for another",
            registry=r,
        )
        self.standby: str | None = None  # why this process stands by (None: it leads, or starts)
        self._clock = clock
        self._lock = threading.Lock()
        self._beats: dict[str, tuple[float, float]] = {}  # loop → (last beat, limit in seconds)
        self._reached: dict[str, float] = {}  # a dependency (database, telegram) → last success
        self.registry.register(_HeartbeatCollector(self))

    # --- heartbeats ---------------------------------------------------------------------------

    def expect(self, loop: str, within_seconds: float) -> None:
        """``loop`` must beat at least every ``within_seconds`` from now on (its start counts as one)."""
        with self._lock:
            self._beats[loop] = (self._clock(), within_seconds)

    def beat(self, loop: str) -> None:
        with self._lock:
            if loop in self._beats:
                self._beats[loop] = (self._clock(), self._beats[loop][1])

    def ages(self) -> dict[str, tuple[float, float]]:
        """loop → (seconds since its last beat, its limit)."""
        now = self._clock()
        with self._lock:
            return {loop: (now - at, limit) for loop, (at, limit) in self._beats.items()}

    def health(self) -> tuple[bool, str]:
        """(every loop ticking?, one line saying so or naming the stalled loop)."""
        ages = self.ages()
        stalled = [
            f"{loop} loop stalled: last tick {age:.0f} s ago (limit {limit:g} s)"
            for loop, (age, limit) in sorted(ages.items())
            if age > limit
        ]
        if stalled:
            return False, "; ".join(stalled)
        if self.standby is not None:
            return True, f"standby: {self.standby}"
        if not ages:
            return True, "ok: no loops registered"
        return True, "ok: " + ", ".join(
            f"{loop} ticked {age:.0f} s ago" for loop, (age, _) in sorted(ages.items())
        )

    # --- what the process reached ---------------------------------------------------------------

    def reached(self, what: str) -> None:
        """``what`` (e.g. "telegram") answered just now."""
        with self._lock:
            self._reached[what] = self._clock()

    def last_reached(self, what: str) -> float | None:
        """Seconds since ``what`` last answered, or None if it never did."""
        with self._lock:
            at = self._reached.get(what)
        return None if at is None else self._clock() - at

    def add_collector(self, collector: Collector) -> None:
        self.registry.register(collector)


class _HeartbeatCollector(Collector):
    def __init__(self, telemetry: Telemetry):
        self.telemetry = telemetry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "tic_alert_heartbeat_age_seconds", "Seconds since each loop last ticked", labels=["loop"]
        )
        for loop, (age, _) in sorted(self.telemetry.ages().items()):
            family.add_metric([loop], age)
        yield family
