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
