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
