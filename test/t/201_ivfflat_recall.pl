# IVFFlat recall: with every list probed, each operator class of both access
# methods returns the exact k nearest neighbours (same distances, in order),
# whether the index was built serially, in parallel, or filled by inserts;
# with few probes the recall is still good, and rises with probes.
use strict;
use warnings;
use File::Basename;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 16;
my $rows = 20000;
my $lists = 40;
my $k = 10;

my $node = PostgreSQL::Test::Cluster->new('recall');
$node->init;
$node->append_conf('postgresql.conf', "max_parallel_maintenance_workers = 2");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', slurp_file(dirname(__FILE__) . '/ivfflat_eval.sql'));

# Reproducible data: vectors around 16 centers, random bit strings.  The
# subqueries refer to the row (the aggregate to their own rows, d) so that
# each row gets its own values.
$node->safe_psql('postgres', qq(
	CREATE TABLE tst (id int, v vector($dim), h halfvec($dim), b bit(64));
	SELECT setseed(0.42);
	INSERT INTO tst
	SELECT i, v, v::halfvec, b
	FROM (SELECT i,
				 (SELECT array_agg(((i % 16) - 8) * 0.25 + random() - 0.5 + 0 * d)
				  FROM generate_series(1, $dim) d)::vector AS v,
				 (floor(random() * 4294967296)::bigint::bit(32) ||
				  floor(random() * 4294967296)::bigint::bit(32)) AS b
		  FROM generate_series(1, $rows) i) s;

	CREATE TABLE queries (qid int, v vector($dim), b bit(64));
	SELECT setseed(0.17);
	INSERT INTO queries
	SELECT q, (SELECT array_agg(random() * 4 - 2) FROM generate_series(1, $dim) WHERE q > 0),
		   (SELECT b FROM tst WHERE id = q * 997)
	FROM generate_series(1, 20) q;
));

# One case: index scans used, exact at all lists (or, for halfvec cosine,
# whose index ranks unit vectors rounded to half precision, nearly), and
# recall at 1 and 8 probes.
sub check_index
{
	my ($label, $col, $op, $qcol, $min_recall, $rounded) = @_;

	my $plan = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		EXPLAIN SELECT id FROM tst ORDER BY $col $op (SELECT $qcol FROM queries LIMIT 1) LIMIT $k;
	));
	like($plan, qr/Index Scan using idx on tst/, "$label: index scan");

	my ($exact, $rall) = split(/\|/, $node->safe_psql('postgres',
		"SELECT exact, recall FROM ivf_eval('$col', '$op', '$qcol', $lists, $k)"));
	if ($rounded)
	{
		cmp_ok($rall, '>=', 0.95, "$label: all lists probed give nearly the exact nearest");
	}
	else
	{
		is($exact, 't', "$label: all lists probed give the exact nearest");
	}

	my $r1 = $node->safe_psql('postgres', "SELECT recall FROM ivf_eval('$col', '$op', '$qcol', 1, $k)");
	my $r8 = $node->safe_psql('postgres', "SELECT recall FROM ivf_eval('$col', '$op', '$qcol', 8, $k)");
	cmp_ok($r8, '>=', $r1, "$label: recall rises with probes ($r1 -> $r8)");
	cmp_ok($r8, '>=', $min_recall, "$label: recall at 8 of $lists probes");
}

# Inner product ranks long vectors first, which lists of unit centers find
# poorly (pgvector's IVFFlat gives 0.39 at 8 probes on these data): a lower
# bar.  The clusters lie along one line through the origin, so directions
# (cosine) separate them less well than positions (pgvector: 0.81 to 0.84).
# Random bit strings have no clusters to find: only exactness counts.
my @cases = (
	[ 'ivfflat',   'v vector_l2_ops',      'v', '<->', 'v', 0.8, 0 ],
	[ 'ivfflat',   'v vector_ip_ops',      'v', '<#>', 'v', 0.3, 0 ],
	[ 'ivfflat',   'v vector_cosine_ops',  'v', '<=>', 'v', 0.7, 0 ],
	[ 'ruivfflat', 'v vector_l2_ops',      'v', '<->', 'v', 0.8, 0 ],
	[ 'ruivfflat', 'h halfvec_l2_ops',     'h', '<->', 'v', 0.8, 0 ],
	[ 'ivfflat',   'h halfvec_ip_ops',     'h', '<#>', 'v', 0.3, 0 ],
	[ 'ruivfflat', 'h halfvec_cosine_ops', 'h', '<=>', 'v', 0.7, 1 ],
	[ 'ivfflat',   'b bit_hamming_ops',    'b', '<~>', 'b', 0,   0 ],
);

for my $case (@cases)
{
	my ($am, $colop, $col, $op, $qcol, $min_recall, $rounded) = @$case;

	$node->safe_psql('postgres', qq(
		SET max_parallel_maintenance_workers = 0;
		CREATE INDEX idx ON tst USING $am ($colop) WITH (lists = $lists);
	));
	check_index("$am $colop serial", $col, $op, $qcol, $min_recall, $rounded);
	$node->safe_psql('postgres', 'DROP INDEX idx');

	my ($ret, $stdout, $stderr) = $node->psql('postgres', qq(
		SET client_min_messages = DEBUG1;
		SET min_parallel_table_scan_size = 1;
		CREATE INDEX idx ON tst USING $am ($colop) WITH (lists = $lists);
	));
	is($ret, 0, "$am $colop: parallel build");
	like($stderr, qr/using \d+ parallel workers/, "$am $colop: workers used");
	check_index("$am $colop parallel", $col, $op, $qcol, $min_recall, $rounded);
	$node->safe_psql('postgres', 'DROP INDEX idx');
}

# Built on an empty table, then filled by inserts: still exact at all lists.
$node->safe_psql('postgres', qq(
	CREATE TABLE tst_copy AS SELECT * FROM tst;
	TRUNCATE tst;
	CREATE INDEX idx ON tst USING ivfflat (v vector_l2_ops) WITH (lists = $lists);
	INSERT INTO tst SELECT * FROM tst_copy;
));
is($node->safe_psql('postgres', "SELECT exact FROM ivf_eval('v', '<->', 'v', $lists, $k)"),
	't', 'index filled by inserts: exact at all lists');

$node->stop;
done_testing();
