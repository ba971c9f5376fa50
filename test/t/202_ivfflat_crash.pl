# IVFFlat crash safety: an immediate shutdown while inserts run (extending
# list chains) or while an index is being built, then recovery.  After
# recovery the index must hold exactly the table's committed rows and answer
# like an exact search when every list is probed; it must keep working for
# inserts and VACUUM.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename;
use IPC::Run;

my $dim = 8;
my $lists = 20;
my $array_sql = join(',', ('random()') x $dim);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
# Checkpoints mid-run, so that recovery replays records on top of
# full-page images as well as on pages flushed before the crash.
$node->append_conf('postgresql.conf', qq(
checkpoint_timeout = 30s
max_wal_size = 64MB
));
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', slurp_file(dirname(__FILE__) . '/ivfflat_eval.sql'));
$node->safe_psql('postgres', qq(
	CREATE TABLE queries (qid int, v vector($dim));
	INSERT INTO queries SELECT q, ARRAY[$array_sql] FROM generate_series(1, 20) q;
));
$node->safe_psql('postgres', "CREATE TABLE tst (id serial PRIMARY KEY, v vector($dim))");
$node->safe_psql('postgres',
	"INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 5000)");
$node->safe_psql('postgres',
	"CREATE INDEX idx ON tst USING ivfflat (v vector_l2_ops) WITH (lists = $lists)");

# Rows reached through the index (all lists) and through the table.
sub counts_match
{
	my $by_index = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off; SET enable_bitmapscan = off; SET ivfflat.probes = $lists;
		SELECT count(*) FROM (SELECT id FROM tst ORDER BY v <-> (SELECT NULL::vector)) s;
	));
	my $by_table = $node->safe_psql('postgres', 'SELECT count(*) FROM tst');
	return ($by_index, $by_table);
}

sub check_exact
{
	my ($label) = @_;
	my ($by_index, $by_table) = counts_match();
	is($by_index, $by_table, "$label: the index has every committed row");
	is($node->safe_psql('postgres', "SELECT exact FROM ivf_eval('v', '<->', 'v', $lists, 10)"),
		't', "$label: all lists probed give the exact nearest");
}

# Inserts from 4 clients (10 rows a transaction, enough to extend every
# list's chain many times), then a crash while they run.
my $script = $node->basedir . '/insert.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 10);\n");
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', '--client=4', '--time=60', "--file=$script",
	  $node->connstr('postgres') ],
	'>', \$out, '2>', \$err);

$node->poll_query_until('postgres', 'SELECT count(*) > 20000 FROM tst')
  or die 'inserts did not progress';
$node->stop('immediate');
$bench->finish;

$node->start;
check_exact('after a crash during inserts');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM tst'), '>', 20000, 'rows were inserted before the crash');

# The recovered index takes inserts and VACUUM.
$node->safe_psql('postgres', qq(
	INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 1000);
	DELETE FROM tst WHERE id % 5 = 0;
	VACUUM tst;
	INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 1000);
));
check_exact('after inserts, deletes and VACUUM on the recovered index');

# A crash in the middle of CREATE INDEX: no index afterwards, and a new
# build works.  The indexed expression sleeps a little per row, so that the
# build is still running when the server goes down.
$node->safe_psql('postgres', qq(
	DROP INDEX idx;
	CREATE FUNCTION slow(vector) RETURNS vector IMMUTABLE LANGUAGE plpgsql AS
	\$\$ BEGIN PERFORM pg_sleep(0.0005); RETURN \$1; END \$\$;
));
($out, $err) = ('', '');
my $build = IPC::Run::start(
	[ 'psql', '-X', '-c', "CREATE INDEX idx ON tst USING ivfflat ((slow(v)::vector($dim))) WITH (lists = $lists)",
	  $node->connstr('postgres') ],
	'>', \$out, '2>', \$err);
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_progress_create_index WHERE relid = 'tst'::regclass")
  or die 'the build did not start';
sleep(1);
$node->stop('immediate');
$build->finish;
like($err, qr/terminat|server closed the connection/, 'the build was cut short');
$node->start;

is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'idx'"),
	'0', 'no index left by a build cut short');
$node->safe_psql('postgres', "CREATE INDEX idx ON tst USING ivfflat (v) WITH (lists = $lists)");
check_exact('after rebuilding');

$node->stop;
done_testing();
