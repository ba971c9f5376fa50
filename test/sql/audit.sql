-- The signed, hash-chained audit trail (src/audit): who may do what, the
-- append-only guard, rollbacks leave no hole, a refused change is recorded
-- even though its transaction rolls back, and verify names the first bad
-- row of a tampered chain.  Seq numbers are shown relative to the chain's
-- head at the start (other test files may have appended events before).
SELECT coalesce(max(seq), 0) AS base FROM ruvector_audit_events \gset
SELECT length(ruvector_audit_public_key()) AS key_bytes,
	ruvector_audit_public_key() = ruvector_audit_public_key() AS stable;

CREATE ROLE rv_audit_nobody;
CREATE ROLE rv_audit_user IN ROLE ruvector_user;
CREATE ROLE rv_audit_op IN ROLE ruvector_operator;
CREATE ROLE rv_audit_admin IN ROLE ruvector_admin;
\set VERBOSITY sqlstate

-- A role without ruvector roles: nothing (42501).
SET ROLE rv_audit_nobody;
SELECT ruvector_audit_public_key();
SELECT * FROM ruvector_audit_verify();
SELECT ruvector_audit_log('x');
SELECT count(*) FROM ruvector_audit_events;
INSERT INTO ruvector_audit_events VALUES (1000, now(), 'me', 'x', NULL, NULL, '{}', NULL, '', '');
DELETE FROM ruvector_audit_events;
TRUNCATE ruvector_audit_events;
SELECT ruvector_audit_guard();
RESET ROLE;

-- ruvector_user: the public key only.
SET ROLE rv_audit_user;
SELECT length(ruvector_audit_public_key());
SELECT * FROM ruvector_audit_verify();
SELECT count(*) FROM ruvector_audit_events;
SELECT ruvector_audit_log('x');
RESET ROLE;

-- ruvector_operator: reads and verifies; cannot record or write.
SET ROLE rv_audit_op;
SELECT ok, problem FROM ruvector_audit_verify();
SELECT count(*) >= 0 AS readable FROM ruvector_audit_events;
SELECT ruvector_audit_log('x');
UPDATE ruvector_audit_events SET payload = '{}';
RESET ROLE;

-- ruvector_admin: records manual events, as itself; still cannot write the table.
SET ROLE rv_audit_admin;
SELECT ruvector_audit_log('maintenance_window', 'pg_class', '{"ticket": "OPS-1", "n": 1.50}') - :base AS seq;
SELECT ruvector_audit_log('note') - :base AS seq;
INSERT INTO ruvector_audit_events SELECT * FROM ruvector_audit_events LIMIT 1;
DELETE FROM ruvector_audit_events;
-- invalid event types and payloads (22023), null type (22004)
SELECT ruvector_audit_log('');
SELECT ruvector_audit_log('Upper Case');
SELECT ruvector_audit_log(repeat('x', 57));
SELECT ruvector_audit_log('x', NULL, '[1, 2]');
SELECT ruvector_audit_log('x', NULL, '"text"');
SELECT ruvector_audit_log(NULL);
-- a target that is no relation (42P01); a payload over 1 MB (54000)
SELECT ruvector_audit_log('x', 4294967295::oid::regclass);
SELECT ruvector_audit_log('x', NULL, jsonb_build_object('big', repeat('x', 1048576)));
-- a rolled-back event leaves no hole; nor does a rolled-back savepoint
BEGIN;
SELECT ruvector_audit_log('rolled_back') - :base AS seq;
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT ruvector_audit_log('in_savepoint') - :base AS seq;
ROLLBACK TO SAVEPOINT s;
SELECT ruvector_audit_log('after_savepoint') - :base AS seq;
COMMIT;
-- nested savepoints: only the events of committed (sub)transactions remain
BEGIN;
SAVEPOINT a;
SELECT ruvector_audit_log('nest_a') IS NOT NULL AS logged;
SAVEPOINT b;
SELECT ruvector_audit_log('nest_b') IS NOT NULL AS logged;
ROLLBACK TO SAVEPOINT b;
SAVEPOINT c;
SELECT ruvector_audit_log('nest_c') IS NOT NULL AS logged;
RELEASE SAVEPOINT c;
RELEASE SAVEPOINT a;
COMMIT;
-- a transaction that appended cannot be prepared (it would hold the append lock)
BEGIN;
SELECT ruvector_audit_log('prepared') - :base AS seq;
PREPARE TRANSACTION 'rv_audit_p';
RESET ROLE;
\set VERBOSITY default

SELECT seq - :base AS seq, actor, event_type, target_oid = 'pg_class'::regclass AS target_ok,
	target_name, payload, spool_id, length(prev_hash) AS prev_len, length(signature) AS sig_len
FROM ruvector_audit_events WHERE seq > :base ORDER BY seq;
SELECT ok, checked >= 3 AS checked, first_bad_seq, problem, last_seq - :base AS last_seq,
	length(last_hash) AS hash_len
FROM ruvector_audit_verify();

-- Superusers cannot change it either (the guard trigger, always enabled).
UPDATE ruvector_audit_events SET payload = '{}' WHERE seq = :base + 1;
INSERT INTO ruvector_audit_events SELECT * FROM ruvector_audit_events WHERE seq = :base + 1;
SET session_replication_role = replica;
DELETE FROM ruvector_audit_events;
RESET session_replication_role;
-- A refused change inside a transaction that rolls back is still recorded:
-- a background worker appends it from the spool (wait up to 30 s).
BEGIN;
TRUNCATE ruvector_audit_events;
ROLLBACK;
SELECT set_config('rv.base', :'base', false) IS NOT NULL AS set;
DO $$
BEGIN
	FOR i IN 1..300 LOOP
		EXIT WHEN (SELECT count(*) FROM ruvector_audit_events
				   WHERE event_type = 'audit.change_refused' AND seq > current_setting('rv.base')::bigint) >= 4;
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SELECT seq - :base AS seq, actor, event_type, target_name, payload, spool_id IS NOT NULL AS spooled
FROM ruvector_audit_events WHERE seq > :base AND event_type = 'audit.change_refused' ORDER BY seq;
SELECT ok, problem FROM ruvector_audit_verify();

-- Tampering (as superuser with the guard disabled; each rolled back): verify
-- names the first bad row.
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET payload = '{"ticket": "OPS-2", "n": 1.50}' WHERE seq = :base + 1;
SELECT ok, first_bad_seq - :base AS first_bad, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem
FROM ruvector_audit_verify();
ROLLBACK;
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
DELETE FROM ruvector_audit_events WHERE seq = :base + 2;
SELECT ok, first_bad_seq - :base AS first_bad, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem
FROM ruvector_audit_verify();
ROLLBACK;
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET seq = -seq WHERE seq IN (:base + 2, :base + 3);
UPDATE ruvector_audit_events SET seq = CASE -seq WHEN :base + 2 THEN :base + 3 ELSE :base + 2 END
	WHERE seq < 0;
SELECT ok, first_bad_seq - :base AS first_bad, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem
FROM ruvector_audit_verify();
ROLLBACK;
-- the last row's signature copied onto another row
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET signature = (SELECT signature FROM ruvector_audit_events
	WHERE seq = :base + 3) WHERE seq = :base + 2;
SELECT ok, first_bad_seq - :base AS first_bad, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem
FROM ruvector_audit_verify();
ROLLBACK;
-- a row that names another signer
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET signer = decode(repeat('ab', 32), 'hex') WHERE seq = :base + 2;
SELECT ok, first_bad_seq - :base AS first_bad, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem
FROM ruvector_audit_verify();
ROLLBACK;
-- a row whose signature is cut short
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET signature = substr(signature, 1, 10) WHERE seq = :base + 3;
SELECT ok, first_bad_seq - :base AS first_bad, regexp_replace(problem, '[0-9]+', 'N', 'g') AS problem
FROM ruvector_audit_verify();
ROLLBACK;
SELECT ok, problem FROM ruvector_audit_verify();

-- DDL on the table is itself recorded, with its statement (a no-op here);
-- the rolled-back ALTERs of the tampering above left nothing.
ALTER TABLE ruvector_audit_events ENABLE ALWAYS TRIGGER ruvector_audit_append_only;
SELECT seq - :base AS seq, event_type, actor, target_name, payload
FROM ruvector_audit_events WHERE event_type = 'audit.table_altered' AND seq > :base;
SELECT ok, problem FROM ruvector_audit_verify();

DROP ROLE rv_audit_nobody;
DROP ROLE rv_audit_user;
DROP ROLE rv_audit_op;
DROP ROLE rv_audit_admin;
