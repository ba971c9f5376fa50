# Each backend caches what a Cypher query needs to know of its graph (id,
# schema, vector indexes).  Changes committed by another session reach a
# session that already cached the graph: a graph dropped and created again
# under the same name, a vector index made and one dropped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('graph_cache');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$node->safe_psql('postgres', "SELECT ruvector_create_graph('g')");
$node->safe_psql('postgres',
	"SELECT * FROM ruvector_cypher('g', 'UNWIND range(1, 200) AS i CREATE (:Doc {i: i, v: [toFloat(i), 0.0]})')");

# the long-lived session that caches the graph
my $cached = $node->background_psql('postgres', on_error_stop => 0);
sub in_cached
{
	my ($query) = @_;
	my $out = $cached->query_safe(
		"SELECT string_agg(r::text, ' ') FROM ruvector_cypher('g', \$cy\$$query\$cy\$) r");
	chomp $out;
	return $out;
}
# the error of a query that must fail (the session's stderr is cleared)
sub cached_error
{
	my ($query) = @_;
	$cached->query($query);
	my $err = $cached->{stderr};
	$cached->{stderr} = '';
	return $err;
}
sub uses_index
{
	my $out = $cached->query_safe(
		"SELECT count(*) FROM (SELECT ruvector_cypher_sql('g', 'MATCH (d:Doc) RETURN d.i ORDER BY vector.distance(d.v, [3, 0]) LIMIT 1') AS s) x WHERE s LIKE '%.vector(2) %'");
	chomp $out;
	return $out;
}

is(in_cached('MATCH (d:Doc) RETURN count(d) AS n'), '{"n": 200}', 'the session sees the graph');
is(uses_index(), '0', 'no vector index yet: exact ranking');

# another session makes a vector index
$node->safe_psql('postgres', "SELECT ruvector_graph_vector_index('g', 'Doc', 'v', 2)");
is(uses_index(), '1', 'the index made elsewhere is used at once');
is(in_cached('MATCH (d:Doc) RETURN d.i ORDER BY vector.distance(d.v, [3, 0]) LIMIT 1'),
	'{"d.i": 3}', 'and answers');

# another session drops the index
my $idx = $node->safe_psql('postgres', 'SELECT index_name FROM ruvector_graph_vector_index');
$node->safe_psql('postgres', qq{DROP INDEX "$idx"});
is(uses_index(), '0', 'an index dropped elsewhere is no longer used');
is(in_cached('MATCH (d:Doc) RETURN d.i ORDER BY vector.distance(d.v, [3, 0]) LIMIT 1'),
	'{"d.i": 3}', 'and the query still answers');

# another session drops the graph and creates one of the same name
$node->safe_psql('postgres', "SELECT ruvector_drop_graph('g')");
like(cached_error("SELECT * FROM ruvector_cypher('g', 'MATCH (d) RETURN count(d)')"),
	qr/graph "g" does not exist/, 'a graph dropped elsewhere is gone');
$node->safe_psql('postgres', "SELECT ruvector_create_graph('g')");
$node->safe_psql('postgres', "SELECT * FROM ruvector_cypher('g', 'CREATE (:Doc {i: -1})')");
is(in_cached('MATCH (d:Doc) RETURN collect(d.i) AS ids'), '{"ids": [-1]}',
	'the new graph of the same name is the one queried');

# an uncommitted graph elsewhere stays invisible, a committed one appears
my $other = $node->background_psql('postgres', on_error_stop => 0);
$other->query_safe('BEGIN');
$other->query_safe("SELECT ruvector_create_graph('h')");
like(cached_error("SELECT * FROM ruvector_cypher('h', 'RETURN 1 AS one')"),
	qr/graph "h" does not exist/, 'an uncommitted graph is not seen');
$other->query_safe('COMMIT');
$other->quit;
is($cached->query_safe("SELECT r::text FROM ruvector_cypher('h', 'RETURN 1 AS one') r"),
	'{"one": 1}', 'once committed it is');

$cached->quit;
$node->stop;
done_testing();
