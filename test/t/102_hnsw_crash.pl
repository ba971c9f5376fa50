# HNSW crash safety: immediate shutdowns while clients insert, while an
# index is built and while VACUUM repairs the graph.  After recovery the
# index must verify cleanly and give the exact nearest neighbours (the
# tables are small and ef_search large, so the search is exhaustive).
# wal_consistency_checking compares every replayed generic WAL record with
# the page the primary wrote.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $dim = 4;
my $array_sql = join(',', ('random()') x $dim);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', qq(
wal_consistency_checking = 'generic'
max_connections = 30
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');

# The index answers like a sequential scan for a few random queries
sub check_exact
{
	my ($table, $label) = @_;
	# An extension whose record the crash cut off leaves an empty page
	# outside the chain; verify reports it as a warning, not an error.
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM ruvector_hnsw_verify('${table}_idx') WHERE severity = 'error'"),
		'0', "$label: index verifies");
	my $mismatches = 0;
	for my $q (1 .. 10)
	{
		my $query = '[' . join(',', map { rand() } 1 .. $dim) . ']';
		my $sql = "SELECT string_agg(round((v <-> '$query')::numeric, 6)::text, ',') FROM "
		  . "(SELECT v FROM $table ORDER BY v <-> '$query' LIMIT 10) r";
		my $exact = $node->safe_psql('postgres', "SET enable_indexscan = off; $sql");
		my $indexed = $node->safe_psql('postgres',
			"SET enable_seqscan = off; SET hnsw.ef_search = 1000; $sql");
		$mismatches++ if $exact ne $indexed;
	}
	is($mismatches, 0, "$label: index results equal exact results");
}

# Run pgbench for a while in the background
sub start_pgbench
{
	my ($script, $clients) = @_;
	my $file = $node->basedir . '/script.sql';
	open(my $fh, '>', $file) or die;
	print $fh $script;
	close $fh;
	my ($out, $err) = ('', '');
	return IPC::Run::start(
		[ 'pgbench', '--no-vacuum', "--client=$clients", '--time=60', '-f', $file,
		  '-h', $node->host, '-p', $node->port, 'postgres' ],
		'>', \$out, '2>', \$err);
}

# 1. Crash during concurrent inserts (and searches)
$node->safe_psql('postgres', "CREATE TABLE ins (id serial, v vector($dim))");
$node->safe_psql('postgres', "INSERT INTO ins (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 3000)");
$node->safe_psql('postgres', 'CREATE INDEX ins_idx ON ins USING hnsw (v vector_l2_ops)');
my $bench = start_pgbench(qq(
INSERT INTO ins (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 5);
SELECT id FROM ins ORDER BY v <-> (SELECT ARRAY[$array_sql]::vector) LIMIT 5;
), 6);
sleep 4;
$node->stop('immediate');
$bench->kill_kill;
$node->start;
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM ins'), '>', 3000, 'inserts happened before the crash');
check_exact('ins', 'after a crash during inserts');

# The index keeps working: more inserts, then compare again
$node->safe_psql('postgres', "INSERT INTO ins (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 500)");
check_exact('ins', 'inserts after recovery');

# 2. Crash during VACUUM's repairs
$node->safe_psql('postgres', 'DELETE FROM ins WHERE id % 3 = 0');
my $vacuum = IPC::Run::start(
	[ 'psql', '-X', '-h', $node->host, '-p', $node->port, '-c', 'VACUUM ins', 'postgres' ],
	'>', \my $vout, '2>', \my $verr);
sleep 1;
$node->stop('immediate');
$vacuum->kill_kill;
$node->start;
check_exact('ins', 'after a crash during VACUUM');
$node->safe_psql('postgres', 'VACUUM ins');
check_exact('ins', 'VACUUM after recovery');

# 3. Crash during CREATE INDEX: the index must not exist afterwards
$node->safe_psql('postgres', "CREATE TABLE bld (id serial, v vector($dim))");
$node->safe_psql('postgres', "INSERT INTO bld (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 100000)");
my $build = IPC::Run::start(
	[ 'psql', '-X', '-h', $node->host, '-p', $node->port, '-c',
	  'CREATE INDEX bld_idx ON bld USING hnsw (v vector_l2_ops)', 'postgres' ],
	'>', \my $bout, '2>', \my $berr);
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_progress_create_index WHERE relid = 'bld'::regclass")
  or die 'the build did not start';
$node->stop('immediate');
$build->kill_kill;
$node->start;
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'bld_idx'"),
	'0', 'an interrupted build leaves no index');
$node->safe_psql('postgres', 'DELETE FROM bld WHERE id > 3000');
$node->safe_psql('postgres', 'VACUUM bld');
$node->safe_psql('postgres', 'CREATE INDEX bld_idx ON bld USING hnsw (v vector_l2_ops)');
check_exact('bld', 'index built after the crash');

# 4. A crash right after a build and a burst of inserts: nothing may depend
# on pages that were only in shared buffers
$node->safe_psql('postgres', "INSERT INTO bld (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 1000)");
$node->stop('immediate');
$node->start;
check_exact('bld', 'after a crash following inserts');

$node->stop;
done_testing();
