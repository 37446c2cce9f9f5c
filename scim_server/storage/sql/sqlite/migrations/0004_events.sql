-- Change events (an outbox), as PostgreSQL's migration 0003: see its comments. SQLite
-- has one writer at a time, so numbers are in commit order anyway.
CREATE TABLE event_streams (
    directory_id  TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT false,
    CONSTRAINT event_streams_pkey PRIMARY KEY (directory_id)
);

CREATE TABLE events (
    directory_id  TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    type          TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    data          TEXT NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (directory_id, seq)
);
CREATE INDEX events_occurred_at ON events (occurred_at);

CREATE INDEX memberships_member_group ON memberships (member_id, group_id);

-- Webhook delivery: one cursor per (endpoint, directory): the last event delivered (or
-- dead-lettered), the retry state, and the claim of the worker delivering it.
CREATE TABLE webhook_cursors (
    endpoint_id      TEXT NOT NULL,
    directory_id     TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_error       TEXT,
    last_success_at  TEXT,
    claimed_by       TEXT,
    claimed_until    TEXT,
    CONSTRAINT webhook_cursors_pkey PRIMARY KEY (endpoint_id, directory_id)
);

CREATE TABLE webhook_dead_letters (
    endpoint_id   TEXT NOT NULL,
    directory_id  TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    failed_at     TEXT NOT NULL,
    error         TEXT NOT NULL,
    CONSTRAINT webhook_dead_letters_pkey PRIMARY KEY (endpoint_id, directory_id, seq)
);
