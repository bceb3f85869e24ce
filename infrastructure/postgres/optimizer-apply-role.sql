-- The role the query optimizer builds recommended indexes with (POST /v1/recommendations/apply), apart from its own
-- role (optimizer-role.sql), which never may. PostgreSQL 15 lets only a table's owner, or a member of the owning
-- role, create an index on it, and the owner must have CREATE on the schema; so this role is a NOINHERIT member of
-- the owner roles the DBA names here, one per schema the optimizer may index, and takes the owner's role (SET ROLE)
-- for the build alone. It holds no privilege of its own: without SET ROLE it can read nothing, and the optimizer
-- only ever sends CREATE INDEX CONCURRENTLY (and DROP INDEX CONCURRENTLY of the invalid index a failed build
-- leaves) built from checked names. Membership does let a session of this role do whatever the owner may (drop
-- the owner's tables too): keep the owners to roles that own tables only, never a superuser or the application's
-- login, and keep this role's password as secret as the owner's.
--
-- Run as a superuser or a role with CREATEROLE and ADMIN on the owners, with psql variables:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -v role=wedsync_optimizer_apply -v password="$SECRET" \
--        -v owners=olap_owner -f optimizer-apply-role.sql
-- owners: the owner roles, separated by commas (an empty list grants nothing: the role may index no table).
SELECT format('CREATE ROLE %I LOGIN NOINHERIT', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')\gexec
SELECT format('ALTER ROLE %I LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 4', :'role')\gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'password') WHERE :'password' <> ''\gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role')\gexec
SELECT format('GRANT %I TO %I', trim(owner), :'role')
FROM unnest(string_to_array(:'owners', ',')) owner WHERE trim(owner) <> ''\gexec
