-- Run once, when the cluster is first initialised, in the application's database (POSTGRES_DB): the extensions the
-- query optimizer reads (pg_stat_statements: every statement's totals; hypopg: hypothetical indexes that prove a
-- recommendation before anyone builds it) and the one the API's migrations use (pg_trgm). Both of the optimizer's
-- are also in shared_preload_libraries (the image's command and the compose file's).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS hypopg;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
