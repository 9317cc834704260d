"""The Treasury files as the store keeps them: fetched conditionally, a changed copy stored only
when it parses and is not older than the one held."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from bot.data.fetch import FetchResult
from bot.data.parse import parse_file
from bot.data.sources import COMPANIONS, REFERENCE, file_url
from bot.store.state import Held, Logged, Store
from bot.watch.outcomes import Fetcher


@dataclass(frozen=True)
class PolledFiles:
    """Where the Treasury's files are (``base_url``) and which a poller asks for besides the
    headline: the ``companions`` of each new release, and the frozen ``reference`` files once."""

    base_url: str
    companions: tuple[str, ...] = COMPANIONS
    reference: tuple[str, ...] = REFERENCE


class KeptFiles:
    """Fetches files from ``base_url`` through ``fetcher`` and keeps their copies in ``store``."""

    def __init__(self, store: Store, fetcher: Fetcher, base_url: str):
        self.store = store
        self.fetcher = fetcher
        self.base_url = base_url

    def changed(self, file: str, held: Held | None, now: dt.datetime) -> tuple[FetchResult, bytes, str] | str:
        """Fetch ``file`` conditionally: a changed body and its sha256, or why there is none
        ("not modified (304)", "unchanged (same bytes)"), logged, with the new validators kept."""
        res = self.get(file, held)
        if res.not_modified:
            self.store.log_poll(now, file, Logged.NOT_MODIFIED, status=304)
            return "not modified (304)"
        body = res.body or b""
        sha = hashlib.sha256(body).hexdigest()
        if held is not None and sha == held.sha256:
            with self.store.transaction():
                self.store.set_held(file, held.vintage_id, res.etag, res.last_modified, now)
            self.store.log_poll(now, file, Logged.UNCHANGED, status=200, size=len(body))
            return "unchanged (same bytes)"
        return res, body, sha

    def get(self, file: str, held: Held | None) -> FetchResult:
        etag, last_modified = (held.etag, held.last_modified) if held else (None, None)
        return self.fetcher(file_url(self.base_url, file), etag, last_modified)

    def refresh(self, file: str, now: dt.datetime) -> Held | None:
        """Fetch a non-headline file conditionally; keep a changed copy that parses and is not older."""
        held = self.store.held(file)
        got = self.changed(file, held, now)
        if isinstance(got, str):
            return held
        res, body, sha = got
        vintage = parse_file(file, body).vintage
        if held is not None and vintage < held.vintage:
            self.store.log_poll(
                now,
                file,
                Logged.STALE,
                status=200,
                size=len(body),
                detail=f"{vintage} older than {held.vintage}",
            )
            return held
        with self.store.transaction():
            vid = self.store.add_vintage(file, body, sha, vintage, res.etag, res.last_modified, now)
            self.store.set_held(file, vid, res.etag, res.last_modified, now)
        self.store.log_poll(now, file, Logged.CHANGED, status=200, size=len(body), detail=vintage)
        return self.store.held(file)
