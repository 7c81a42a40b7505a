-- Stand-in SQL, step 1 of the install: remember how many installs this
-- database has had (tests count them to prove each upgrade ran exactly
-- once), then drop every msar object so that the next files re-create all
-- of it, as Mathesar's install does. The count lives in a setting local to
-- the install's transaction.
DO $$
DECLARE
  installs integer := 0;
BEGIN
  IF to_regclass('__msar.install_count') IS NOT NULL THEN
    SELECT count INTO installs FROM __msar.install_count;
  END IF;
  PERFORM set_config('msar.installs_before', coalesce(installs, 0)::text, true);
END
$$;

DROP SCHEMA IF EXISTS msar CASCADE;
DROP SCHEMA IF EXISTS __msar CASCADE;
DROP SCHEMA IF EXISTS mathesar_types CASCADE;
