# IVFFlat centroid refresh and crashes: a refresh cut short by a crash (the
# test-only setting makes it PANIC after some pages) leaves the old lists;
# a refresh that finished is replayed by recovery; a recycle by VACUUM
# survives a crash.  Each time the index must hold exactly the table's rows
# and answer like an exact search with every list probed.  Then inserts,
# searches and refreshes run at once: no insert is lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename;
use IPC::Run;

my $dim = 8;
my $lists = 16;
my $array_sql = join(',', ('random()') x $dim);
my $shifted_sql = join(',', ('3 + random()') x $dim);

my $node = PostgreSQL::Test::Cluster->new('refresh_crash');
$node->init;
$node->append_conf('postgresql.conf', qq(
checkpoint_timeout = 30s
max_wal_size = 64MB
restart_after_crash = on
));
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', slurp_file(dirname(__FILE__) . '/ivfflat_eval.sql'));
$node->safe_psql('postgres', qq(
	CREATE TABLE queries (qid int, v vector($dim));
	INSERT INTO queries SELECT q, ARRAY[$array_sql] FROM generate_series(1, 10) q;
	INSERT INTO queries SELECT q, ARRAY[$shifted_sql] FROM generate_series(11, 20) q;
	CREATE TABLE tst (id serial PRIMARY KEY, v vector($dim));
	INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 4000);
	CREATE INDEX idx ON tst USING ivfflat (v vector_l2_ops) WITH (lists = $lists);
	INSERT INTO tst (v) SELECT ARRAY[$shifted_sql] FROM generate_series(1, 4000);
));

sub ivf_stat
{
	my ($col) = @_;
	return $node->safe_psql('postgres', "SELECT $col FROM ruvector_ivf_stats('idx')");
}

sub check_exact
{
	my ($label) = @_;
	my $by_index = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off; SET enable_bitmapscan = off; SET ivfflat.probes = $lists;
		SELECT count(*) FROM (SELECT id FROM tst ORDER BY v <-> (SELECT NULL::vector)) s;
	));
	is($by_index, $node->safe_psql('postgres', 'SELECT count(*) FROM tst'),
		"$label: the index has every row");
	is(ivf_stat('entries'), $by_index, "$label: the lists hold every row");
	is($node->safe_psql('postgres', "SELECT exact FROM ivf_eval('v', '<->', 'v', $lists, 10)"),
		't', "$label: all lists probed give the exact nearest");
}

check_exact('before any refresh');
my $drift = ivf_stat('drift');
cmp_ok($drift, '>', 2, 'the inserted rows drifted');

# A crash in the middle of a refresh: a PANIC once 20 pages of the new
# lists are written (and WAL-logged), before the switch.
my ($stdout, $stderr) = ('', '');
$node->psql('postgres', qq(
	SET ruvector.ivf_refresh_test_fail_pages = 20;
	SET ruvector.ivf_refresh_test_fail_panic = on;
	SELECT ruvector_ivf_refresh('idx');
), stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/stopped after 20 pages|server closed the connection/, 'the refresh crashed the server');
$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
ok(slurp_file($node->logfile) =~ /all server processes terminated; reinitializing/,
	'the server went through crash recovery');
is(ivf_stat('refreshes'), '0', 'after a crash mid-refresh: no refresh happened');
is(ivf_stat('drift'), $drift, 'after a crash mid-refresh: the drift figures are the same');
check_exact('after a crash mid-refresh');

# A finished refresh, then an immediate shutdown: recovery replays the
# new pages and the switch.
is($node->safe_psql('postgres', "SELECT ruvector_ivf_refresh('idx')"), '8000', 'a refresh writes every row');
$node->stop('immediate');
$node->start;
is(ivf_stat('refreshes'), '1', 'after a crash following a refresh: the refresh is there');
is(ivf_stat('drift'), '1', 'after a crash following a refresh: drift is back to 1');
check_exact('after a crash following a refresh');

# VACUUM recycles the old lists; a crash right after; the pages are reused
# by inserts and by the next refresh.
$node->safe_psql('postgres', 'VACUUM tst');
is(ivf_stat('recycle_pending'), 'f', 'VACUUM recycled the replaced lists');
$node->stop('immediate');
$node->start;
is(ivf_stat('recycle_pending'), 'f', 'after a crash following VACUUM: nothing pending');
$node->safe_psql('postgres', qq(
	INSERT INTO tst (v) SELECT ARRAY[$shifted_sql] FROM generate_series(1, 2000);
	DELETE FROM tst WHERE id % 5 = 0;
	VACUUM tst;
	SELECT ruvector_ivf_refresh('idx');
));
check_exact('after inserts, deletes, VACUUM and a refresh reusing pages');

# Lock levels: a refresh holds ShareRowExclusiveLock on the index until its
# transaction ends; meanwhile scans run, and inserts wait (here until a
# lock_timeout) rather than write into lists being replaced.
my $holder = $node->background_psql('postgres');
$holder->query_safe("BEGIN; SELECT ruvector_ivf_refresh('idx');");
is($node->safe_psql('postgres', qq(
	SET enable_seqscan = off; SET lock_timeout = '5s';
	SELECT count(*) FROM (SELECT id FROM tst ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 7) s;
)), '7', 'a scan runs while a refresh holds the index');
my ($ins_ok, $ins_err) = ('', '');
$node->psql('postgres', qq(
	SET lock_timeout = '300ms';
	INSERT INTO tst (v) VALUES (ARRAY[$array_sql]);
), stdout => \$ins_ok, stderr => \$ins_err);
like($ins_err, qr/lock timeout/, 'an insert waits for the refresh');
$holder->query_safe('COMMIT');
$holder->quit;
$node->safe_psql('postgres', "INSERT INTO tst (v) VALUES (ARRAY[$array_sql])");
check_exact('after the refresh committed and an insert followed');

# Concurrency: 3 clients insert (and search) while another refreshes in a
# loop; readers keep working, and no insert is lost.
my $script = $node->basedir . '/insert.sql';
PostgreSQL::Test::Utils::append_to_file($script, qq(
INSERT INTO tst (v) SELECT ARRAY[$shifted_sql] FROM generate_series(1, 5);
SELECT id FROM tst ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 5;
));
my $refresh_script = $node->basedir . '/refresh.sql';
PostgreSQL::Test::Utils::append_to_file($refresh_script, "SELECT ruvector_ivf_refresh('idx');\n");
my ($out, $err, $rout, $rerr) = ('', '', '', '');
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM tst');
my $bench = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', '--client=3', '--transactions=200', "--file=$script",
	  $node->connstr('postgres') ],
	'>', \$out, '2>', \$err);
my $refresher = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', '--client=1', '--transactions=8', "--file=$refresh_script",
	  $node->connstr('postgres') ],
	'>', \$rout, '2>', \$rerr);
$bench->finish;
$refresher->finish;
is($bench->result(0), 0, 'inserts and searches ran without error') or diag($err);
is($refresher->result(0), 0, 'refreshes ran without error') or diag($rerr);
is($node->safe_psql('postgres', 'SELECT count(*) FROM tst'), $before + 3000, 'every insert is in the table');
cmp_ok(ivf_stat('refreshes'), '>=', 8, 'the refreshes happened');
check_exact('after concurrent inserts and refreshes');

# An index built before drift tracking (metapage format version 1: the
# metapage ends after the storage field) is still read and written; it
# reports no drift, and a refresh rewrites it as version 2.  The metapage
# is turned into a version 1 one on disk while the server is down (no
# checksums in this cluster).
my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('idx')");
$node->stop;
{
	open(my $fh, '+<', $path) or die "cannot open $path: $!";
	binmode $fh;
	# version (uint32) at 28: page header 24 bytes, then magic, version
	seek($fh, 28, 0);
	print $fh pack('L', 1);
	# the version 2 fields after storage (offset 48) back to zero
	seek($fh, 48, 0);
	print $fh "\0" x 64;
	# pd_lower (uint16 at 12) at the end of the version 1 fields
	seek($fh, 12, 0);
	print $fh pack('S', 48);
	close($fh);
}
$node->start;
is($node->safe_psql('postgres', "SELECT version, drift IS NULL, refreshes FROM ruvector_ivf_stats('idx')"),
	'1|t|0', 'a version 1 index is read, with no drift figures');
$node->safe_psql('postgres', "INSERT INTO tst (v) SELECT ARRAY[$shifted_sql] FROM generate_series(1, 500)");
is(ivf_stat('inserted'), '0', 'inserts into a version 1 index are not counted');
check_exact('a version 1 index after inserts');
$node->safe_psql('postgres', "SELECT ruvector_ivf_refresh('idx')");
is($node->safe_psql('postgres', "SELECT version, drift, refreshes FROM ruvector_ivf_stats('idx')"),
	'2|1|1', 'a refresh rewrites it as version 2');
$node->safe_psql('postgres', "INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 100)");
is(ivf_stat('inserted'), '100', 'and inserts are counted again');
$node->stop('immediate');
$node->start;
is(ivf_stat('version'), '2', 'the upgrade survives a crash');
check_exact('after the upgrade and a crash');

$node->stop;
done_testing();
