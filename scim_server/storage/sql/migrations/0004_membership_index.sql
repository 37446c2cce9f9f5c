-- Drop the membership index on the directory alone. Every membership lookup names the
-- directory and a group or a member; with an index on the directory as well, the
-- planner could combine it with the selective index (or prefer it, on statistics taken
-- when the tables were small) and read every membership of the directory on each
-- request: group creation slowed as the directory grew. A group's memberships are
-- found through the primary key (group_id, ...), a member's through memberships_member_group;
-- deleting a directory finds its memberships through its groups.
DROP INDEX IF EXISTS memberships_directory;
-- memberships_member (member_id) is a prefix of memberships_member_group (member_id,
-- group_id), added with the events: one index serves both, and every write maintains one less.
DROP INDEX IF EXISTS memberships_member;
