-- The current schema: all migrations applied. A test keeps this file equal to them.
-- Resource ids are random UUIDs, unique across directories, so every lookup by id has
-- one unique index to use (the planner cannot prefer a directory-prefixed index and
-- filter a whole directory); every query still also names the directory.
CREATE TABLE users (
    id             text NOT NULL,
    directory_id   text NOT NULL,
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    user_name      text NOT NULL,
    user_name_key  text NOT NULL,
    external_id    text,
    display_name   text,
    active         boolean,
    data           jsonb NOT NULL,
    created        timestamptz NOT NULL,
    last_modified  timestamptz NOT NULL,
    version        bigint NOT NULL DEFAULT 1,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX users_user_name_key ON users (directory_id, user_name_key);
CREATE INDEX users_external_id ON users (directory_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_seq ON users (directory_id, seq);

CREATE TABLE groups (
    id                text NOT NULL,
    directory_id      text NOT NULL,
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    display_name      text NOT NULL,
    display_name_key  text NOT NULL,
    external_id       text,
    data              jsonb NOT NULL,
    created           timestamptz NOT NULL,
    last_modified     timestamptz NOT NULL,
    version           bigint NOT NULL DEFAULT 1,
    CONSTRAINT groups_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX groups_display_name_key ON groups (directory_id, display_name_key);
CREATE INDEX groups_external_id ON groups (directory_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_seq ON groups (directory_id, seq);

CREATE TABLE memberships (
    group_id      text NOT NULL,
    member_id     text NOT NULL,
    directory_id  text NOT NULL,
    member_type   text NOT NULL CHECK (member_type IN ('User', 'Group')),
    CONSTRAINT memberships_pkey PRIMARY KEY (group_id, member_id),
    CONSTRAINT memberships_group_fkey FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE
);

-- Indexed values are at most 512 characters (scim_server/scim/limits.py), inside the
-- B-tree entry limit. NOT VALID as migration 0002 adds them: writes are checked.
ALTER TABLE users ADD CONSTRAINT users_user_name_length
    CHECK (char_length(user_name) <= 512) NOT VALID;
ALTER TABLE users ADD CONSTRAINT users_external_id_length
    CHECK (char_length(external_id) <= 512) NOT VALID;
ALTER TABLE groups ADD CONSTRAINT groups_display_name_length
    CHECK (char_length(display_name) <= 512) NOT VALID;
ALTER TABLE groups ADD CONSTRAINT groups_external_id_length
    CHECK (char_length(external_id) <= 512) NOT VALID;

-- Change events (migration 0003).
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
