-- Close the drift from PostgreSQL's schema: externalId indexes only the rows that have
-- one, on groups too, and a membership belongs to an existing group (the foreign key,
-- with the member type checked). SQLite cannot add a constraint to a table, so the
-- membership table is rebuilt; rows of a group that no longer exists are dropped.
DROP INDEX users_external_id;
CREATE INDEX users_external_id ON users (directory_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_external_id ON groups (directory_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE memberships_new (
    group_id      TEXT NOT NULL,
    member_id     TEXT NOT NULL,
    directory_id  TEXT NOT NULL,
    member_type   TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    CONSTRAINT memberships_pkey PRIMARY KEY (group_id, member_id),
    CONSTRAINT memberships_group_fkey FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE
);
INSERT INTO memberships_new (group_id, member_id, directory_id, member_type)
SELECT m.group_id, m.member_id, m.directory_id, m.member_type FROM memberships m
WHERE EXISTS (SELECT 1 FROM groups g WHERE g.id = m.group_id)
    AND m.member_type IN ('User', 'Group');
DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;
CREATE INDEX memberships_member ON memberships (member_id);
CREATE INDEX memberships_directory ON memberships (directory_id);
