# HNSW recall on real data from ../shared/data: recall@10 against exact
# results computed by the same server, for a built index, an index filled
# by inserts, and one that went through DELETE and VACUUM.  Every query is
# first checked to run as an index scan.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvData;

my $data = rv_data_dir();
plan skip_all => "no shared data sets at $data" unless -f "$data/glove-100/base.fvecs";

my $nbase = 20000;
my $nquery = 100;

my $node = PostgreSQL::Test::Cluster->new('recall');
$node->init;
$node->append_conf('postgresql.conf', "maintenance_work_mem = '256MB'\nshared_buffers = '256MB'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');

# Load base vectors and queries with COPY
sub load
{
	my ($table, $type, $vecs) = @_;
	$node->safe_psql('postgres', "CREATE TABLE $table (id int PRIMARY KEY, v $type)");
	my $copy = "COPY $table FROM STDIN;\n";
	for my $i (0 .. $#$vecs)
	{
		$copy .= "$i\t$vecs->[$i]\n";
	}
	$copy .= "\\.\n";
	$node->safe_psql('postgres', $copy);
}

my $base = read_fvecs("$data/glove-100/base.fvecs", $nbase);
my $queries = read_fvecs("$data/glove-100/query.fvecs", $nquery);
load('items', 'vector(100)', $base);
load('queries', 'vector(100)', $queries);

# Exact top 10 of every query, by sequential scan
sub exact_topk
{
	my ($table, $op) = @_;
	my $res = $node->safe_psql('postgres', qq(
		SET enable_indexscan = off;
		SELECT q.id, string_agg(r.id::text, ',' ORDER BY r.d, r.id)
		FROM queries q CROSS JOIN LATERAL (
			SELECT id, v $op q.v AS d FROM $table ORDER BY v $op q.v, id LIMIT 10) r
		GROUP BY q.id ORDER BY q.id;
	));
	my %truth;
	for my $line (split /\n/, $res)
	{
		my ($q, $ids) = split /\|/, $line;
		$truth{$q} = { map { $_ => 1 } split /,/, $ids };
	}
	return \%truth;
}

# Recall@10 of the index, at the given ef_search
sub index_recall
{
	my ($table, $op, $truth, $ef) = @_;
	my $explain = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM $table ORDER BY v $op (SELECT v FROM queries LIMIT 1) LIMIT 10;
	));
	like($explain, qr/Index Scan using/, "$table $op: index scan");

	my $res = $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		SET hnsw.ef_search = $ef;
		SELECT q.id, string_agg(r.id::text, ',')
		FROM queries q CROSS JOIN LATERAL (
			SELECT id FROM $table ORDER BY v $op q.v LIMIT 10) r
		GROUP BY q.id ORDER BY q.id;
	));
	my ($hits, $total) = (0, 0);
	for my $line (split /\n/, $res)
	{
		my ($q, $ids) = split /\|/, $line;
		for my $id (split /,/, $ids)
		{
			$hits++ if $truth->{$q}{$id};
		}
		$total += 10;
	}
	return $total ? $hits / $total : 0;
}

# Built index, cosine (GloVe's intended metric)
my $truth = exact_topk('items', '<=>');
$node->safe_psql('postgres', 'CREATE INDEX items_cos ON items USING hnsw (v vector_cosine_ops)');
my $recall = index_recall('items', '<=>', $truth, 100);
cmp_ok($recall, '>=', 0.95, "built cosine index: recall\@10 $recall at ef_search 100");
$recall = index_recall('items', '<=>', $truth, 400);
cmp_ok($recall, '>=', 0.98, "built cosine index: recall\@10 $recall at ef_search 400");
is($node->safe_psql('postgres',
		"SELECT count(*) FROM ruvector_hnsw_verify('items_cos') WHERE severity = 'error'"),
	'0', 'built index verifies');
$node->safe_psql('postgres', 'DROP INDEX items_cos');

# L2 through ruhnsw, built on half the rows and filled by inserts
$truth = exact_topk('items', '<->');
$node->safe_psql('postgres', qq(
	CREATE TABLE items2 (LIKE items);
	INSERT INTO items2 SELECT * FROM items WHERE id < $nbase / 2;
	CREATE INDEX items2_l2 ON items2 USING ruhnsw (v vector_l2_ops);
	INSERT INTO items2 SELECT * FROM items WHERE id >= $nbase / 2;
));
$recall = index_recall('items2', '<->', $truth, 100);
cmp_ok($recall, '>=', 0.95, "inserted L2 index: recall\@10 $recall at ef_search 100");

# A quarter deleted and vacuumed: recall against the remaining rows
$node->safe_psql('postgres', 'DELETE FROM items2 WHERE id % 4 = 0; VACUUM items2;');
$truth = exact_topk('items2', '<->');
$recall = index_recall('items2', '<->', $truth, 100);
cmp_ok($recall, '>=', 0.95, "vacuumed L2 index: recall\@10 $recall at ef_search 100");
is($node->safe_psql('postgres',
		"SELECT count(*) FROM ruvector_hnsw_verify('items2_l2') WHERE severity = 'error'"),
	'0', 'vacuumed index verifies');

# halfvec, built with a small graph memory so that most of it is inserted
# on disk
$node->safe_psql('postgres', qq(
	CREATE TABLE items3 AS SELECT id, v::halfvec(100) AS v FROM items;
	CREATE TABLE q3 AS SELECT id, v::halfvec(100) AS v FROM queries;
));
my ($ret, $stdout, $stderr) = $node->psql('postgres', qq(
	SET maintenance_work_mem = '8MB';
	CREATE INDEX items3_idx ON items3 USING hnsw (v halfvec_cosine_ops);
));
is($ret, 0, 'low-memory halfvec build');
like($stderr, qr/hnsw graph no longer fits into maintenance_work_mem/, 'build went on disk');
$node->safe_psql('postgres', 'ALTER TABLE queries RENAME TO q_vector; ALTER TABLE q3 RENAME TO queries');
$truth = exact_topk('items3', '<=>');
$recall = index_recall('items3', '<=>', $truth, 100);
cmp_ok($recall, '>=', 0.95, "halfvec cosine index: recall\@10 $recall at ef_search 100");
is($node->safe_psql('postgres',
		"SELECT count(*) FROM ruvector_hnsw_verify('items3_idx') WHERE severity = 'error'"),
	'0', 'halfvec index verifies');

$node->stop;
done_testing();
