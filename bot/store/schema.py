"""The schema: numbered migrations, the same on SQLite and PostgreSQL.

:data:`MIGRATIONS` lists the scripts that take a database from version *n* to *n + 1*, written in
SQLite's words (the :mod:`~bot.store.dialect` maps the types for PostgreSQL). :func:`migrate`
runs the missing ones in one transaction, so a database made by an older tic-alert keeps its data
and a new one gets the same schema. A database from a newer tic-alert, or one that is not ours, is
refused with a StoreError. Times are ISO 8601 text in UTC; months are ``YYYY-MM``; JSON is text.
"""

from __future__ import annotations

import logging

from bot.errors import StoreError
from bot.store.database import Database

log = logging.getLogger("tic_alert.store")

_V1 = """
CREATE TABLE IF NOT EXISTS vintages (
    id            INTEGER PRIMARY KEY,
    file          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    vintage       TEXT NOT NULL,   -- newest month (YYYY-MM), or mfhhis01's footer stamp (YYYY-MM-DD)
    etag          TEXT,
    last_modified TEXT,
    first_seen    TEXT NOT NULL,
    size          INTEGER NOT NULL,
    body          BLOB NOT NULL,
    UNIQUE (file, sha256)
);
CREATE TABLE IF NOT EXISTS current (  -- the copy we hold of each file, and its validators
    file          TEXT PRIMARY KEY,
    vintage_id    INTEGER NOT NULL REFERENCES vintages (id),
    etag          TEXT,
    last_modified TEXT,
    checked_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    month         TEXT PRIMARY KEY,  -- newest month on the Country line of slt_table5.txt
    months        TEXT NOT NULL,     -- JSON list of the months new in this release, oldest first
    first_seen    TEXT NOT NULL,
    headline_id   INTEGER NOT NULL REFERENCES vintages (id),
    baseline      INTEGER NOT NULL,  -- 1: the first release this store saw (not seen being published)
    gather_until  TEXT NOT NULL,     -- companions are polled until this moment
    closed_at     TEXT,
    handed_over   TEXT               -- JSON of the contents last handed to the rules stage
);
CREATE TABLE IF NOT EXISTS release_files (  -- which file showed the release, and when
    month         TEXT NOT NULL REFERENCES releases (month),
    file          TEXT NOT NULL,
    before_id     INTEGER,           -- the copy held when the release was found
    vintage_id    INTEGER,           -- the copy that shows the release (NULL: not yet)
    complete_at   TEXT,
    PRIMARY KEY (month, file)
);
CREATE TABLE IF NOT EXISTS poll_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    file          TEXT NOT NULL,
    outcome       TEXT NOT NULL,     -- not_modified, unchanged, new_release, revision, stale, complete, error
    status        INTEGER,
    bytes         INTEGER NOT NULL DEFAULT 0,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS operator_events (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL UNIQUE,
    detail        TEXT NOT NULL
);
"""

_V2 = """
CREATE TABLE chats (              -- every chat the bot has met, subscribed or not
    chat_id       INTEGER PRIMARY KEY,
    type          TEXT NOT NULL,                 -- private, group, supergroup, channel
    title         TEXT NOT NULL DEFAULT '',
    subscribed    INTEGER NOT NULL DEFAULT 0,    -- /start sets it, /stop clears it
    blocked       INTEGER NOT NULL DEFAULT 0,    -- the bot was blocked, kicked or removed
    mode          TEXT NOT NULL DEFAULT 'alerts', -- alerts: only when a rule fires; summary: every release
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE chat_rules (         -- a chat's own settings of a rule; no row = the defaults
    chat_id       INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    rule          TEXT NOT NULL,
    threshold     REAL,                          -- NULL = the rule's default threshold
    enabled       INTEGER,                       -- NULL = as the catalogue says; 0 off; 1 on
    muted_until   TEXT,                          -- YYYY-MM-DD inclusive; NULL = not muted
    PRIMARY KEY (chat_id, rule)
);
CREATE TABLE chat_watches (       -- entities a chat watches (none = every entity the rules cover)
    chat_id       INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    entity        TEXT NOT NULL,
    PRIMARY KEY (chat_id, entity)
);
CREATE TABLE chat_groups (        -- a chat's own groups, e.g. Belgium + Luxembourg
    chat_id       INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    name          TEXT NOT NULL,
    members       TEXT NOT NULL,                 -- JSON list of canonical country names
    PRIMARY KEY (chat_id, name)
);
"""
_V3 = """
CREATE TABLE charts (             -- a release's chart, rendered once, uploaded once
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,          -- the release and what the chart shows
    png           BLOB NOT NULL,
    file_id       TEXT                           -- Telegram's id once uploaded: every other chat reuses it
);
CREATE TABLE deliveries (         -- the outbox: one row per (release, chat, edition)
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,          -- release:chat:edition; replaying a hand-over adds nothing
    release       TEXT NOT NULL,
    chat_id       INTEGER NOT NULL,
    kind          TEXT NOT NULL,                 -- alert, followup, edit, operator
    messages      TEXT NOT NULL,                 -- JSON list of HTML texts (the first: the chart's caption)
    chart_id      INTEGER REFERENCES charts (id),
    edit_of       INTEGER REFERENCES deliveries (id),
    events        TEXT NOT NULL DEFAULT '[]',    -- JSON [[event key, digest], …] this delivery tells
    state         TEXT NOT NULL DEFAULT 'pending', -- pending, sending, sent, failed, blocked
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    TEXT,                          -- retry no earlier than this (429, network errors)
    sent_ids      TEXT NOT NULL DEFAULT '[]',    -- Telegram message ids, one per message already sent
    detail        TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX deliveries_state ON deliveries (state, id);
CREATE INDEX deliveries_chat ON deliveries (release, chat_id);
CREATE INDEX deliveries_chat_order ON deliveries (chat_id, id, state);
"""
_V4 = """
ALTER TABLE chat_rules ADD COLUMN floor REAL;  -- the chat's smallest $bn move for the rule; NULL = the rule's
"""
_V5 = """
-- how each message in sent_ids went (JSON: photo, text or plain): an edit edits a caption or a text
ALTER TABLE deliveries ADD COLUMN sent_as TEXT NOT NULL DEFAULT '[]';
-- the chat its sent messages are in, once the chat moved (a group became a supergroup): the row is
-- the chat's (what it was told) under its new id, but its messages cannot be edited from there
ALTER TABLE deliveries ADD COLUMN moved_from INTEGER;
"""
_V6 = """
CREATE TABLE leadership (         -- one row: which `tic-alert run` leads (PostgreSQL; see store.leader)
    epoch         INTEGER NOT NULL,              -- one more at each takeover: fences an older leader
    holder        TEXT NOT NULL,                 -- host:pid of the leader
    since         TEXT NOT NULL
);
INSERT INTO leadership (epoch, holder, since) VALUES (0, '', '')
"""
_V7 = """
CREATE TABLE photo_ids (          -- every photo the bot uploaded, by its PNG's sha256: sent by file_id after
    digest        TEXT PRIMARY KEY,
    file_id       TEXT NOT NULL
)
"""
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)  # MIGRATIONS[n] takes version n to n + 1
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: Database) -> int:
    """Run the migrations the database lacks; returns the version it is at afterwards.

    A SQLite file that holds data is first copied beside itself (:meth:`Database.before_migration`)."""
    dialect = db.dialect
    version = dialect.version(db)
    if version > SCHEMA_VERSION:
        raise StoreError(f"{db.where}: schema version {version}, this tic-alert knows {SCHEMA_VERSION}")
    if version == 0 and dialect.has_tables(db):
        raise StoreError(f"{db.where}: has tables but no tic-alert schema version: not a tic-alert database")
    if version == SCHEMA_VERSION:
        return version
    saved = db.before_migration(version)
    if saved is not None:
        log.warning(
            "%s: schema v%d, copied to %s before migrating to v%d", db.where, version, saved, SCHEMA_VERSION
        )
    # one transaction for all the steps, the version read again inside it under the migration's
    # lock: of two processes upgrading at once, the second finds the work done (a crash leaves
    # the old version)
    with db.transaction():
        dialect.lock_for_migration(db)
        version = dialect.version(db)
        for n in range(version, SCHEMA_VERSION):
            for statement in dialect.ddl(MIGRATIONS[n]):
                db.execute(statement)
        dialect.set_version(db, SCHEMA_VERSION)
    return SCHEMA_VERSION
