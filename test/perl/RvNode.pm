# RvNode.pm — setups the TAP files share: a started node with ruvector
# created (preloaded or not, with settings); the count of a vector's
# copies an exhaustive HNSW scan returns (every row the index can reach);
# a tiered ruvector_heap table of 3,000 vectors and the wait for the tier
# worker to move all its blocks.
package RvNode;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(rv_node rv_exhaustive_count rv_tier_table rv_tier_all_in);

# A started node called $name with CREATE EXTENSION ruvector done.
# Options: init (a hash ref of Cluster init options, e.g.
# { allows_streaming => 1 }), preload (1: shared_preload_libraries =
# 'ruvector'), conf (a hash ref of settings, values as postgresql.conf
# takes them: { 'ruvector.integrity_lag_budget' => "'1h'" }).
sub rv_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	my $conf = $opt{preload} ? "shared_preload_libraries = 'ruvector'\n" : '';

	$node->init(%{ $opt{init} // {} });
	$conf .= "$_ = $opt{conf}{$_}\n" for sort keys %{ $opt{conf} // {} };
	$node->append_conf('postgresql.conf', $conf) if $conf ne '';
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
	return $node;
}

# How many rows of $table meeting $cond an exhaustive strict_order
# iterative scan of its HNSW index returns, ordered by $order (no LIMIT,
# no tuple or memory bound that could end the scan early)
sub rv_exhaustive_count
{
	my ($node, $table, $order, $cond) = @_;
	return $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		SET hnsw.iterative_scan = strict_order;
		SET hnsw.max_scan_tuples = 10000000;
		SET hnsw.scan_mem_multiplier = 1000;
		SET work_mem = '64MB';
		SELECT count(*) FILTER (WHERE $cond) FROM (SELECT * FROM $table ORDER BY $order) r;));
}

# A ruvector_heap table $table (id int PRIMARY KEY, v vector(16)) of rows 1
# to 3,000 whose coordinate j (1 to 16) of row i is $coord (an expression
# in i and j, e.g. 'sin(i * 16 + j)'), with the tier policy $policy (JSON)
# on v
sub rv_tier_table
{
	my ($node, $table, $coord, $policy) = @_;
	$node->safe_psql('postgres', qq(
		CREATE TABLE $table (id int PRIMARY KEY, v vector(16)) USING ruvector_heap;
		INSERT INTO $table SELECT i, (SELECT array_agg(($coord)::real) FROM generate_series(1, 16) j)
		FROM generate_series(1, 3000) i;
		SELECT ruvector_set_tiers('$table', 'v', '$policy');));
}

# Wait (the poll timeout at most) until the tier worker has every block of
# $table in $tier: (true if it has, the table's size in blocks)
sub rv_tier_all_in
{
	my ($node, $table, $tier) = @_;
	my $pages = $node->safe_psql('postgres', "SELECT pg_relation_size('$table') / 8192");
	my $ok = $node->poll_query_until('postgres',
		"SELECT blocks = $pages FROM ruvector_tier_report('$table') WHERE tier = '$tier'");
	return ($ok, $pages);
}

1;
