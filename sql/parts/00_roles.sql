-- The roles of RuVector's security model (docs/security.md):
--   ruvector_user      search, insert, Cypher on the graphs granted to it
--   ruvector_operator  compaction, refresh, repair, sampling, reports (and all of ruvector_user)
--   ruvector_admin     tier and integrity policies, graphs, keys (and all of ruvector_operator)
-- Roles belong to the cluster, not to a database: the first database that
-- installs the extension creates them (NOLOGIN: grant them to login roles),
-- later ones reuse them, and DROP EXTENSION leaves them in place.

\echo Use "CREATE EXTENSION ruvector" to load this file. \quit

DO $roles$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['ruvector_user', 'ruvector_operator', 'ruvector_admin'] LOOP
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
	-- admin holds operator's rights, operator holds user's.
	IF NOT pg_catalog.pg_has_role('ruvector_operator', 'ruvector_user', 'MEMBER') THEN
		GRANT ruvector_user TO ruvector_operator;
	END IF;
	IF NOT pg_catalog.pg_has_role('ruvector_admin', 'ruvector_operator', 'MEMBER') THEN
		GRANT ruvector_operator TO ruvector_admin;
	END IF;
END
$roles$;
