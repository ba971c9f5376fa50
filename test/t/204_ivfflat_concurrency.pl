# IVFFlat under concurrency: inserts (extending list chains), deletes,
# searches and VACUUM from several clients at once, on an index with few
# lists so that they meet on the same pages.  No client may fail, and
# afterwards the index must hold exactly the table's rows and answer like an
# exact search with every list probed.
use strict;
use warnings;
use File::Basename;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 8;
my $lists = 4;
my $array_sql = join(',', ('random()') x $dim);

my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', slurp_file(dirname(__FILE__) . '/ivfflat_eval.sql'));
$node->safe_psql('postgres', qq(
	CREATE TABLE queries (qid int, v vector($dim));
	INSERT INTO queries SELECT q, ARRAY[$array_sql] FROM generate_series(1, 20) q;
	CREATE TABLE tst (id serial PRIMARY KEY, v vector($dim));
	ALTER TABLE tst SET (autovacuum_enabled = false);
	INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 2000);
	CREATE INDEX idx ON tst USING ivfflat (v vector_l2_ops) WITH (lists = $lists);
	CREATE INDEX idx_cos ON tst USING ruivfflat (v vector_cosine_ops) WITH (lists = $lists);
));

$node->pgbench(
	'--no-vacuum --client=6 --transactions=400',
	0,
	[qr{actually processed}],
	[qr{^$}],
	'concurrent inserts, deletes, searches and VACUUM',
	{
		'204_insert@8' => "INSERT INTO tst (v) SELECT ARRAY[$array_sql] FROM generate_series(1, 5);",
		'204_delete@2' => 'DELETE FROM tst WHERE id IN (SELECT id FROM tst ORDER BY random() LIMIT 3);',
		'204_search@8' => "SET ivfflat.probes = 2; SELECT id FROM tst ORDER BY v <-> (SELECT ARRAY[$array_sql]::vector) LIMIT 10;",
		'204_search_cos@4' => "SELECT id FROM tst ORDER BY v <=> (SELECT ARRAY[$array_sql]::vector) LIMIT 5;",
		'204_vacuum@1' => 'VACUUM tst;',
	});

$node->safe_psql('postgres', 'VACUUM tst');

for my $index ('idx', 'idx_cos')
{
	my $op = $index eq 'idx' ? '<->' : '<=>';
	my $count = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off; SET ivfflat.probes = $lists;
		SELECT count(*) FROM (SELECT id FROM tst ORDER BY v $op (SELECT NULL::vector)) s;
	));
	is($count, $node->safe_psql('postgres', 'SELECT count(*) FROM tst'),
		"$index: one entry per row after the run");
	is($node->safe_psql('postgres', "SELECT exact FROM ivf_eval('v', '$op', 'v', $lists, 10)"),
		't', "$index: exact with all lists probed");
}

$node->stop;
done_testing();
