# The audit trail across sessions, crashes and a streaming standby: concurrent
# appenders (some in REPEATABLE READ) keep one linear chain; an unprivileged
# caller appends; a refused change in a transaction that also holds the append
# lock is recorded after its rollback; with no worker slot, or after an
# immediate shutdown, a spooled event is appended, in order, by the next event;
# events and the key reach a standby whose verify passes; committed tampering
# (rows re-signed with a foreign key or the cluster's own, a changed payload)
# is named on both nodes; a missing or foreign key file stops appends.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('audit_primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ruvector');

my $keyfile = $primary->data_dir . '/pg_ruvector/audit_ed25519.key';
ok(-f $keyfile, 'CREATE EXTENSION created the signing key in the data directory');
is(sprintf('%o', (stat $keyfile)[2] & 07777), '600', 'key file mode 0600');
chmod 0644, $keyfile;
my ($ret, $out, $err) = $primary->psql('postgres', 'SELECT length(ruvector_audit_public_key())');
like($err, qr/WARNING:  audit key file "pg_ruvector\/audit_ed25519.key" has mode 0644; it should be 0600/,
	'a key file readable by others is reported');
chmod 0600, $keyfile;
is($primary->safe_psql('postgres',
		"SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'ruvector_audit_events'"),
	'1', 'one audit table');

# An unprivileged login role that only holds ruvector_admin appends (the
# writer switches to the extension owner) but cannot write the table.
$primary->safe_psql('postgres', 'CREATE ROLE alice LOGIN IN ROLE ruvector_admin');
is($primary->safe_psql('postgres', "SELECT ruvector_audit_log('first', 'pg_class', '{\"k\": 1}')",
		extra_params => [ '-U', 'alice' ]),
	'1', 'ruvector_admin member appends event 1');
($ret, $out, $err) = $primary->psql('postgres',
	"INSERT INTO ruvector_audit_events SELECT * FROM ruvector_audit_events",
	extra_params => [ '-U', 'alice' ]);
like($err, qr/permission denied for table ruvector_audit_events/, 'but cannot insert directly');

# Concurrent appenders, half of them in REPEATABLE READ (their snapshot is
# older than the head they must chain onto).
$primary->pgbench(
	'--no-vacuum --client=4 --transactions=25',
	0, [qr{processed: 100/100}], [qr{^$}],
	'concurrent appends',
	{
		'audit_rc' => q{SELECT ruvector_audit_log('bench_rc');},
		'audit_rr' => q{BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM ruvector_audit_events;
SELECT ruvector_audit_log('bench_rr');
SELECT ruvector_audit_log('bench_rr2');
COMMIT;},
	});
my $n = $primary->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit_events');
cmp_ok($n, '>', 100, "chain has $n events after the concurrent run");
is($primary->safe_psql('postgres', 'SELECT max(seq) = count(*) AND min(seq) = 1 FROM ruvector_audit_events'),
	't', 'seq runs 1..n without holes or duplicates');
is($primary->safe_psql('postgres', 'SELECT ok, checked, first_bad_seq FROM ruvector_audit_verify()'),
	"t|$n|", 'the concurrent chain verifies');

# A session that holds the append lock (it appended in this transaction) is
# refused a TRUNCATE: its rollback removes its own event but the refusal is
# recorded, by a worker that waited for the lock.
($ret, $out, $err) = $primary->psql('postgres', q{
BEGIN;
SELECT ruvector_audit_log('before_refusal');
TRUNCATE ruvector_audit_events;
ROLLBACK;});
like($err, qr/TRUNCATE on ruvector_audit_events is not allowed/, 'TRUNCATE refused');
ok($primary->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM ruvector_audit_events WHERE event_type = 'audit.change_refused'"),
	'the refusal is in the chain after the rollback');
is($primary->safe_psql('postgres',
		"SELECT count(*) FROM ruvector_audit_events WHERE event_type = 'manual.before_refusal'"),
	'0', 'the rolled-back event is not');
is($primary->safe_psql('postgres',
		"SELECT payload->>'operation', actor FROM ruvector_audit_events WHERE event_type = 'audit.change_refused'"),
	'TRUNCATE|' . $primary->safe_psql('postgres', 'SELECT current_user'), 'with its operation and actor');

# A burst of 200 refusals (each in a subtransaction that rolls back): all
# recorded, in the order they happened, by one worker at a time (never out
# of worker slots), not one worker per refusal.
$primary->safe_psql('postgres', q{
DO $$
BEGIN
	FOR i IN 1..200 LOOP
		BEGIN
			TRUNCATE ruvector_audit_events;
		EXCEPTION WHEN insufficient_privilege THEN NULL;
		END;
	END LOOP;
END
$$;});
ok($primary->poll_query_until('postgres',
		"SELECT count(*) = 201 FROM ruvector_audit_events WHERE event_type = 'audit.change_refused'"),
	'all 200 refusals of the burst recorded');
is($primary->safe_psql('postgres', q{
SELECT bool_and(ordered) FROM (
	SELECT spool_id > lag(spool_id) OVER (ORDER BY seq) AS ordered
	FROM ruvector_audit_events WHERE spool_id IS NOT NULL) s}),
	't', 'in the order they were spooled');
unlike(slurp_file($primary->logfile), qr/no background worker slot/,
	'the burst never ran out of worker slots');
is($primary->safe_psql('postgres', 'SELECT ok FROM ruvector_audit_verify()'), 't',
	'chain verifies after the burst');

# The standby, from a base backup (which carries pg_ruvector/).
$primary->backup('audit_backup');
my $standby = PostgreSQL::Test::Cluster->new('audit_standby');
$standby->init_from_backup($primary, 'audit_backup', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', "SELECT ruvector_audit_log('after_backup')");
$primary->wait_for_catchup($standby);
my $total = $primary->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit_events');
is($standby->safe_psql('postgres', 'SELECT ok, checked FROM ruvector_audit_verify()'),
	"t|$total", 'verify passes on the standby');
is($standby->safe_psql('postgres', 'SELECT ruvector_audit_public_key()'),
	$primary->safe_psql('postgres', 'SELECT ruvector_audit_public_key()'),
	'same public key on both');

# Server log: one JSON line per committed event, and the spooled refusal.
my $log = slurp_file($primary->logfile);
like($log, qr/LOG:  \{"ruvector_audit":"committed","database":"postgres","seq":1,"time":"[^"]+Z","actor":"alice","event_type":"manual.first","target_oid":1259,"target":"pg_catalog.pg_class","payload":\{"k": 1\},"spool_id":null,"hash":"[0-9a-f]{64}"\}/,
	'committed event 1 logged as JSON');
like($log, qr/LOG:  \{"ruvector_audit":"spooled",.*"event_type":"audit.change_refused"/,
	'refusal logged at once as spooled');
unlike($log, qr/"committed".*"manual.before_refusal"/, 'rolled-back event never logged as committed');

# Tampering rolled back (the superuser disables the guard): named on the spot.
for my $case (
	[ 'payload changed', "UPDATE ruvector_audit_events SET payload = '{\"k\": 2}' WHERE seq = 1", 1 ],
	[ 'row deleted', 'DELETE FROM ruvector_audit_events WHERE seq = 5', 6 ],
	[ 'seq swapped',
		'UPDATE ruvector_audit_events SET seq = -seq WHERE seq IN (7, 8); '
		  . 'UPDATE ruvector_audit_events SET seq = CASE seq WHEN -7 THEN 8 ELSE 7 END WHERE seq < 0', 7 ])
{
	my ($name, $sql, $bad) = @$case;
	is($primary->safe_psql('postgres', qq{
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
$sql;
SELECT ok, first_bad_seq FROM ruvector_audit_verify();
ROLLBACK;}), "f|$bad", "$name: row $bad named");
}

# The key file gone, or holding another key: appends are refused (and no new
# key is made) rather than signing under a key the trail does not know.
move($keyfile, "$keyfile.orig") or die "move: $!";
($ret, $out, $err) = $primary->psql('postgres', "SELECT ruvector_audit_log('no_key')");
like($err, qr/audit key file "pg_ruvector\/audit_ed25519.key" does not exist, but the audit trail already has \d+ events/,
	'append refused while the key file is missing');
ok(!-e $keyfile, 'and no new key was made');
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $foreign_seed = join('', map { sprintf('%02x', int(rand(256))) } 1 .. 32);
open(my $fh, '>', $keyfile) or die;
print $fh "ruvector-audit-ed25519-v1\n$foreign_seed\n";
close $fh;
chmod 0600, $keyfile;
($ret, $out, $err) = $primary->psql('postgres', "SELECT ruvector_audit_log('other_key')");
like($err, qr/holds another key than the one that signed audit event \d+/,
	'append refused while the key file holds another key');
like($primary->safe_psql('postgres', 'SELECT ok, first_bad_seq, problem FROM ruvector_audit_verify()'),
	qr/^f\|1\|row 1 was signed with another key/, 'verify under a foreign key file names row 1');
move("$keyfile.orig", $keyfile) or die "move: $!";
is($primary->safe_psql('postgres', 'SELECT ok FROM ruvector_audit_verify()'), 't',
	'the original key file back: the chain verifies');

# Re-signing a changed row, by hand (the canonical encoding rebuilt here, the
# signature made by openssl): with a foreign key the row is named; with the
# cluster's own key (read from the file) the row verifies and the next one is
# named, because its prev_hash no longer matches.
sub encode_row
{
	my ($node, $seq, $payload, $signer_hex) = @_;
	my $r = $node->safe_psql('postgres', qq{
SELECT ((extract(epoch FROM event_time) - 946684800) * 1000000)::bigint, actor, event_type,
	encode(prev_hash, 'hex')
FROM ruvector_audit_events WHERE seq = $seq AND target_oid IS NULL AND spool_id IS NULL});
	my ($time_us, $actor, $type, $prev) = split /\|/, $r;
	die "row $seq unsuitable" unless defined $prev;
	my $str = sub { pack('CN', 1, length($_[0])) . $_[0] };
	return 'RVAUDIT1' . pack('q>', $seq) . pack('q>', $time_us) . pack('N', 0)
	  . $str->($actor) . $str->($type) . pack('CN', 0, 0) . $str->($payload)
	  . pack('CN', 0, 0) . pack('H*', $prev) . pack('H*', $signer_hex);
}

sub ed25519_sign
{
	my ($seed_hex, $msg) = @_;
	my $der = "$tmp/key.der";
	open(my $k, '>:raw', $der) or die;
	print $k pack('H*', '302e020100300506032b657004220420' . $seed_hex);
	close $k;
	open(my $m, '>:raw', "$tmp/msg.bin") or die;
	print $m $msg;
	close $m;
	system('openssl', 'pkeyutl', '-sign', '-rawin', '-keyform', 'DER', '-inkey', $der,
		'-in', "$tmp/msg.bin", '-out', "$tmp/sig.bin") == 0 or die 'openssl failed';
	return unpack('H*', slurp_file("$tmp/sig.bin"));
}

sub ed25519_public
{
	my ($seed_hex) = @_;
	open(my $k, '>:raw', "$tmp/key.der") or die;
	print $k pack('H*', '302e020100300506032b657004220420' . $seed_hex);
	close $k;
	system("openssl pkey -inform DER -in $tmp/key.der -pubout -outform DER -out $tmp/pub.der") == 0
	  or die 'openssl failed';
	return substr(unpack('H*', slurp_file("$tmp/pub.der")), -64);
}

my $k = $primary->safe_psql('postgres',
	"SELECT min(seq) FROM ruvector_audit_events WHERE event_type = 'manual.bench_rc'");
my $cluster_pk = substr($primary->safe_psql('postgres', 'SELECT ruvector_audit_public_key()'), 2);
my $cluster_seed = (split /\n/, slurp_file($keyfile))[1];
is(ed25519_public($cluster_seed), $cluster_pk, 'openssl derives the same public key from the key file');
my $changed = '{"changed": true}';

my $foreign_pk = ed25519_public($foreign_seed);
my $sig = ed25519_sign($foreign_seed, encode_row($primary, $k, $changed, $foreign_pk));
like($primary->safe_psql('postgres', qq{
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET payload = '$changed', signer = '\\x$foreign_pk',
	signature = '\\x$sig' WHERE seq = $k;
SELECT ok, first_bad_seq, problem FROM ruvector_audit_verify();
ROLLBACK;}), qr/^f\|$k\|row $k was signed with another key/, "row $k re-signed with a foreign key is named");

$sig = ed25519_sign($cluster_seed, encode_row($primary, $k, $changed, $cluster_pk));
my $next = $k + 1;
like($primary->safe_psql('postgres', qq{
BEGIN;
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET payload = '$changed', signature = '\\x$sig' WHERE seq = $k;
SELECT ok, first_bad_seq, problem FROM ruvector_audit_verify();
ROLLBACK;}), qr/^f\|$next\|prev_hash does not match the hash of row $k/,
	"row $k re-signed with the cluster's key: row $next is named");

# Committed: the foreign-signed row, seen on the standby too.
$primary->safe_psql('postgres', qq{
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET payload = '$changed', signer = '\\x$foreign_pk' WHERE seq = $k;
ALTER TABLE ruvector_audit_events ENABLE ALWAYS TRIGGER ruvector_audit_append_only;});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT ok, first_bad_seq FROM ruvector_audit_verify()'),
	"f|$k", 'and named on the standby');
like($primary->safe_psql('postgres', q{
SELECT actor || ' ' || (payload->>'statement') FROM ruvector_audit_events
WHERE event_type = 'audit.table_altered' ORDER BY seq DESC LIMIT 1 OFFSET 1}),
	qr/^\S+ \s*ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only/,
	'switching the guard off was recorded, with who and the statement');

# A committed payload change of an earlier row: now that row comes first.
$primary->safe_psql('postgres', q{
ALTER TABLE ruvector_audit_events DISABLE TRIGGER ruvector_audit_append_only;
UPDATE ruvector_audit_events SET payload = '{"k": 3}' WHERE seq = 1;
ALTER TABLE ruvector_audit_events ENABLE ALWAYS TRIGGER ruvector_audit_append_only;});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT ok, first_bad_seq FROM ruvector_audit_verify()'),
	'f|1', 'changed payload of row 1 named on the standby');
$standby->stop;
$primary->stop;

# No worker slot: the refusal stays in the spool (durably: it survives an
# immediate shutdown) and the next event of the database appends it first.
my $lone = PostgreSQL::Test::Cluster->new('audit_noworkers');
$lone->init;
$lone->append_conf('postgresql.conf', 'max_worker_processes = 0');
$lone->start;
$lone->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$lone->psql('postgres', 'BEGIN; TRUNCATE ruvector_audit_events; ROLLBACK;');
my $dboid = $lone->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'postgres'");
my $spool = $lone->data_dir . "/pg_ruvector/audit_spool/$dboid";
my @files = glob("$spool/*.ev");
is(scalar @files, 1, 'one spooled event');
is($lone->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit_events'), '0',
	'not appended without a worker');
$lone->stop('immediate');
$lone->start;
is($lone->safe_psql('postgres', "SELECT ruvector_audit_log('next')"), '2',
	'the next event gets seq 2');
is($lone->safe_psql('postgres', 'SELECT seq, event_type FROM ruvector_audit_events ORDER BY seq'),
	"1|audit.change_refused\n2|manual.next", 'the spooled refusal went first');
@files = glob("$spool/*.ev");
is(scalar @files, 0, 'spool file removed after the commit');
is($lone->safe_psql('postgres', 'SELECT ok, checked FROM ruvector_audit_verify()'), 't|2',
	'chain verifies');
$lone->stop;

done_testing();
