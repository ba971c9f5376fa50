-- The signed, hash-chained audit trail (src/audit, docs/security.md).
-- New in 0.2.0: the upgrade from 0.1.0 runs this same file (Makefile, UPDATE_PARTS).

-- One row per event, appended only by the extension (audit.c): each row is
-- signed with the cluster's Ed25519 key over its canonical encoding, which
-- includes prev_hash, the hash of the row before it, and signer, the public
-- key it is signed with.
CREATE TABLE ruvector_audit_events (
	seq bigint PRIMARY KEY,
	event_time timestamptz NOT NULL,
	actor text NOT NULL,
	event_type text NOT NULL,
	target_oid oid,
	target_name text,
	payload jsonb NOT NULL,
	spool_id text UNIQUE,
	prev_hash bytea NOT NULL,
	signer bytea NOT NULL,
	signature bytea NOT NULL
);
COMMENT ON TABLE ruvector_audit_events IS
	'RuVector audit trail: append-only, hash-chained, Ed25519-signed; check it with ruvector_audit_verify()';

CREATE FUNCTION ruvector_audit_guard() RETURNS trigger
	AS 'MODULE_PATHNAME', 'ruvector_audit_guard' LANGUAGE C;
-- INSERT only from the extension; UPDATE, DELETE, TRUNCATE never.  ALWAYS:
-- session_replication_role = replica does not switch them off.
CREATE TRIGGER ruvector_audit_append_only
	BEFORE INSERT OR UPDATE OR DELETE ON ruvector_audit_events
	FOR EACH ROW EXECUTE FUNCTION ruvector_audit_guard();
CREATE TRIGGER ruvector_audit_no_truncate
	BEFORE TRUNCATE ON ruvector_audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION ruvector_audit_guard();
ALTER TABLE ruvector_audit_events ENABLE ALWAYS TRIGGER ruvector_audit_append_only;
ALTER TABLE ruvector_audit_events ENABLE ALWAYS TRIGGER ruvector_audit_no_truncate;

-- DDL on the table (ALTER TABLE ... DISABLE TRIGGER among it) is itself
-- recorded, with the statement, whoever runs it.
CREATE FUNCTION ruvector_audit_ddl() RETURNS event_trigger
	AS 'MODULE_PATHNAME', 'ruvector_audit_ddl' LANGUAGE C;
CREATE EVENT TRIGGER ruvector_audit_ddl ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER', 'CREATE RULE')
	EXECUTE FUNCTION ruvector_audit_ddl();
ALTER EVENT TRIGGER ruvector_audit_ddl ENABLE ALWAYS;

-- Nobody writes it; ruvector_operator (and so ruvector_admin) reads it.
REVOKE ALL ON TABLE ruvector_audit_events FROM PUBLIC;
GRANT SELECT ON TABLE ruvector_audit_events TO ruvector_operator;

CREATE FUNCTION ruvector_audit_public_key() RETURNS bytea
	AS 'MODULE_PATHNAME', 'ruvector_audit_public_key' LANGUAGE C VOLATILE STRICT;
CREATE FUNCTION ruvector_audit_verify(OUT ok boolean, OUT checked bigint,
		OUT first_bad_seq bigint, OUT problem text, OUT last_seq bigint, OUT last_hash bytea)
	RETURNS record
	AS 'MODULE_PATHNAME', 'ruvector_audit_verify' LANGUAGE C VOLATILE;
CREATE FUNCTION ruvector_audit_log(event_type text, target regclass DEFAULT NULL,
		payload jsonb DEFAULT '{}')
	RETURNS bigint
	AS 'MODULE_PATHNAME', 'ruvector_audit_log' LANGUAGE C VOLATILE;

-- Create the cluster's signing key now, so that a base backup taken after
-- the installation carries it to the standby (pg_ruvector/ in PGDATA).
DO $audit_key$
BEGIN
	PERFORM ruvector_audit_public_key();
END
$audit_key$;
