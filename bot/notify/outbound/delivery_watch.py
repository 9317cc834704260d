"""What the sender tells the operator: one log line per delivery (release, chat, kind, outcome,
attempt) and the delivery metrics (rows by state and kind, Bot API time per row, retries)."""

from __future__ import annotations

import json
import logging

from bot.store.outbox import Delivery
from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.sender")


class DeliveryWatch:
    """The sender calls :meth:`finished` when a row ends (sent, failed, blocked) and
    :meth:`retried` when it goes back to the queue (a 429, a network error, plain text next)."""

    def __init__(self, telemetry: Telemetry | None = None):
        self.telemetry = telemetry

    def finished(self, row: Delivery, outcome: str, api_seconds: float | None = None) -> None:
        kind, outcome = str(row.kind), str(outcome)
        if self.telemetry is not None:
            self.telemetry.deliveries.labels(outcome, kind).inc()
            if api_seconds is not None:
                self.telemetry.send_seconds.labels(kind).observe(api_seconds)
        self._line(row, outcome, api_seconds)

    def retried(self, row: Delivery, why: str) -> None:
        if self.telemetry is not None:
            self.telemetry.retries.inc()  # (its 429s are counted where every answer passes: notify.limiter)
        self._line(row, "retry", None, why)

    @staticmethod
    def _line(row: Delivery, outcome: str, api_seconds: float | None, why: str = "") -> None:
        ms = None if api_seconds is None else round(api_seconds * 1000)
        log.info(
            "delivery id=%s release=%s chat=%s kind=%s outcome=%s attempt=%d%s%s",
            row.id,
            row.release,
            row.chat_id,
            row.kind,
            outcome,
            row.attempts + 1,
            f" ms={ms}" if ms is not None else "",
            f" why={json.dumps(why, ensure_ascii=False)}" if why else "",
            extra={
                "release": row.release,
                "chat": row.chat_id,
                "kind": str(row.kind),
                "outcome": outcome,
                "attempt": row.attempts + 1,
                "ms": ms,
            },
        )
