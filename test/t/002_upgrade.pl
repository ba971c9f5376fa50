# Upgrade from the released 0.1.0: install 0.1.0, put data in every kind of
# object a user has (vectors with an HNSW and an IVFFlat index, a tiered
# ruvector_heap table with a policy, a graph), ALTER EXTENSION ruvector
# UPDATE, then compare the extension's objects with a fresh 0.2.0 install.
#
# The comparison is pg_dump --binary-upgrade --schema-only, which (unlike a
# plain dump) writes every member object of an extension: definitions,
# privileges, comments, view options, row-level security, triggers.  Only the
# OIDs differ between two databases, and those lines are normalised away, so
# any other difference is an upgrade script that does not produce what the
# install script does.
use strict;
use warnings;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ruvector'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE upgraded');

$node->safe_psql('fresh', 'CREATE EXTENSION ruvector');
is($node->safe_psql('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'ruvector'"),
	'0.2.0', 'a fresh install is 0.2.0');

$node->safe_psql('upgraded', "CREATE EXTENSION ruvector VERSION '0.1.0'");
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'ruvector'"),
	'0.1.0', 'the released 0.1.0 script still installs');

# A user's data under 0.1.0.
$node->safe_psql('upgraded', q{
	CREATE TABLE items (id int PRIMARY KEY, v vector(3));
	INSERT INTO items SELECT i, ARRAY[sin(i), cos(i * 1.3), sin(i * 0.7)]::real[]::vector FROM generate_series(1, 500) i;
	CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops);
	CREATE INDEX items_ivf ON items USING ivfflat (v vector_cosine_ops) WITH (lists = 4);
	CREATE TABLE docs (id int PRIMARY KEY, v vector(4)) USING ruvector_heap;
	INSERT INTO docs SELECT i, ARRAY[i, 1, 2, 3]::real[]::vector FROM generate_series(1, 100) i;
	SELECT ruvector_set_tiers('docs', 'v', '{"exactness": "float16", "float16": {"after_write": 0, "after_read": 0}}');
	SELECT ruvector_create_graph('g');
	SELECT ruvector_cypher('g', 'CREATE (:Person {name: ''Ann''})-[:KNOWS]->(:Person {name: ''Bob''})');
});
# New binaries on 0.1.0's SQL: one label per node, as 0.1.0 had it.
$node->safe_psql('upgraded', q{
	SELECT ruvector_cypher('g', 'MATCH (n:Person) SET n.emb = [1.0 * id(n), 0.0]');
	SELECT ruvector_graph_vector_index('g', 'Person', 'emb', 2);
});
is($node->safe_psql('upgraded',
		"SELECT string_agg(r->>'l', ',') FROM ruvector_cypher('g', 'MATCH (n:Person) RETURN n.name AS n, labels(n) AS l ORDER BY n') r"),
	'["Person"],["Person"]', '0.1.0 SQL: MATCH (n:Label) and labels(n) work');
my ($rc, $out, $err) = $node->psql('upgraded', "SELECT ruvector_cypher('g', 'CREATE (:A:B)')");
like($err, qr/CREATE of a node with 2 labels needs the extension's 0\.2\.0 SQL/,
	'0.1.0 SQL: a second label is refused, naming the upgrade');

my $before = $node->safe_psql('upgraded',
	"SET enable_seqscan = off; SELECT string_agg(id::text, ',' ORDER BY v <-> '[0.5,0.5,0.5]', id) FROM (SELECT * FROM items ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 10) s");

$node->safe_psql('upgraded', 'ALTER EXTENSION ruvector UPDATE');
is($node->safe_psql('upgraded', "SELECT extversion FROM pg_extension WHERE extname = 'ruvector'"),
	'0.2.0', 'ALTER EXTENSION ruvector UPDATE reaches 0.2.0');

# The user's data and indexes work after the upgrade.
is($node->safe_psql('upgraded', q{
	SET enable_seqscan = off;
	SELECT string_agg(id::text, ',' ORDER BY v <-> '[0.5,0.5,0.5]', id) FROM (SELECT * FROM items ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 10) s}),
	$before, 'the HNSW index answers as before the upgrade');
is($node->safe_psql('upgraded', q{
	SET enable_seqscan = off; SET ivfflat.probes = 4;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY v <=> '[1,2,3]' LIMIT 20) s}),
	'20', 'the IVFFlat index answers after the upgrade');
is($node->safe_psql('upgraded', "SELECT count(*) FROM docs WHERE v IS NOT NULL"),
	'100', 'the ruvector_heap table reads after the upgrade');
is($node->safe_psql('upgraded', "SELECT policy->'exactness' FROM ruvector_tier_policy"),
	'"float16"', 'its tier policy is kept');
is($node->safe_psql('upgraded',
		"SELECT * FROM ruvector_cypher_rows('g', 'MATCH (a)-[:KNOWS]->(b) RETURN a.name, b.name') AS t(a jsonb, b jsonb)"),
	'"Ann"|"Bob"', 'the graph answers Cypher after the upgrade');

# Labels after the upgrade: the old nodes have their one label, and may get more;
# the vector index made under 0.1.0 now covers further labels and is still used.
is($node->safe_psql('upgraded', q{
	SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'ruvector_graph_%_vec_%'
		AND indexdef LIKE '%((label = ''Person''::text) OR (labels @> ARRAY[''Person''::text]))%'}),
	'1', 'the vector index made under 0.1.0 is made again with the multi-label predicate');
$node->safe_psql('upgraded', "SELECT ruvector_cypher('g', 'MATCH (n {name: ''Bob''}) SET n:Admin')");
is($node->safe_psql('upgraded',
		"SELECT string_agg(r->>'x', ',') FROM ruvector_cypher('g', 'MATCH (n:Person:Admin) RETURN n.name AS x') r"),
	'Bob', 'after the upgrade a node takes a second label and MATCH (n:A:B) finds it');
is($node->safe_psql('upgraded',
		"SELECT string_agg(r->>'x', ',') FROM ruvector_cypher('g', 'MATCH (n:Person) RETURN n.name AS x ORDER BY vector.distance(n.emb, [0, 0]) LIMIT 1') r"),
	'Ann', 'vector-ranked MATCH answers after the upgrade');
my ($rc2, $out2, $err2) = $node->psql('upgraded', q{
	SET enable_seqscan = off;
	DO $$ DECLARE l text; s text := ''; BEGIN
		FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || ruvector_cypher_sql('g',
			'MATCH (n:Person) RETURN n.name ORDER BY vector.distance(n.emb, [0, 0]) LIMIT 1') LOOP
			s := s || l || ' ';
		END LOOP;
		RAISE NOTICE '%', s;
	END $$});
like($err2, qr/Index Scan using ruvector_graph_\d+_vec_/, 'and uses the remade vector index');
$node->safe_psql('upgraded', "SELECT ruvector_drop_graph('g')");

# Object by object: the upgraded extension equals a fresh install.
my $dir = tempdir(CLEANUP => 1);
sub extension_dump
{
	my ($db) = @_;
	my $file = "$dir/$db.sql";
	$node->command_ok(
		[ 'pg_dump', '--binary-upgrade', '--schema-only', '--no-owner', '-f', $file, '-d', $node->connstr($db) ],
		"pg_dump --binary-upgrade of $db");
	open(my $fh, '<', $file) or die "$file: $!";
	my @lines;
	while (my $line = <$fh>)
	{
		# OIDs are the only thing two databases may differ in; the user
		# tables of the upgraded database are not part of the extension.
		next if $line =~ /binary_upgrade_set_next_|relfrozenxid = |pg_catalog.setval\(|^\\(un)?restrict |^-- Dumped/;
		$line =~ s/binary_upgrade_create_empty_extension\((.*?), '\{[0-9,]*\}'/binary_upgrade_create_empty_extension($1, '{OIDS}'/;
		$line =~ s/WHERE oid = '\d+'/WHERE oid = 'OID'/;
		push @lines, $line;
	}
	close($fh);
	open(my $out, '>', "$file.normalised") or die "$file.normalised: $!";
	print $out @lines;
	close($out);
	return join('', @lines);
}

# Keep only what belongs to the extension: drop the upgraded database's own
# tables and graph data first (the graph catalog rows are configuration data,
# not definitions, and are not in a --schema-only dump anyway).
$node->safe_psql('upgraded', 'DROP TABLE items, docs');
my $fresh = extension_dump('fresh');
my $upgraded = extension_dump('upgraded');
if ($fresh eq $upgraded)
{
	pass('0.1.0 + upgrade script defines exactly what the 0.2.0 install script defines');
}
else
{
	my $diff = `diff -u '$dir/fresh.sql.normalised' '$dir/upgraded.sql.normalised' | head -150`;
	fail('0.1.0 + upgrade script defines exactly what the 0.2.0 install script defines');
	diag("fresh install (-) vs upgraded (+):\n$diff");
}

# Both carry the 0.2.0 privileges: nothing of ruvector_* is executable by PUBLIC.
for my $db ('fresh', 'upgraded')
{
	is($node->safe_psql($db, q{
		SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
		WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ruvector') AND d.deptype = 'e'
			AND p.proname LIKE 'ruvector\_%' AND has_function_privilege('public', p.oid, 'EXECUTE')}),
		'0', "$db: no ruvector_* routine is executable by PUBLIC");
}

$node->stop;
done_testing();
