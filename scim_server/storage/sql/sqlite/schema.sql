-- The current SQLite schema: all migrations applied. A test keeps this file equal to
-- them, and another keeps its tables, columns, keys and indexes equal in meaning to
-- PostgreSQL's ../schema.sql. Types are SQLite's storage classes: JSON documents and
-- ISO 8601 times are TEXT, booleans are INTEGER 0/1, seq is assigned on insert.
CREATE TABLE users (
    directory_id TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
    user_name TEXT NOT NULL, user_name_key TEXT NOT NULL, external_id TEXT,
    display_name TEXT, active INTEGER, data TEXT NOT NULL,
    created TEXT NOT NULL, last_modified TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (id));
CREATE UNIQUE INDEX users_user_name_key ON users (directory_id, user_name_key);
CREATE INDEX users_seq ON users (directory_id, seq);
CREATE TABLE groups (
    directory_id TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
    display_name TEXT NOT NULL, display_name_key TEXT NOT NULL, external_id TEXT,
    data TEXT NOT NULL, created TEXT NOT NULL, last_modified TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (id));
CREATE UNIQUE INDEX groups_display_name_key ON groups (directory_id, display_name_key);
CREATE INDEX groups_seq ON groups (directory_id, seq);
CREATE INDEX users_external_id ON users (directory_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_external_id ON groups (directory_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE "memberships" (
    group_id      TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    directory_id  TEXT NOT NULL,
    member_type   TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    CONSTRAINT memberships_pkey PRIMARY KEY (group_id, member_id),
    CONSTRAINT memberships_group_fkey FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE
);

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
