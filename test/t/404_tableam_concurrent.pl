# ruvector_heap under concurrency: pgbench clients insert and update rows
# (and read them) while ruvector_compact runs again and again.  Afterwards
# every committed row is there with the value its last writer gave it
# (within the sq8 error if it was moved), indexes agree with the table
# (amcheck's heapallindexed check goes through the table AM), and
# ruvector_tier_verify finds no problem.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $dim = 16;
my $rows = 3000;

my $node = PostgreSQL::Test::Cluster->new('tam_concurrent');
$node->init;
$node->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'ruvector'
# moves by ruvector_compact only: the tier worker (407) is off here
ruvector.tier_max_blocks_per_round = 0
autovacuum_naptime = 1s
));
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector; CREATE EXTENSION amcheck');

# The value a row should have after its ver-th write.
$node->safe_psql('postgres', qq(
	CREATE FUNCTION f(id int, ver int) RETURNS vector LANGUAGE sql IMMUTABLE AS
	\$\$ SELECT array_agg(sin(id * $dim + j + ver * 0.5)::real)::vector FROM generate_series(1, $dim) j \$\$;
	CREATE SEQUENCE ids START $rows;
	CREATE TABLE t (id int PRIMARY KEY, v vector($dim), ver int NOT NULL DEFAULT 0) USING ruvector_heap;
	INSERT INTO t SELECT i, f(i, 0) FROM generate_series(1, $rows - 1) i;
	CREATE INDEX t_ver ON t (ver);
	SELECT ruvector_set_tiers('t', 'v', '{"exactness": "sq8", "float16": {}, "sq8": {"after_write": "1 s"}}');
));

my $dir = $node->basedir;
PostgreSQL::Test::Utils::append_to_file("$dir/insert.sql",
	"INSERT INTO t (id, v) SELECT n, f(n, 0) FROM (SELECT nextval('ids')::int AS n) s;\n");
PostgreSQL::Test::Utils::append_to_file("$dir/update.sql", qq(
\\set id random(1, $rows - 1)
UPDATE t SET ver = ver + 1, v = f(id, ver + 1) WHERE id = :id;
));
PostgreSQL::Test::Utils::append_to_file("$dir/read.sql", qq(
\\set id random(1, $rows - 1)
SELECT v FROM t WHERE id = :id;
SELECT count(*) FROM t WHERE ver > 3;
));

my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-c', '4', '-j', '2', '-T', '15',
		'-f', "$dir/insert.sql\@2", '-f', "$dir/update.sql\@5", '-f', "$dir/read.sql\@1",
		'-h', $node->host, '-p', $node->port, 'postgres'
	],
	'>', \$out, '2>', \$err);

my $compacts = 0;
my $moved = 0;
while ($bench->pumpable)
{
	my $r = $node->safe_psql('postgres', "SELECT blocks_moved FROM ruvector_compact('t')");
	$moved += $r;
	$compacts++;
	usleep(200_000);
	$bench->pump_nb;
}
$bench->finish;
is($bench->result(0), 0, 'pgbench ran without errors');
like($out, qr/number of failed transactions: 0/, 'no transaction failed');
note $out;
cmp_ok($compacts, '>=', 5, "$compacts compacts ran during the load");
cmp_ok($moved, '>', 0, "they moved $moved pages");

# A last compact with the load gone.
$node->safe_psql('postgres', "SELECT * FROM ruvector_compact('t')");

is($node->safe_psql('postgres', 'SELECT count(*) FROM t'),
	$node->safe_psql('postgres', 'SELECT last_value FROM ids'),
	'every committed insert is present, nothing else');
is($node->safe_psql('postgres', qq(
	SELECT count(*) FROM t
	WHERE (SELECT max(abs(d)) FROM unnest((t.v - f(t.id, t.ver))::real[]) d) > 0.0045)),
	'0', 'every row holds its last written value, within the sq8 error');
cmp_ok($node->safe_psql('postgres', "SELECT rows FROM ruvector_tier_report('t') WHERE tier = 'sq8'"),
	'>', 0, 'rows were moved to sq8');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('t')"),
	'0', 'ruvector_tier_verify finds no problem');
is($node->safe_psql('postgres', q(
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT count(*) FROM t t1 WHERE t1.v IS DISTINCT FROM (SELECT v FROM t t2 WHERE t2.id = t1.id)
)), '0', 'index scans return what the sequential scan returns');
$node->safe_psql('postgres', q(
	SELECT bt_index_check('t_pkey', true);
	SELECT bt_index_check('t_ver', true);
));
pass('amcheck finds the btree indexes consistent with the table');

$node->stop;
done_testing();
