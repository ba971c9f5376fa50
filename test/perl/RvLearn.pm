# RvLearn.pm — what the learning loop's TAP tests (601, 602) share: query
# vectors among the clusters of their tables, and the rows the index scans
# return for a list of them.
package RvLearn;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(learn_items_sql learn_query learn_results);

# The extension and the table items: 4,000 rows in $dim clusters around
# 4 * e_j with unit noise (a fixed seed), and its hnsw index items_v
sub learn_items_sql
{
	my ($dim) = @_;
	return qq(
	CREATE EXTENSION ruvector;
	SELECT setseed(0.6);
	CREATE TABLE items (id int PRIMARY KEY, v vector($dim));
	INSERT INTO items
	SELECT i, (SELECT array_agg((CASE WHEN (i % $dim) = j - 1 THEN 4 ELSE 0 END + random())::real)
			   FROM generate_series(1, $dim) j)::vector
	FROM generate_series(1, 4000) i;
	CREATE INDEX items_v ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 40);
);
}

# A query among clusters around 4 * e_j with unit noise: near one of them,
# or between up to $most (the harder queries)
sub learn_query
{
	my ($dim, $most) = @_;
	my @x = map { rand() } 1 .. $dim;
	my $k = 1 + int(rand($most));
	$x[int(rand($dim))] += 4 / $k for 1 .. $k;
	return '[' . join(',', map { sprintf('%.4f', $_) } @x) . ']';
}

# The 10 nearest ids of each probe in items (one line each) under $setting,
# with sequential scans off
sub learn_results
{
	my ($node, $setting, $probes) = @_;
	my $sql = "SET enable_seqscan = off; $setting;\n";
	$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$_' LIMIT 10) s;\n"
	  for @$probes;
	return $node->safe_psql('postgres', $sql);
}

1;
