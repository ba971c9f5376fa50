# The background worker (shared_preload_libraries = 'ruvector'): the
# launcher starts a worker per database; it refreshes, by itself, an
# ivfflat index whose drift passed ruvector.ivf_refresh_threshold, in any
# database that has the extension, and leaves alone an index that did not
# drift and a database without the extension.  A reload that sets the
# threshold to 0 stops automatic refreshes (SIGHUP); SIGTERM at shutdown
# ends the workers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 8;
my $array_sql = join(',', ('random()') x $dim);
my $shifted_sql = join(',', ('4 + random()') x $dim);
my $other_sql = join(',', ('-4 + random()') x $dim);

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'ruvector'
ruvector.worker_naptime = 1
ruvector.ivf_refresh_threshold = 1.5
));
$node->start;

ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'ruvector maintenance launcher'"),
	'the launcher runs');

# Two databases with the extension, one without.
$node->safe_psql('postgres', 'CREATE DATABASE db2');
$node->safe_psql('postgres', 'CREATE DATABASE plain');
for my $db ('postgres', 'db2')
{
	$node->safe_psql($db, qq(
		CREATE EXTENSION ruvector;
		CREATE TABLE tst (id serial, v vector($dim));
		INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 3000);
		CREATE INDEX drifting ON tst USING ivfflat (v) WITH (lists = 10);
		CREATE TABLE calm (id serial, v vector($dim));
		INSERT INTO calm (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 3000);
		CREATE INDEX steady ON calm USING ruivfflat (v) WITH (lists = 10);
	));
}

sub refreshes
{
	my ($db, $index) = @_;
	return $node->safe_psql($db, "SELECT refreshes FROM ruvector_ivf_stats('$index')");
}

# Rows like the build's in calm, far ones in tst.
for my $db ('postgres', 'db2')
{
	$node->safe_psql($db, qq(
		INSERT INTO calm (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 1000);
		INSERT INTO tst (v) SELECT ARRAY[$shifted_sql] FROM generate_series(1, 3000);
	));
}

for my $db ('postgres', 'db2')
{
	ok($node->poll_query_until($db, "SELECT refreshes = 1 FROM ruvector_ivf_stats('drifting')"),
		"$db: the worker refreshed the drifted index by itself");
	is($node->safe_psql($db, "SELECT drift FROM ruvector_ivf_stats('drifting')"), '1',
		"$db: drift is back to 1");
	is(refreshes($db, 'steady'), '0', "$db: the index that did not drift was left alone");
	is($node->safe_psql($db, qq(
		SET enable_seqscan = off; SET ivfflat.probes = 10;
		SELECT count(*) FROM (SELECT id FROM tst ORDER BY v <-> (SELECT NULL::vector)) s;
	)), '6000', "$db: the refreshed index has every row");
}

my $log = slurp_file($node->logfile);
like($log, qr/refreshed ivfflat index public\.drifting in database "postgres": drift [0-9.]+ reached 1\.5/,
	'the worker logged the refresh in postgres');
like($log, qr/refreshed ivfflat index public\.drifting in database "db2"/,
	'the worker logged the refresh in db2');
unlike($log, qr/refreshed ivfflat index public\.steady/, 'nothing logged about the steady index');
unlike($log, qr/in database "plain"/, 'nothing done in a database without the extension');

# A reload that turns automatic refreshes off: more drift, no refresh.
$node->safe_psql('postgres', 'ALTER SYSTEM SET ruvector.ivf_refresh_threshold = 0');
$node->reload;
sleep(2);
$node->safe_psql('postgres', "INSERT INTO tst (v) SELECT ARRAY[$other_sql] FROM generate_series(1, 4000)");
sleep(4);
is(refreshes('postgres', 'drifting'), '1', 'with the threshold at 0 the worker refreshes nothing');
cmp_ok($node->safe_psql('postgres', "SELECT drift FROM ruvector_ivf_stats('drifting')"), '>', 1.5,
	'although the index drifted again');

# Back on: the worker picks it up on its next round.
$node->safe_psql('postgres', 'ALTER SYSTEM SET ruvector.ivf_refresh_threshold = 1.5');
$node->reload;
ok($node->poll_query_until('postgres', "SELECT refreshes = 2 FROM ruvector_ivf_stats('drifting')"),
	'after a reload the worker refreshes again');

unlike(slurp_file($node->logfile), qr/terminated by signal|exited with exit code [^0]/,
	'no worker crashed or failed');

# A fast shutdown ends the launcher and its workers (SIGTERM).
$node->stop('fast');
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'the shutdown was clean');
done_testing();
