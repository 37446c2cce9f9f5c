-- The input policy (scim_server/scim/limits.py) in the schema.
--
-- A User without `active` is active: rows stored before that rule get it written out,
-- so reads, filters (`active eq true`) and the application all see the same value.
UPDATE users SET active = true, data = data || '{"active": true}'::jsonb WHERE active IS NULL;

-- Case-insensitive keys are folded one character at a time, as lower() does
-- (scim_server/scim/casefold.py). Rows keyed with Python's full lower case (a final
-- "ς", a dotted "i̇") get the key lower() gives, unless another row already holds it.
UPDATE users u SET user_name_key = lower(u.user_name)
WHERE u.user_name_key <> lower(u.user_name) AND NOT EXISTS (
    SELECT 1 FROM users o WHERE o.directory_id = u.directory_id AND o.user_name_key = lower(u.user_name));
UPDATE groups g SET display_name_key = lower(g.display_name)
WHERE g.display_name_key <> lower(g.display_name) AND NOT EXISTS (
    SELECT 1 FROM groups o WHERE o.directory_id = g.directory_id AND o.display_name_key = lower(g.display_name));

-- Indexed values are at most 512 characters, which keeps every admitted value inside
-- the B-tree entry limit (2,704 bytes: 512 characters of 4 bytes plus the directory).
-- NOT VALID: rows stored before the limit stay readable; every write is checked.
ALTER TABLE users ADD CONSTRAINT users_user_name_length
    CHECK (char_length(user_name) <= 512) NOT VALID;
ALTER TABLE users ADD CONSTRAINT users_external_id_length
    CHECK (char_length(external_id) <= 512) NOT VALID;
ALTER TABLE groups ADD CONSTRAINT groups_display_name_length
    CHECK (char_length(display_name) <= 512) NOT VALID;
ALTER TABLE groups ADD CONSTRAINT groups_external_id_length
    CHECK (char_length(external_id) <= 512) NOT VALID;
