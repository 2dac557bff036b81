-- Runs once, on the first start of the compose PostgreSQL (empty volume).
-- One database and one login role per service: no service can read another's data.
-- Development passwords only, matching the PMO_DATABASE_URL values in docker-compose.yml.
CREATE ROLE intake LOGIN PASSWORD 'intake-dev';
CREATE DATABASE intake OWNER intake;

CREATE ROLE portfolio LOGIN PASSWORD 'portfolio-dev';
CREATE DATABASE portfolio OWNER portfolio;

CREATE ROLE resourcing LOGIN PASSWORD 'resourcing-dev';
CREATE DATABASE resourcing OWNER resourcing;

CREATE ROLE reporting LOGIN PASSWORD 'reporting-dev';
CREATE DATABASE reporting OWNER reporting;

-- Other roles (and PUBLIC) may not even connect to a service's database.
REVOKE CONNECT, TEMPORARY ON DATABASE intake FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE portfolio FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE resourcing FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE reporting FROM PUBLIC;
