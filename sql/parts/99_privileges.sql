-- Who may execute what.  PUBLIC keeps exactly what pgvector gives PUBLIC: the
-- types, operators, distance and utility functions, aggregates and index
-- methods.  Every ruvector_* routine is revoked from PUBLIC and granted to the
-- one role listed below (the roles nest: admin > operator > user); a routine
-- marked 'superuser' is for the server itself (handlers, triggers).
--
-- This is the one place privileges of routines are decided, for a fresh
-- install and for the upgrade from 0.1.0 alike.  A ruvector_* routine missing
-- from the list makes CREATE EXTENSION fail, so no new function ships
-- executable by PUBLIC by accident.
DO $privileges$
DECLARE
	ext oid := (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'ruvector');
	f record;
	unlisted text;
BEGIN
	FOR f IN
		WITH listed(proname, role) AS (VALUES
			-- graph and Cypher (src/graph)
			('ruvector_create_graph', 'ruvector_admin'),
			('ruvector_drop_graph', 'ruvector_admin'),
			('ruvector_graph_vector_index', 'ruvector_admin'),
			('ruvector_graphs', 'ruvector_user'),
			('ruvector_graph_add_node', 'ruvector_user'),
			('ruvector_graph_add_edge', 'ruvector_user'),
			('ruvector_graph_add_hyperedge', 'ruvector_user'),
			('ruvector_cypher', 'ruvector_user'),
			('ruvector_cypher_rows', 'ruvector_user'),
			('ruvector_cypher_sql', 'ruvector_user'),
			('ruvector_graph_catalog_changed', 'superuser'),
			-- called by the graph tables' policies for every role that reads them
			('ruvector_graph_allowed', 'ruvector_user'),
			-- granted to users; refused inside unless ruvector_admin or the graph's owner
			('ruvector_graph_grant', 'ruvector_user'),
			('ruvector_graph_revoke', 'ruvector_user'),

			-- index methods (src/indexam)
			('ruvector_hnsw_verify', 'ruvector_operator'),
			('ruvector_ivf_refresh', 'ruvector_operator'),
			('ruvector_ivf_stats', 'ruvector_operator'),
			('ruvector_index_kernel', 'ruvector_operator'),

			-- integrity control plane (src/integrity)
			('ruvector_integrity_sample', 'ruvector_operator'),
			('ruvector_integrity_sample_operational', 'ruvector_operator'),
			('ruvector_integrity_status', 'ruvector_user'),
			('ruvector_integrity_gate', 'ruvector_user'),
			('ruvector_integrity_policy_set', 'ruvector_admin'),
			('ruvector_integrity_policy_attach', 'ruvector_admin'),
			('ruvector_integrity_repair', 'ruvector_operator'),

			-- learning loop (src/gnn)
			('ruvector_learning_train', 'ruvector_operator'),
			('ruvector_learning_status', 'ruvector_user'),
			('ruvector_learning_effort', 'ruvector_user'),

			-- ruvector_heap and tiers (src/tableam, src/tier)
			('ruvector_heap_handler', 'superuser'),
			('ruvector_tableam_sql_drop', 'superuser'),
			('ruvector_set_tiers', 'ruvector_admin'),
			('ruvector_compact', 'ruvector_operator'),
			('ruvector_tier_report', 'ruvector_operator'),
			('ruvector_tier_verify', 'ruvector_operator'),
			('ruvector_tier_space', 'ruvector_operator'),
			('ruvector_tier_plan', 'ruvector_operator'),
			('ruvector_tier_progress', 'ruvector_operator'),
			('ruvector_tier_storage', 'ruvector_operator'),

			-- batched reads (src/io)
			('ruvector_io_method', 'ruvector_user'),
			('ruvector_io_stats', 'ruvector_user'),

			-- sharded tables (src/shard): connects to the shard servers with
			-- their options from the server process, so superusers only
			('ruvector_shard_create', 'superuser'),

			-- audit trail (src/audit)
			('ruvector_audit_log', 'ruvector_admin'),
			('ruvector_audit_verify', 'ruvector_operator'),
			('ruvector_audit_public_key', 'ruvector_user'),
			('ruvector_audit_guard', 'superuser'),
			('ruvector_audit_ddl', 'superuser')
		)
		SELECT p.oid::pg_catalog.regprocedure AS sig,
			-- The helpers that Cypher's generated SQL calls run with the
			-- rights of the role that called ruvector_cypher, so that role
			-- needs them; PUBLIC does not.
			CASE WHEN p.proname LIKE 'ruvector\_cy\_%' THEN 'ruvector_user' ELSE l.role END AS role
		FROM pg_catalog.pg_depend d
			JOIN pg_catalog.pg_proc p ON p.oid = d.objid
			LEFT JOIN listed l ON l.proname = p.proname
		WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
			AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
			AND d.refobjid = ext AND d.deptype = 'e' AND p.proname LIKE 'ruvector\_%'
	LOOP
		IF f.role IS NULL THEN
			unlisted := pg_catalog.concat_ws(', ', unlisted, f.sig::text);
			CONTINUE;
		END IF;
		EXECUTE pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', f.sig);
		IF f.role <> 'superuser' THEN
			EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %I', f.sig, f.role);
		END IF;
	END LOOP;
	IF unlisted IS NOT NULL THEN
		RAISE EXCEPTION 'ruvector routines without a privilege decision: %', unlisted
			USING HINT = 'Add them to sql/parts/99_privileges.sql.';
	END IF;
END
$privileges$;
