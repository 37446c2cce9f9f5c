-- The schema of release 0365ddc, the last one whose SQLite schema was inline DDL.
-- A database file without kubescim_migrations but with these tables is at version 1.
CREATE TABLE users (
    directory_id TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
    user_name TEXT NOT NULL, user_name_key TEXT NOT NULL, external_id TEXT,
    display_name TEXT, active INTEGER, data TEXT NOT NULL,
    created TEXT NOT NULL, last_modified TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (id));
CREATE UNIQUE INDEX users_user_name_key ON users (directory_id, user_name_key);
CREATE INDEX users_external_id ON users (directory_id, external_id);
CREATE INDEX users_seq ON users (directory_id, seq);
CREATE TABLE groups (
    directory_id TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
    display_name TEXT NOT NULL, display_name_key TEXT NOT NULL, external_id TEXT,
    data TEXT NOT NULL, created TEXT NOT NULL, last_modified TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (id));
CREATE UNIQUE INDEX groups_display_name_key ON groups (directory_id, display_name_key);
CREATE INDEX groups_seq ON groups (directory_id, seq);
CREATE TABLE memberships (
    directory_id TEXT NOT NULL, group_id TEXT NOT NULL, member_id TEXT NOT NULL,
    member_type TEXT NOT NULL, PRIMARY KEY (group_id, member_id));
CREATE INDEX memberships_member ON memberships (member_id);
CREATE INDEX memberships_directory ON memberships (directory_id);
