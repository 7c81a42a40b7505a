-- Stand-in SQL, release 1 (0.10.0): the function schema. Release 2 changes
-- the body of msar.describe_table and adds msar.count_user_schemas.
CREATE SCHEMA msar;

CREATE FUNCTION msar.sql_version() RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT '0.10.0' $$;

CREATE FUNCTION msar.describe_table(tab regclass) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('name', c.relname)
  FROM pg_class c
  WHERE c.oid = tab
$$;
