-- Change events (an outbox): written in the transaction of the change they describe.
-- event_streams holds each directory's last event number: the write that bumps it holds
-- the row's lock until it commits, so within a directory events commit in number order
-- and the numbers have no gaps (a reader never skips an event committed late).
CREATE TABLE event_streams (
    directory_id  text NOT NULL,
    seq           bigint NOT NULL,
    active        boolean NOT NULL DEFAULT false,
    CONSTRAINT event_streams_pkey PRIMARY KEY (directory_id)
);

CREATE TABLE events (
    directory_id  text NOT NULL,
    seq           bigint NOT NULL,
    type          text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    data          jsonb NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (directory_id, seq)
);
CREATE INDEX events_occurred_at ON events (occurred_at);

-- The directory API pages a user's groups by group id.
CREATE INDEX memberships_member_group ON memberships (member_id, group_id);

-- Webhook delivery: one cursor per (endpoint, directory): the last event delivered (or
-- dead-lettered), the retry state, and the claim of the worker delivering it.
CREATE TABLE webhook_cursors (
    endpoint_id      text NOT NULL,
    directory_id     text NOT NULL,
    seq              bigint NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_error       text,
    last_success_at  timestamptz,
    claimed_by       text,
    claimed_until    timestamptz,
    CONSTRAINT webhook_cursors_pkey PRIMARY KEY (endpoint_id, directory_id)
);

CREATE TABLE webhook_dead_letters (
    endpoint_id   text NOT NULL,
    directory_id  text NOT NULL,
    seq           bigint NOT NULL,
    failed_at     timestamptz NOT NULL,
    error         text NOT NULL,
    CONSTRAINT webhook_dead_letters_pkey PRIMARY KEY (endpoint_id, directory_id, seq)
);
