# HNSW on a streaming replica: after replay, index scans on the replica
# return the primary's top-k, through inserts, deletes, VACUUM and a
# rebuild, for hnsw and ruhnsw, vector and halfvec, plain and iterative
# scans.  The replica checks every replayed generic WAL record against the
# primary's page image (wal_consistency_checking).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 16;
my $array_sql = join(',', ('random()') x $dim);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq(
wal_consistency_checking = 'generic'
wal_keep_size = '512MB'
));
$primary->start;
$primary->backup('base');

my $replica = PostgreSQL::Test::Cluster->new('replica');
$replica->init_from_backup($primary, 'base', has_streaming => 1);
$replica->start;

$primary->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$primary->safe_psql('postgres', qq(
	CREATE TABLE items (id int, c int, v vector($dim), h halfvec($dim));
	INSERT INTO items SELECT i, i % 20, ARRAY[$array_sql], NULL FROM generate_series(1, 3000) i;
	UPDATE items SET h = v::halfvec;
	CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops);
	CREATE INDEX items_h ON items USING ruhnsw (h halfvec_cosine_ops) WITH (m = 8, ef_construction = 32);
));

# The same top 10 on both nodes for a few random queries, and a clean
# verify on the replica
sub compare
{
	my ($label) = @_;
	$primary->wait_for_catchup($replica);

	my $differ = 0;
	for (1 .. 5)
	{
		my $q = '[' . join(',', map { rand() } 1 .. $dim) . ']';
		my $sql = qq(
			SET enable_seqscan = off;
			SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q' LIMIT 10) a;
			SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY h <=> '$q' LIMIT 10) b;
			SET hnsw.iterative_scan = relaxed_order;
			SET hnsw.ef_search = 20;
			SELECT string_agg(id::text, ',') FROM (SELECT id FROM items WHERE c = 3 ORDER BY v <-> '$q' LIMIT 10) c;
		);
		$differ++ if $primary->safe_psql('postgres', $sql) ne $replica->safe_psql('postgres', $sql);
	}
	is($differ, 0, "$label: replica returns the primary's results");

	for my $idx ('items_v', 'items_h')
	{
		is($replica->safe_psql('postgres',
				"SELECT count(*) FROM ruvector_hnsw_verify('$idx') WHERE severity = 'error'"),
			'0', "$label: $idx verifies on the replica");
	}
}

compare('after build');

for my $round (1 .. 4)
{
	my $base = 3000 + $round * 1000;
	$primary->safe_psql('postgres', qq(
		INSERT INTO items SELECT i, i % 20, ARRAY[$array_sql], NULL FROM generate_series($base, $base + 499) i;
		UPDATE items SET h = v::halfvec WHERE h IS NULL;
	));
	compare("round $round inserts");
	$primary->safe_psql('postgres', "DELETE FROM items WHERE id % 5 = $round");
	$primary->safe_psql('postgres', 'VACUUM items');
	compare("round $round vacuum");
}

$primary->safe_psql('postgres', 'REINDEX INDEX items_v');
compare('after REINDEX');

# The replica's results also match an exact search (small table, large ef)
my $q = '[' . join(',', map { rand() } 1 .. $dim) . ']';
my $exact = $primary->safe_psql('postgres',
	"SET enable_indexscan = off; SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q' LIMIT 10) r");
my $onreplica = $replica->safe_psql('postgres',
	"SET enable_seqscan = off; SET hnsw.ef_search = 1000; SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q' LIMIT 10) r");
is($onreplica, $exact, 'replica index results equal exact results');

$replica->stop;
$primary->stop;
done_testing();
