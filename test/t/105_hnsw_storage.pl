# HNSW compact storage on real data from ../shared/data: recall@10 of
# storage = sq8, float16 and binary (scans re-rank with exact distances)
# against exact results of the same server, index sizes against float32,
# concurrent inserts, deletes, searches and VACUUM, and a streaming replica
# that answers like its primary after inserts, deletes and VACUUM (generic
# WAL carries the codes).  Every query is first
# checked to run as an index scan.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvData;

my $data = rv_data_dir();
plan skip_all => "no shared data sets at $data"
  unless -f "$data/glove-100/base.fvecs" && -f "$data/cohere-768-1k/base.fvecs";

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	"maintenance_work_mem = '256MB'\nshared_buffers = '128MB'\nmax_connections = 40\nautovacuum = off");
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ruvector');

sub load
{
	my ($table, $dim, $vecs) = @_;
	$primary->safe_psql('postgres', "CREATE TABLE $table (id int PRIMARY KEY, v vector($dim))");
	my $copy = "COPY $table FROM STDIN;\n";
	$copy .= "$_\t$vecs->[$_]\n" for 0 .. $#$vecs;
	$copy .= "\\.\n";
	$primary->safe_psql('postgres', $copy);
}

load('glove', 100, read_fvecs("$data/glove-100/base.fvecs", 6000));
load('glove_q', 100, read_fvecs("$data/glove-100/query.fvecs", 50));
load('cohere', 768, read_fvecs("$data/cohere-768-1k/base.fvecs", 900));
load('cohere_q', 768, read_fvecs("$data/cohere-768-1k/query.fvecs", 100));

# Top 10 of every query, as "query|id,id,..." lines, by the given scan
sub topk
{
	my ($node, $table, $op, $settings) = @_;
	return $node->safe_psql('postgres', qq(
		$settings
		SELECT q.id, string_agg(r.id::text, ',' ORDER BY r.n)
		FROM ${table}_q q CROSS JOIN LATERAL (
			SELECT id, row_number() OVER () AS n FROM (
				SELECT id FROM $table ORDER BY v $op q.v LIMIT 10) s) r
		GROUP BY q.id ORDER BY q.id;
	));
}

sub recall
{
	my ($truth, $got) = @_;
	my %t;
	for my $line (split /\n/, $truth)
	{
		my ($q, $ids) = split /\|/, $line;
		$t{$q} = { map { $_ => 1 } split /,/, $ids };
	}
	my ($hits, $total) = (0, 0);
	for my $line (split /\n/, $got)
	{
		my ($q, $ids) = split /\|/, $line;
		$hits += grep { $t{$q}{$_} } split /,/, $ids;
		$total += 10;
	}
	return $total ? $hits / $total : 0;
}

my %exact = (
	glove => topk($primary, 'glove', '<=>', 'SET enable_indexscan = off;'),
	cohere => topk($primary, 'cohere', '<#>', 'SET enable_indexscan = off;'));

# Recall@10 and size of one index
sub check_storage
{
	my ($table, $opclass, $op, $storage, $ef, $rerank, $min) = @_;
	my $name = "${table}_$storage";
	$primary->safe_psql('postgres',
		"CREATE INDEX $name ON $table USING hnsw (v $opclass) WITH (storage = $storage)");
	my $explain = $primary->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM $table ORDER BY v $op (SELECT v FROM ${table}_q LIMIT 1) LIMIT 10;
	));
	like($explain, qr/Index Scan using $name/, "$name: index scan");
	my $r = recall($exact{$table}, topk($primary, $table, $op,
			"SET enable_seqscan = off; SET hnsw.ef_search = $ef; SET ruvector.rerank_factor = $rerank;"));
	cmp_ok($r, '>=', $min, "$name: recall\@10 $r at ef_search $ef, rerank_factor $rerank");
	is($primary->safe_psql('postgres',
			"SELECT count(*) FROM ruvector_hnsw_verify('$name') WHERE severity = 'error'"),
		'0', "$name verifies");
	my $size = $primary->safe_psql('postgres', "SELECT pg_relation_size('$name')");
	$primary->safe_psql('postgres', "DROP INDEX $name");
	return $size;
}

# GloVe (cosine, 100-d): hard for graphs; re-ranking makes codes as good as floats
my $g32 = check_storage('glove', 'vector_cosine_ops', '<=>', 'float32', 100, 1, 0.95);
my $g16 = check_storage('glove', 'vector_cosine_ops', '<=>', 'float16', 100, 1, 0.95);
my $g8 = check_storage('glove', 'vector_cosine_ops', '<=>', 'sq8', 100, 2, 0.95);
my $gb = check_storage('glove', 'vector_cosine_ops', '<=>', 'binary', 100, 10, 0.80);
note("glove 6k index sizes: float32 $g32, float16 $g16, sq8 $g8, binary $gb");
cmp_ok($g8, '<', $g32 * 0.7, "glove: sq8 index $g8 bytes against float32 $g32");

# Cohere (inner product, 768-d): the value dominates the node
my $c32 = check_storage('cohere', 'vector_ip_ops', '<#>', 'float32', 40, 1, 0.95);
my $c16 = check_storage('cohere', 'vector_ip_ops', '<#>', 'float16', 40, 1, 0.95);
my $c8 = check_storage('cohere', 'vector_ip_ops', '<#>', 'sq8', 40, 2, 0.95);
my $cb = check_storage('cohere', 'vector_ip_ops', '<#>', 'binary', 40, 10, 0.85);
note("cohere index sizes: float32 $c32, float16 $c16, sq8 $c8, binary $cb");
cmp_ok($c8, '<=', $c32 * 0.4, "cohere: sq8 index $c8 bytes is at most 0.4x float32 $c32");
cmp_ok($c16, '<', $c32 * 0.7, "cohere: float16 index $c16 bytes against float32 $c32");

# Concurrency: eight clients insert, delete and search (re-ranking, also
# iteratively) while VACUUM runs, on an sq8 graph; then it verifies and
# finds the exact neighbours
my $array_sql = join(',', ('random()') x 8);
$primary->safe_psql('postgres', qq(
	CREATE TABLE churn (id bigserial PRIMARY KEY, c int, v vector(8));
	INSERT INTO churn (c, v) SELECT i % 10, ARRAY[$array_sql] FROM generate_series(1, 3000) i;
	CREATE INDEX churn_idx ON churn USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32, storage = sq8);
));
$primary->pgbench(
	'--no-vacuum --client=8 --transactions=150',
	0,
	[qr{actually processed}],
	[qr{^$}],
	'sq8: inserts, deletes, searches and VACUUM at once',
	{
		'105_insert@10' => "INSERT INTO churn (c, v) SELECT (random() * 10)::int, ARRAY[$array_sql] FROM generate_series(1, 3);",
		'105_delete@3' => "DELETE FROM churn WHERE id = (SELECT (random() * 4000)::bigint + 1);",
		'105_search@10' => "SELECT id FROM churn ORDER BY v <-> (SELECT ARRAY[$array_sql]::vector) LIMIT 10;",
		'105_filter@3' => "SET hnsw.iterative_scan = relaxed_order; SELECT id FROM churn WHERE c = 5 ORDER BY v <-> (SELECT ARRAY[$array_sql]::vector) LIMIT 10;",
		'105_vacuum@1' => "VACUUM churn;"
	});
$primary->safe_psql('postgres', 'VACUUM churn');
is($primary->safe_psql('postgres',
		"SELECT count(*) FROM ruvector_hnsw_verify('churn_idx') WHERE severity = 'error'"),
	'0', 'sq8 index verifies after concurrent churn');
my $hits = 0;
for (1 .. 10)
{
	my $q = '[' . join(',', map { rand() } 1 .. 8) . ']';
	my $exact = $primary->safe_psql('postgres',
		"SET enable_indexscan = off; SELECT id FROM churn ORDER BY v <-> '$q' LIMIT 10");
	my $indexed = $primary->safe_psql('postgres',
		"SET enable_seqscan = off; SET hnsw.ef_search = 200; SELECT id FROM churn ORDER BY v <-> '$q' LIMIT 10");
	my %found = map { $_ => 1 } split /\n/, $indexed;
	$hits += grep { $found{$_} } split /\n/, $exact;
}
cmp_ok($hits, '>=', 97, "sq8 after churn: $hits of the 100 exact neighbours");

# A streaming replica answers like the primary (same codes through WAL)
$primary->safe_psql('postgres',
	'CREATE INDEX cohere_r ON cohere USING hnsw (v vector_ip_ops) WITH (storage = sq8)');
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;
$primary->safe_psql('postgres', qq(
	INSERT INTO cohere SELECT id + 1000, v FROM cohere_q;
	DELETE FROM cohere WHERE id % 4 = 0;
	VACUUM cohere;
	INSERT INTO cohere SELECT id + 2000, v FROM cohere WHERE id % 4 = 1 AND id < 900;
));
$primary->wait_for_catchup($standby);
my $settings = 'SET enable_seqscan = off; SET hnsw.ef_search = 40;';
my $p = topk($primary, 'cohere', '<#>', $settings);
is(topk($standby, 'cohere', '<#>', $settings), $p, 'standby answers like the primary');
my $after = topk($primary, 'cohere', '<#>', 'SET enable_indexscan = off;');
cmp_ok(recall($after, $p), '>=', 0.95, 'after inserts, deletes and VACUUM: recall@10 ' . recall($after, $p));
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM ruvector_hnsw_verify('cohere_r') WHERE severity = 'error'"),
	'0', 'standby index verifies');

done_testing();
