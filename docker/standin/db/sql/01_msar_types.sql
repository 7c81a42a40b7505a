-- Stand-in SQL: the types schema user tables may use.
CREATE SCHEMA mathesar_types;

CREATE DOMAIN mathesar_types.email AS text CHECK (VALUE ~ '^[^@]+@[^@]+$');
CREATE DOMAIN mathesar_types.uri AS text CHECK (VALUE ~ '^[a-z][a-z0-9+.-]*:');
