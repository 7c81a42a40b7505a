-- Stand-in SQL, release 2 (0.11.0): the function schema. Release 1 has an
-- older body of msar.describe_table and lacks msar.count_user_schemas.
CREATE SCHEMA msar;

CREATE FUNCTION msar.sql_version() RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT '0.11.0' $$;

CREATE FUNCTION msar.describe_table(tab regclass) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'name', c.relname,
    'schema', n.nspname,
    'columns', (SELECT count(*) FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = tab
$$;

CREATE FUNCTION msar.count_user_schemas() RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT count(*) FROM pg_namespace
  WHERE nspname NOT IN ('msar', '__msar', 'mathesar_types', 'information_schema')
    AND nspname NOT LIKE 'pg\_%'
$$;
