-- Stand-in SQL, last step: the internal schema, with the install counter
-- carried over from step 1 and incremented.
CREATE SCHEMA __msar;

CREATE TABLE __msar.install_count (count integer NOT NULL);
INSERT INTO __msar.install_count
  VALUES (current_setting('msar.installs_before')::integer + 1);
