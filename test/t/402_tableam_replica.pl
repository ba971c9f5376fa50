# ruvector_heap on a streaming replica: the standby replays tier moves
# (ruvector_tier resource manager, loaded through shared_preload_libraries
# there too) and returns the same rows as the primary, for sq8 and for PQ
# (whose codebook row arrives through ordinary replication).  A query that
# holds a page while its move is replayed holds up the replay (cleanup
# lock) and reads correct values; the replay then completes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = 3000;
my $dim = 16;

my $primary = PostgreSQL::Test::Cluster->new('tam_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq(
shared_preload_libraries = 'ruvector'
# moves by ruvector_compact only: the tier worker (407) is off here
ruvector.tier_max_blocks_per_round = 0
wal_consistency_checking = 'ruvector_tier'
));
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION ruvector');
$primary->safe_psql('postgres', qq(
	CREATE TABLE ref (id int PRIMARY KEY, v vector($dim));
	INSERT INTO ref SELECT i, (SELECT array_agg(sin(i * $dim + j)::real) FROM generate_series(1, $dim) j)
	FROM generate_series(1, $rows) i;
	CREATE TABLE t (id int PRIMARY KEY, v vector($dim)) USING ruvector_heap;
	INSERT INTO t SELECT * FROM ref;
	CREATE TABLE tp (id int PRIMARY KEY, v vector($dim)) USING ruvector_heap;
	INSERT INTO tp SELECT * FROM ref;
));

$primary->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('tam_standby');
$standby->init_from_backup($primary, 'bkp', has_streaming => 1);
# Wait for pins instead of cancelling queries, so the test can watch the
# replay wait for one.
$standby->append_conf('postgresql.conf', qq(
max_standby_streaming_delay = -1
));
$standby->start;

my $rows_sql = "SELECT md5(string_agg(id || ':' || v::text, ',' ORDER BY id)) FROM";

sub same_rows
{
	my ($table, $label) = @_;
	$primary->wait_for_catchup($standby);
	my $p = $primary->safe_psql('postgres', "$rows_sql $table");
	my $s = $standby->safe_psql('postgres', "$rows_sql $table");
	is($s, $p, "$label: the standby returns the primary's rows");
	is($standby->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('$table')"),
		'0', "$label: ruvector_tier_verify on the standby finds no problem");
	return $p;
}

my $before = same_rows('t', 'before any move');

# sq8 moves, replayed.
$primary->safe_psql('postgres', qq(
	SELECT ruvector_set_tiers('t', 'v', '{"exactness": "sq8", "sq8": {}}');
	SELECT * FROM ruvector_compact('t');
));
my $after = same_rows('t', 'after an sq8 compact');
isnt($after, $before, 'the compact changed the values (sq8 is lossy)');
is($standby->safe_psql('postgres', "SELECT rows FROM ruvector_tier_report('t') WHERE tier = 'sq8'"),
	$rows, 'the standby sees every row in sq8');

# PQ: the codebook is trained and committed by ruvector_set_tiers.
$primary->safe_psql('postgres',
	qq(SELECT ruvector_set_tiers('tp', 'v', '{"exactness": "pq", "pq": {"m": 8}}')));
$primary->safe_psql('postgres', "SELECT * FROM ruvector_compact('tp')");
same_rows('tp', 'after a PQ compact');
is($standby->safe_psql('postgres', "SELECT rows FROM ruvector_tier_report('tp') WHERE tier = 'pq'"),
	$rows, 'the standby sees every row in pq');

# A standby query holds the first page (an open cursor) while the primary
# moves it: replay waits for the pin.
$primary->safe_psql('postgres', qq(
	DROP TABLE t;
	CREATE TABLE t (id int PRIMARY KEY, v vector($dim)) USING ruvector_heap;
	INSERT INTO t SELECT * FROM ref;
	SELECT ruvector_set_tiers('t', 'v', '{"exactness": "sq8", "sq8": {}}');
));
$primary->wait_for_catchup($standby);
my $reader = $standby->background_psql('postgres');
$reader->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$reader->query_safe('DECLARE c NO SCROLL CURSOR FOR SELECT t.id, t.v FROM t');
my $first = $reader->query_safe('FETCH 5 FROM c');
is(scalar(split /\n/, $first), 5, 'the standby cursor read the first rows');

$primary->safe_psql('postgres', "SELECT * FROM ruvector_compact('t')");
my $target = $primary->lsn('insert');
ok( $standby->poll_query_until('postgres',
		"SELECT wait_event = 'BufferPin' FROM pg_stat_activity WHERE backend_type = 'startup'"),
	'replay waits for the pin of the standby query');
ok( $standby->safe_psql('postgres', "SELECT pg_last_wal_replay_lsn() < '$target'") eq 't',
	'replay has not passed the move meanwhile');

# The cursor goes on reading while the replay waits and then continues:
# every row it returns is the row's value, before or after its move.
my $rest = $reader->query_safe('FETCH ALL FROM c');
$reader->query_safe('COMMIT');
my @got = grep { length } (split(/\n/, $first), split(/\n/, $rest));
is(scalar(@got), $rows, 'the standby query returned every row');
my %ref = map { split /\|/ } split /\n/, $standby->safe_psql('postgres', 'SELECT id, v FROM ref');
my $bad = 0;
foreach my $line (@got)
{
	my ($id, $v) = split /\|/, $line;
	my @a = split /,/, substr($v, 1, -1);
	my @b = split /,/, substr($ref{$id}, 1, -1);
	for my $i (0 .. $#b)
	{
		$bad++, last if abs($a[$i] - $b[$i]) > 0.0045;
	}
}
is($bad, 0, 'every value read during the replay is within the sq8 error of the row');
$reader->quit;

same_rows('t', 'after the replay that waited');
is($standby->safe_psql('postgres', "SELECT rows FROM ruvector_tier_report('t') WHERE tier = 'sq8'"),
	$rows, 'the delayed moves were replayed');

# A promoted standby keeps the tiers and can move blocks itself.
$primary->safe_psql('postgres', "INSERT INTO t SELECT id + $rows, v FROM ref WHERE id <= 100");
$primary->wait_for_catchup($standby);
$primary->stop;
$standby->promote;
$standby->safe_psql('postgres', "SELECT * FROM ruvector_compact('t')");
is($standby->safe_psql('postgres', "SELECT rows FROM ruvector_tier_report('t') WHERE tier = 'sq8'"),
	$rows + 100, 'the promoted standby compacts the new rows');
is($standby->safe_psql('postgres', "SELECT count(*) FROM ruvector_tier_verify('t')"),
	'0', 'and its table verifies');

$standby->stop;
done_testing();
