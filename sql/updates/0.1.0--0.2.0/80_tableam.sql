-- ruvector_heap and tiers, 0.1.0 -> 0.2.0 (sql/parts/80_tableam.sql).
--
-- ruvector_tiers runs with the querying role's rights (security_invoker),
-- and only the roles that may call ruvector_tier_report may read it.
ALTER VIEW ruvector_tiers SET (security_invoker = true);
REVOKE ALL ON ruvector_tiers FROM PUBLIC;
GRANT SELECT ON ruvector_tiers TO ruvector_operator;

-- PQ codebooks hold averages of a table's vectors: ruvector_admin only.
REVOKE SELECT ON ruvector_codebooks FROM PUBLIC;
GRANT SELECT ON ruvector_codebooks TO ruvector_admin;
