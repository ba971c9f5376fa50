# The learning loop's bound rule (src/gnn, docs/learning.md "Bound
# models"): with ruvector.learning_bound_rule on, labelling also measures
# each query's recall at each distance bound, training picks the least
# bound that meets the target on the calibration queries and keeps it when
# it costs less than the network; a scan with a live bound model stops at
# the first candidate past the bound of the k nearest found, much sooner
# than the cap it may grow to; later batches of an iterative scan are not
# bounded; ruvector.target_recall = 0 returns exactly the fixed results;
# the model reaches a standby.  With the setting off, training never
# chooses the rule, and labels made then are measured again once it is on.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use RvLearn;

my $dim = 8;
srand(602);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "ruvector.learning_min_queries = 60\n");
$primary->start;
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# 8 clusters around 4 * e_j, unit noise; 300 captured queries near one
# cluster or between two
$primary->safe_psql('postgres', learn_items_sql($dim) . qq(
	INSERT INTO ruvector_learning_queries (index, query, k, effort, visited)
	SELECT 'items_v', (SELECT array_agg((random() + CASE WHEN j = 1 + (q % $dim)
				OR (q % 3 > 0 AND j = 1 + ((q * 5) % $dim))
			THEN 4.0 / (1 + (q % 3 > 0)::int) ELSE 0 END)::real)
		FROM generate_series(1, $dim) j), 10, 40, 0
	FROM generate_series(1, 300) q;
));

my @probe = map { learn_query($dim, 2) } 1 .. 20;

sub results
{
	my ($node, $setting) = @_;
	return learn_results($node, $setting, \@probe);
}

sub train
{
	my ($setting) = @_;
	return $primary->safe_psql('postgres',
		"SET ruvector.target_recall = 0.95; $setting; SELECT ruvector_learning_train('items_v') - 'curve'");
}

sub curve_lengths
{
	return $primary->safe_psql('postgres',
		'SELECT min(array_length(recall, 1)) || \'|\' || max(array_length(recall, 1)) FROM ruvector_learning_queries');
}

# the grid of k = 10 has 14 efforts; the bound rule adds 16 bounds
my $off = train('SET ruvector.learning_bound_rule = off');
note "trained with the bound rule off: $off";
unlike($off, qr/"rule": "bound"/, 'with the setting off, training never chooses the bound rule');
is(curve_lengths(), '14|14', 'labels made with it off have the efforts\' recalls only');

my $on = train('SET ruvector.learning_bound_rule = on');
note "trained with the bound rule on: $on";
is(curve_lengths(), '30|30', 'turned on, training measured the labels again with each bound');
like($on, qr/"rule": "bound"/, 'on these data the bound rule costs less than the network');
like($on, qr/"live": true/, 'and goes live');
my ($epsilon) = $on =~ /"calibration_offset": ([0-9.]+)/;
cmp_ok($epsilon, '>', 0, "its bound is positive ($epsilon)");
is( $primary->safe_psql('postgres',
		"SELECT (j->'validation'->>'mean_recall')::float8 >= 0.95
			AND (j->'validation'->>'mean_effort')::float8 < (j->'validation'->>'fixed_effort_at_model_recall')::float8
		 FROM (SELECT '$on'::jsonb AS j) s"),
	't', 'on the validation queries it meets the target at less cost than a fixed ef_search');

# training again with the rule off keeps the labels (their efforts come
# first) and trains a network; the bound model stays live unless that one
# beats the fixed effort, so put the bound model back as the live one
my $again = train('SET ruvector.learning_bound_rule = off');
unlike($again, qr/"rule": "bound"/, 'off again: a network');
is(curve_lengths(), '30|30', 'labels with the bounds serve a training with the rule off as they are');
my ($bound_version) = $on =~ /"version": (\d+)/;
my ($off_version) = $again =~ /"version": (\d+)/;
is( $primary->safe_psql('postgres',
		"SELECT string_agg(version || ':' || rule || ':' || COALESCE(round(bound::numeric, 4)::text, '-'), ' '
			ORDER BY version) FROM ruvector_learning_status() WHERE version IN ($bound_version, $off_version)"),
	sprintf('%d:bound:%.4f %d:effort:-', $bound_version, $epsilon, $off_version),
	'the status shows each version\'s kind and the bound model\'s bound');
$primary->safe_psql('postgres',
	"UPDATE ruvector_learning_models SET live = (version = $bound_version) WHERE index = 'items_v'::regclass");

# Scans stop at the bound, each one
my $sql = "SET enable_seqscan = off; SET ruvector.target_recall = 0.95; SET client_min_messages = debug1;\n";
$sql .= "SELECT id FROM items ORDER BY v <-> '$_' LIMIT 10;\n" for @probe;
my ($ret, $out, $err) = $primary->psql('postgres', $sql);
my @stops = $err =~ /bound ([0-9.]+) stopped the search after (\d+) elements/g;
is(scalar(@stops) / 2, scalar(@probe), 'every scan was stopped by the bound');
my $max = 0;
for (my $i = 1; $i < @stops; $i += 2) { $max = $stops[$i] if $stops[$i] > $max; }
my $cap = $primary->safe_psql('postgres',
	"SELECT count(*) FROM items") + 0;
cmp_ok($max, '<', $cap / 4, "no scan read more than a quarter of the graph (at most $max elements)");

# the rows: ordered, k each, and as right as the target asks on average
my $hits = 0;
for my $q (@probe)
{
	my $got = $primary->safe_psql('postgres',
		"SET enable_seqscan = off; SET ruvector.target_recall = 0.95;
		 SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q' LIMIT 10) s");
	my $exact = $primary->safe_psql('postgres',
		"SET enable_indexscan = off;
		 SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q' LIMIT 10) s");
	my %e = map { $_ => 1 } split /,/, $exact;
	$hits += grep { $e{$_} } split /,/, $got;
}
cmp_ok($hits / (10 * @probe), '>=', 0.9, 'recall@10 of the probes ' . $hits / (10 * @probe));

# later batches of an iterative scan are not bounded: every row comes back
is( $primary->safe_psql('postgres',
		"SET enable_seqscan = off; SET ruvector.target_recall = 0.95; SET hnsw.iterative_scan = relaxed_order;
		 SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> '$probe[0]' LIMIT 4000) s"),
	'4000', 'an iterative scan after a bounded first batch returns every row');

# off: exactly the fixed behaviour; the effort function has nothing to say
my $fixed = results($primary, 'SET ruvector.target_recall = 0');
is(results($primary, "SET ruvector.target_recall = 0.95; SET ruvector.adaptive_effort = off"), $fixed,
	'adaptive_effort = off returns exactly the fixed ef_search results');
is( $primary->safe_psql('postgres',
		"SET ruvector.target_recall = 0.95; SELECT ruvector_learning_effort('items_v', '$probe[0]') IS NULL"),
	't', 'a bound model chooses no effort up front');

# the standby has the model and stops its scans the same way
$primary->wait_for_catchup($standby);
($ret, $out, $err) = $standby->psql('postgres', $sql);
my @standby_stops = $err =~ /bound ([0-9.]+) stopped the search after (\d+) elements/g;
is_deeply(\@standby_stops, \@stops, 'the standby stops each scan where the primary does');

done_testing();
