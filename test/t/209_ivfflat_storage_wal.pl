# IVFFlat compact storage (sq8, float16, binary) under WAL: list pages that
# hold codes reach a streaming replica through generic WAL (checked page by
# page with wal_consistency_checking) through the build, inserts, deletes,
# VACUUM and a centroid refresh, so the replica answers as the primary; and
# after an immediate shutdown the primary still answers like an exact search
# (at probes = lists, re-ranked from the table).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dim = 32;
my $lists = 8;
my $array_sql = join(',', ('random()') x $dim);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\nautovacuum = off");
$primary->start;
$primary->backup('backup');

my $replica = PostgreSQL::Test::Cluster->new('replica');
$replica->init_from_backup($primary, 'backup', has_streaming => 1);
$replica->start;

$primary->safe_psql('postgres', qq(
	CREATE EXTENSION ruvector;
	CREATE TABLE tst (id int PRIMARY KEY, v vector($dim));
	INSERT INTO tst SELECT i, ARRAY[$array_sql] FROM generate_series(1, 3000) i;
	CREATE INDEX idx_sq8 ON tst USING ivfflat (v vector_l2_ops) WITH (lists = $lists, storage = sq8);
	CREATE INDEX idx_f16 ON tst USING ivfflat (v vector_cosine_ops) WITH (lists = $lists, storage = float16);
	CREATE INDEX idx_bin ON tst USING ivfflat (v vector_ip_ops) WITH (lists = $lists, storage = binary);
	CREATE TABLE queries (qid int, v vector($dim));
	INSERT INTO queries SELECT q, ARRAY[$array_sql] FROM generate_series(1, 8) q;
));

# The ten ids nearest each query, by the index when $indexed, else exactly
sub answers
{
	my ($node, $op, $indexed) = @_;
	my $setup = $indexed
	  ? "SET enable_seqscan = off; SET ivfflat.probes = $lists;"
	  : 'SET enable_indexscan = off; SET enable_bitmapscan = off;';
	return $node->safe_psql('postgres', qq(
		$setup
		SELECT string_agg(ids, ' ' ORDER BY qid) FROM (
			SELECT q.qid, (SELECT string_agg(t.id::text, ',')
				FROM (SELECT id FROM tst ORDER BY v $op q.v LIMIT 10) t) AS ids
			FROM queries q) r;
	));
}

sub check_replica
{
	my ($when) = @_;
	$primary->wait_for_catchup($replica);
	for my $op ('<->', '<=>', '<#>')
	{
		is(answers($replica, $op, 1), answers($primary, $op, 1),
			"$when: the replica answers $op as the primary");
	}
}

sub check_exact
{
	my ($when) = @_;
	for my $op ('<->', '<=>')
	{
		is(answers($primary, $op, 1), answers($primary, $op, 0),
			"$when: $op through the compact index equals exact search");
	}
}

# Each order is served by its compact index (or the checks prove nothing)
for (['<->', 'idx_sq8'], ['<=>', 'idx_f16'], ['<#>', 'idx_bin'])
{
	my ($op, $idx) = @$_;
	like($primary->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		EXPLAIN (COSTS OFF) SELECT id FROM tst ORDER BY v $op '[@{[join(',', (0.5) x $dim)]}]' LIMIT 10;
	)), qr/Index Scan using $idx/, "$op is answered by $idx");
}

check_replica('after the build');
check_exact('after the build');

$primary->safe_psql('postgres', qq(
	INSERT INTO tst SELECT i, ARRAY[$array_sql] FROM generate_series(3001, 4500) i;
	DELETE FROM tst WHERE id % 4 = 0;
));
$primary->safe_psql('postgres', 'VACUUM tst');
check_replica('after inserts, deletes and VACUUM');

$primary->safe_psql('postgres', qq(
	SELECT ruvector_ivf_refresh('idx_sq8');
	SELECT ruvector_ivf_refresh('idx_f16');
));
is($primary->safe_psql('postgres', "SELECT refreshes FROM ruvector_ivf_stats('idx_sq8')"),
	'1', 'the sq8 index was refreshed');
check_replica('after refreshes');

$primary->stop('immediate');
$primary->start;
check_exact('after an immediate shutdown');
is($primary->safe_psql('postgres', "SELECT refreshes FROM ruvector_ivf_stats('idx_f16')"),
	'1', 'the float16 refresh survived the shutdown');
check_replica('after the primary recovered');

$replica->stop;
$primary->stop;
done_testing();
