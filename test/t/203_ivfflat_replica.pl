# IVFFlat on a streaming replica: every change of an index page (build,
# inserts that extend chains, VACUUM) reaches the replica through generic WAL,
# so after replay a replica answers exactly as the primary does, with few or
# all lists probed.  wal_consistency_checking makes the replica compare each
# replayed page with the primary's image of it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename;

my $dim = 12;
my $lists = 16;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'");
$primary->start;
$primary->backup('backup');

my $replica = PostgreSQL::Test::Cluster->new('replica');
$replica->init_from_backup($primary, 'backup', has_streaming => 1);
$replica->start;

my $array_sql = join(',', ('random()') x $dim);

$primary->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$primary->safe_psql('postgres', slurp_file(dirname(__FILE__) . '/ivfflat_eval.sql'));
$primary->safe_psql('postgres', qq(
	CREATE TABLE queries (qid int, v vector($dim), b bit(32));
	INSERT INTO queries SELECT q, ARRAY[$array_sql], floor(random() * 4294967296)::bigint::bit(32)
	FROM generate_series(1, 10) q;
));
$primary->safe_psql('postgres', "CREATE TABLE tst (id serial, v vector($dim), b bit(32))");
$primary->safe_psql('postgres', qq(
	INSERT INTO tst (v, b) SELECT ARRAY[$array_sql], floor(random() * 4294967296)::bigint::bit(32)
	FROM generate_series(1, 8000);
));
$primary->safe_psql('postgres', qq(
	CREATE INDEX idx_l2 ON tst USING ivfflat (v vector_l2_ops) WITH (lists = $lists);
	CREATE INDEX idx_cos ON tst USING ruivfflat (v vector_cosine_ops) WITH (lists = $lists);
	CREATE INDEX idx_half ON tst USING ivfflat ((v::halfvec($dim)) halfvec_ip_ops) WITH (lists = $lists);
	CREATE INDEX idx_bit ON tst USING ivfflat (b bit_hamming_ops) WITH (lists = $lists);
));

# Orders of each index, with the query column they take.  Identical pages
# give identical answers, ties included, so no tie-breaker is needed (one
# would keep the planner from using the index).
my @orders = (
	[ 'v <-> %s', 'v' ],
	[ 'v <=> %s', 'v' ],
	[ "v::halfvec($dim) <#> %s::halfvec", 'v' ],
	[ 'b <~> %s', 'b' ]);

sub answers
{
	my ($node, $probes) = @_;
	return join("\n", map {
		$node->safe_psql('postgres', "SELECT ivf_answers('$_->[0]', '$_->[1]', $probes, 10)")
	} @orders);
}

sub compare
{
	my ($label) = @_;
	$primary->wait_for_catchup($replica);

	for my $probes (1, 4)
	{
		is(answers($replica, $probes), answers($primary, $probes),
			"$label: replica answers as the primary with $probes probes");
	}
	is($replica->safe_psql('postgres', "SELECT exact FROM ivf_eval('v', '<->', 'v', $lists, 10)"),
		't', "$label: L2 on the replica is exact with all lists probed");
	is($replica->safe_psql('postgres', "SELECT exact FROM ivf_eval('v', '<=>', 'v', $lists, 10)"),
		't', "$label: cosine on the replica is exact with all lists probed");

	my $plan = $replica->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		EXPLAIN SELECT id FROM tst ORDER BY v <-> (SELECT v FROM queries LIMIT 1) LIMIT 10;
	));
	like($plan, qr/Index Scan using idx_l2/, "$label: replica uses the index");
}

compare('after the build');

for my $i (1 .. 3)
{
	$primary->safe_psql('postgres', qq(
		INSERT INTO tst (v, b) SELECT ARRAY[$array_sql], floor(random() * 4294967296)::bigint::bit(32)
		FROM generate_series(1, 3000);
	));
	compare("after inserts $i");
	$primary->safe_psql('postgres', "DELETE FROM tst WHERE id % 7 = $i");
	$primary->safe_psql('postgres', 'VACUUM tst');
	compare("after delete and VACUUM $i");
}

# Entries of rows inserted one transaction at a time, in many lists.
$primary->safe_psql('postgres', qq(
	DO \$\$ BEGIN
		FOR i IN 1 .. 300 LOOP
			INSERT INTO tst (v, b) VALUES (ARRAY[$array_sql], (i * 97)::bit(32));
			COMMIT;
		END LOOP;
	END \$\$;
));
compare('after single-row transactions');

$replica->stop;
$primary->stop;
done_testing();
