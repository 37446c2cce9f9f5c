-- The input policy (scim_server/scim/limits.py), as PostgreSQL's migration 0002.
--
-- A User without `active` is active: rows stored before that rule get it written out,
-- so reads, filters (`active eq true`) and the application all see the same value.
UPDATE users SET active = 1, data = json_set(data, '$.active', json('true')) WHERE active IS NULL;

-- Case-insensitive keys are folded as scim_server/scim/casefold.py does (scim_lower is
-- that function, registered on every connection); rows keyed with Python's full lower
-- case get the new key, unless another row already holds it.
UPDATE users AS u SET user_name_key = scim_lower(u.user_name)
WHERE u.user_name_key <> scim_lower(u.user_name) AND NOT EXISTS (
    SELECT 1 FROM users o WHERE o.directory_id = u.directory_id AND o.user_name_key = scim_lower(u.user_name));
UPDATE groups AS g SET display_name_key = scim_lower(g.display_name)
WHERE g.display_name_key <> scim_lower(g.display_name) AND NOT EXISTS (
    SELECT 1 FROM groups o WHERE o.directory_id = g.directory_id AND o.display_name_key = scim_lower(g.display_name));
