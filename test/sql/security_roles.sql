-- The security model: which role may run which routine (docs/security.md).
-- PUBLIC keeps pgvector's surface; every ruvector_* routine belongs to one of
-- ruvector_user < ruvector_operator < ruvector_admin, or to superusers only.

-- The roles exist, cannot log in, and nest.
SELECT rolname, rolcanlogin, rolsuper,
	pg_has_role(rolname, 'ruvector_user', 'MEMBER') AS has_user,
	pg_has_role(rolname, 'ruvector_operator', 'MEMBER') AS has_operator
FROM pg_roles WHERE rolname LIKE 'ruvector\_%' ORDER BY 1;

-- The privilege matrix of every ruvector_* routine of the extension.
SELECT p.proname AS routine,
	CASE WHEN has_function_privilege('public', p.oid, 'EXECUTE') THEN 'PUBLIC'
		 WHEN has_function_privilege('ruvector_user', p.oid, 'EXECUTE') THEN 'user'
		 WHEN has_function_privilege('ruvector_operator', p.oid, 'EXECUTE') THEN 'operator'
		 WHEN has_function_privilege('ruvector_admin', p.oid, 'EXECUTE') THEN 'admin'
		 ELSE 'superuser' END AS lowest_role,
	count(*) AS overloads
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ruvector') AND d.deptype = 'e'
	AND p.proname LIKE 'ruvector\_%' AND p.proname NOT LIKE 'ruvector\_cy\_%'
GROUP BY 1, 2 ORDER BY 2, 1;

-- Cypher's internal helpers: ruvector_user only, never PUBLIC.
SELECT count(*) AS helpers,
	count(*) FILTER (WHERE has_function_privilege('public', p.oid, 'EXECUTE')) AS public,
	count(*) FILTER (WHERE has_function_privilege('ruvector_user', p.oid, 'EXECUTE')) AS ruvector_user
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ruvector') AND d.deptype = 'e'
	AND p.proname LIKE 'ruvector\_cy\_%';

-- pgvector's surface stays open to everyone.
SELECT count(*) AS pgvector_surface_not_public
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ruvector') AND d.deptype = 'e'
	AND p.proname NOT LIKE 'ruvector\_%' AND NOT has_function_privilege('public', p.oid, 'EXECUTE');

-- Calls as each role: a login role per level, all owning nothing but what
-- the test gives them.
CREATE ROLE regress_rv_nobody;
CREATE ROLE regress_rv_user IN ROLE ruvector_user;
CREATE ROLE regress_rv_operator IN ROLE ruvector_operator;
CREATE ROLE regress_rv_admin IN ROLE ruvector_admin;
CREATE TABLE sec_items (id int PRIMARY KEY, v vector(3));
INSERT INTO sec_items SELECT i, ARRAY[i, i % 3, 1]::real[]::vector FROM generate_series(1, 50) i;
CREATE INDEX sec_items_hnsw ON sec_items USING hnsw (v vector_l2_ops);
CREATE INDEX sec_items_ivf ON sec_items USING ivfflat (v vector_l2_ops) WITH (lists = 2);
GRANT SELECT, INSERT ON sec_items TO PUBLIC;
SELECT ruvector_create_graph('sec_graph');

-- try(role, sql) runs one statement as role and returns 'ok' or its SQLSTATE
-- (an error rolls the subtransaction back, and the role with it).
CREATE FUNCTION pg_temp.try(role name, sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE pg_catalog.format('SET LOCAL ROLE %I', role);
	EXECUTE sql;
	RESET ROLE;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;

CREATE TEMP TABLE sec_calls (n int, sql text);
INSERT INTO sec_calls VALUES
	(1, $$SELECT count(*) FROM (SELECT id FROM sec_items ORDER BY v <-> '[1,1,1]' LIMIT 3) s$$),
	(2, $$INSERT INTO sec_items VALUES (1000 + (random() * 1e6)::int, '[1,2,3]')$$),
	(3, $$SELECT l2_distance('[1,2]'::vector, '[3,4]')$$),
	(4, $$SELECT * FROM ruvector_hnsw_verify('sec_items_hnsw')$$),
	(5, $$SELECT * FROM ruvector_ivf_stats('sec_items_ivf')$$),
	(6, $$SELECT ruvector_cy_fn(28, '1'::jsonb, '2'::jsonb)$$),
	(7, $$SELECT ruvector_create_graph('sec_graph_2')$$),
	(8, $$SELECT ruvector_drop_graph('sec_graph_2', true)$$),
	(9, $$SELECT * FROM ruvector_tier_report('sec_items')$$),
	(10, $$SELECT * FROM ruvector_index_kernel('sec_items_hnsw')$$),
	(11, $$SELECT ruvector_shard_create('sec_items', '{nosuch_server}')$$);

SELECT c.n, r.role, pg_temp.try(r.role, c.sql) AS result
FROM sec_calls c
	CROSS JOIN (VALUES (1, 'regress_rv_nobody'), (2, 'regress_rv_user'),
					   (3, 'regress_rv_operator'), (4, 'regress_rv_admin')) AS r(k, role)
ORDER BY c.n, r.k;

-- Cleanup (roles are cluster-wide).
SELECT ruvector_drop_graph('sec_graph_2', true);
SELECT ruvector_drop_graph('sec_graph');
DROP TABLE sec_items;
DROP ROLE regress_rv_nobody, regress_rv_user, regress_rv_operator, regress_rv_admin;
