-- The query optimizer's database role: what EXPLAIN ANALYZE of the application's statements and the statistics views
-- need, and nothing more. Not a superuser: it cannot signal other roles' sessions, read or write server files, reload
-- the configuration, or open sessions elsewhere (dblink needs a password it does not have, and its functions are not
-- granted). Its own statements run in transactions that are always rolled back.
--
-- Run as the database's owner (scripts/stack and scripts/test do), with psql variables:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -v role=wedsync_optimizer -v password="$SECRET" -f optimizer-role.sql
-- (password may be empty where the server trusts local connections, as the throwaway test clusters do).
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20', :'role')\gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'password') WHERE :'password' <> ''\gexec
SELECT format('ALTER ROLE %I SET statement_timeout = %L', :'role', '60s')\gexec

-- Other roles' statements in pg_stat_statements and pg_stat_activity.
SELECT format('GRANT pg_read_all_stats TO %I', :'role')\gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'role')\gexec

-- The application's tables: read, and write inside EXPLAIN ANALYZE of a write (always rolled back); never TRUNCATE,
-- REFERENCES or TRIGGER. Every schema but the system ones; tables created later by the owner too.
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', nspname, :'role')
FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'\gexec
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', nspname, :'role')
FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'\gexec
SELECT format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', nspname, :'role')
FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'\gexec
SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', nspname, :'role')
FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'\gexec

-- dblink, when installed, is executable by PUBLIC: not by this role.
SELECT format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', p.oid::regprocedure)
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dblink'\gexec
