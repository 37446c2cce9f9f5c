-- The current schema: all migrations applied. A test keeps this file equal to them.
CREATE TABLE users (
    directory_id   text NOT NULL,
    id             text NOT NULL,
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
    CONSTRAINT users_pkey PRIMARY KEY (directory_id, id)
);
CREATE UNIQUE INDEX users_user_name_key ON users (directory_id, user_name_key);
CREATE INDEX users_external_id ON users (directory_id, external_id);
CREATE INDEX users_seq ON users (directory_id, seq);
CREATE INDEX users_last_modified ON users (directory_id, last_modified);

CREATE TABLE groups (
    directory_id      text NOT NULL,
    id                text NOT NULL,
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    display_name      text NOT NULL,
    display_name_key  text NOT NULL,
    external_id       text,
    data              jsonb NOT NULL,
    created           timestamptz NOT NULL,
    last_modified     timestamptz NOT NULL,
    version           bigint NOT NULL DEFAULT 1,
    CONSTRAINT groups_pkey PRIMARY KEY (directory_id, id)
);
CREATE UNIQUE INDEX groups_display_name_key ON groups (directory_id, display_name_key);
CREATE INDEX groups_external_id ON groups (directory_id, external_id);
CREATE INDEX groups_seq ON groups (directory_id, seq);

CREATE TABLE memberships (
    directory_id  text NOT NULL,
    group_id      text NOT NULL,
    member_id     text NOT NULL,
    member_type   text NOT NULL CHECK (member_type IN ('User', 'Group')),
    CONSTRAINT memberships_pkey PRIMARY KEY (directory_id, group_id, member_id),
    CONSTRAINT memberships_group_fkey FOREIGN KEY (directory_id, group_id)
        REFERENCES groups (directory_id, id) ON DELETE CASCADE
);
CREATE INDEX memberships_member ON memberships (directory_id, member_id);
