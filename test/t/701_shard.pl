# Sharded vector tables (src/shard, docs/sharding.md): a coordinator whose
# hash-partitioned table has its two partitions on two shard servers
# (postgres_fdw), a streaming standby of the first shard, and a single-node
# copy of the same rows on the coordinator.
#
# - top-10 by exact search through the parent equals the single node's for
#   200 real queries (glove-100, 10,000 rows), by the direct path (one
#   prepared statement per query on the shard, seen in its log) and by
#   postgres_fdw (ruvector.shard_direct off);
# - in a transaction block after a write the postgres_fdw path runs, sees
#   the transaction's own insert, and EXPLAIN shows its plan; a READ
#   COMMITTED block that wrote nothing reads directly, a REPEATABLE READ
#   one through postgres_fdw;
# - filters postgres_fdw would ship go in the direct path's statements
#   (constants and client parameters as parameters: 200 queries with
#   constants of their own are one statement on the shard), others are
#   planned through postgres_fdw, both with the single node's answers; a
#   cached plan follows the servers' extensions option; text with an
#   accent comes back right to a LATIN1 client; a regclass constant and
#   column (the table has another OID on each server) give the single
#   node's rows;
# - the session's plan cache of text queries (shard_cache.c) serves the
#   next vector, and sees ALTER SERVER, ALTER FOREIGN TABLE, DETACH; after
#   a change of search_path (an inlined SQL function), role or row_security
#   (a parent with a row security policy) a statement gets what it gets
#   with the cache off;
# - the direct path's cached connection follows ALTER SERVER and survives
#   the shard dropping it; a role without a user mapping, or with one but
#   no password, gets postgres_fdw's error on both paths, and with
#   password_required 'false' the same rows;
# - EXPLAIN VERBOSE shows ORDER BY ... LIMIT in each shard's Remote SQL and
#   the shards scanned asynchronously; with ruvector.shard_pushdown off the
#   LIMIT is gone (so the check can fail);
# - HNSW recall@10 sharded and single-node against the exact answers;
# - a prepared statement follows DETACH/ATTACH PARTITION;
# - the caller's privilege on the parent is still checked (42501);
# - rows inserted through the parent land on the shard hashing says;
# - the standby answers the same top-10 as its primary, directly and as a
#   partition of a read-only parent on the coordinator;
# - ruvector_shard_create turns a plain table with an awkward name into a
#   sharded one (rows moved, text with a tab intact, an HNSW index on each
#   shard), and refuses ruvector_admin (superuser only);
# - a stopped shard gives postgres_fdw's error naming its server, or, with
#   ruvector.shard_partial_results, a WARNING naming it and the other
#   shard's rows.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvData;

my $data = rv_data_dir();
plan skip_all => "no shared data sets at $data" unless -f "$data/glove-100/base.fvecs";

my $nbase = 10000;
my $nquery = 200;

my $shard1 = PostgreSQL::Test::Cluster->new('shard1');
# UTF8 databases: text must reach the shards and come back in the database
# encoding whatever the client's (a check below runs in LATIN1)
my @utf8 = (extra => [ '--encoding=UTF8', '--locale=C' ]);
$shard1->init(allows_streaming => 1, @utf8);
$shard1->start;
$shard1->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('shard1_standby');
$standby->init_from_backup($shard1, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', 'hot_standby_feedback = on');
$standby->start;
my $shard2 = PostgreSQL::Test::Cluster->new('shard2');
$shard2->init(@utf8);
$shard2->start;
my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init(@utf8);
$coord->append_conf('postgresql.conf', "shared_preload_libraries = 'ruvector'");
$coord->start;

for my $shard ($shard1, $shard2)
{
	$shard->safe_psql('postgres', qq(
		CREATE EXTENSION ruvector;
		CREATE TABLE items (id int PRIMARY KEY, v vector(100));
	));
}

# The servers list ruvector in extensions (so <-> ships) and are async_capable
my $servers = '';
for ([ 'shard1', $shard1 ], [ 'shard2', $shard2 ], [ 'shard1_ro', $standby ])
{
	my ($name, $node) = @$_;
	$servers .= sprintf(qq(
		CREATE SERVER %s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '%s',
			port '%d', dbname 'postgres', extensions 'ruvector',
			async_capable 'true', batch_size '500');
		CREATE USER MAPPING FOR CURRENT_USER SERVER %s;),
		$name, $node->host, $node->port, $name);
}
$coord->safe_psql('postgres', qq(
	CREATE EXTENSION ruvector;
	CREATE EXTENSION postgres_fdw;
	$servers
	CREATE TABLE items (id int, v vector(100)) PARTITION BY HASH (id);
	CREATE FOREIGN TABLE items_s1 PARTITION OF items
		FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'items');
	CREATE FOREIGN TABLE items_s2 PARTITION OF items
		FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'items');
	CREATE TABLE single (id int PRIMARY KEY, v vector(100));
	CREATE TABLE queries (id int PRIMARY KEY, v vector(100));
));

# Load the single node by COPY, the sharded table through its parent
my $base = read_fvecs("$data/glove-100/base.fvecs", $nbase);
my $queries = read_fvecs("$data/glove-100/query.fvecs", $nquery);
my $copy = "COPY single FROM STDIN;\n";
$copy .= "$_\t$base->[$_]\n" for 0 .. $#$base;
$copy .= "\\.\nCOPY queries FROM STDIN;\n";
$copy .= "$_\t$queries->[$_]\n" for 0 .. $#$queries;
$copy .= "\\.\n";
$coord->safe_psql('postgres', $copy);
$coord->safe_psql('postgres', 'INSERT INTO items SELECT * FROM single');
is($shard1->safe_psql('postgres', 'SELECT count(*) FROM items')
	  + $shard2->safe_psql('postgres', 'SELECT count(*) FROM items'),
	$nbase, 'every row is on a shard');

# One statement per query (the rewrite is per query level), one result line
# each: the ids of the top 10 in order
sub topk_lines
{
	my ($node, $table, $order, $settings) = @_;
	my $sql = ($settings // '') . "\n";
	for my $q (@$queries)
	{
		$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM $table ORDER BY v <-> '$q'$order LIMIT 10) s;\n";
	}
	return [ split /\n/, $node->safe_psql('postgres', $sql) ];
}

sub count_equal
{
	my ($a, $b) = @_;
	return scalar grep { $a->[$_] eq $b->[$_] } 0 .. $#$a;
}

sub recall
{
	my ($got, $truth) = @_;
	my ($hit, $all) = (0, 0);
	for my $i (0 .. $#$truth)
	{
		my %t = map { $_ => 1 } split /,/, $truth->[$i];
		$hit += grep { $t{$_} } split /,/, $got->[$i];
		$all += scalar keys %t;
	}
	return $hit / $all;
}

# The postgres_fdw plan (the direct path off): LIMIT in each Remote SQL,
# the shards scanned asynchronously
my $q0 = $queries->[0];
my $explain = $coord->safe_psql('postgres', "SET ruvector.shard_direct = off;
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10");
my @remote = $explain =~ /Remote SQL: ([^\n]*)/g;
is(scalar @remote, 2, 'one remote query per shard');
is(scalar(grep { /ORDER BY \(v OPERATOR\(public\.<->\) .*\) ASC NULLS LAST LIMIT 10::bigint$/ } @remote),
	2, 'ORDER BY distance LIMIT 10 pushed to each shard')
  or diag $explain;
is(scalar(() = $explain =~ /Async Foreign Scan/g), 2, 'shards scanned asynchronously');
unlike($explain, qr/Merge Append/, 'no Merge Append');
my $plain = $coord->safe_psql('postgres', "SET ruvector.shard_pushdown = off;
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10");
unlike($plain, qr/LIMIT 10::bigint/, 'without the rewrite postgres_fdw pushes no LIMIT');

# The direct path (shard_direct.c): one prepared statement per shard,
# shipping id and the distance, with the postgres_fdw plan kept below it
my $direct = $coord->safe_psql('postgres',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10");
like($direct, qr/Custom Scan \(RuVectorShardTopK\).*Shard Path: direct/s,
	'direct path chosen outside a transaction block');
unlike($direct, qr/Foreign Scan/, 'the postgres_fdw plan is not made for it');
my @shard_sql = $direct =~ /Shard SQL: ([^\n]*)/g;
is(scalar(grep { /^shard[12]: SELECT id, \(v OPERATOR\(public\.<->\) \$1::public\.vector\) FROM public\.items ORDER BY 2 ASC NULLS LAST LIMIT 10$/ } @shard_sql),
	2, 'each shard is sent one statement: id and the distance, ORDER BY, LIMIT')
  or diag $direct;

# Exact search on both sides (no index yet): identical top 10, through the
# direct path (each query one prepared statement on the shard, no cursor)
# and through postgres_fdw
my $exact_single = topk_lines($coord, 'single', ', id');
my $log_at = -s $shard2->logfile;
$shard2->safe_psql('postgres', "ALTER SYSTEM SET log_statement = 'all'; SELECT pg_reload_conf()");
my $exact_sharded = topk_lines($coord, 'items', ', id');
$shard2->safe_psql('postgres', "ALTER SYSTEM RESET log_statement; SELECT pg_reload_conf()");
my $shard2_log = substr(slurp_file($shard2->logfile), $log_at);
is(scalar(() = $shard2_log =~ /execute ruvector_shard_\d+: SELECT .* LIMIT 10\n/g), $nquery,
	"direct path: one prepared statement per query on the shard ($nquery queries)");
unlike($shard2_log, qr/DECLARE|START TRANSACTION/, 'direct path: no cursor, no remote transaction');
is(count_equal($exact_sharded, $exact_single), $nquery,
	"sharded exact top-10 identical to single node for $nquery queries");
my $exact_fdw = topk_lines($coord, 'items', ', id', 'SET ruvector.shard_direct = off;');
is(count_equal($exact_fdw, $exact_single), $nquery,
	"postgres_fdw path (shard_direct off): identical for $nquery queries");

my $top1 = $exact_single->[0] =~ s/,.*//r;

# In a transaction block after a write the postgres_fdw path runs: it sees the
# transaction's own insert through the parent
my $txn = $coord->safe_psql('postgres', qq(
	SET plan_cache_mode = force_generic_plan;
	PREPARE pt(vector, int) AS SELECT id FROM items ORDER BY v <-> \$1 LIMIT \$2;
	BEGIN;
	INSERT INTO items VALUES (900000, '$q0');
	SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;
	EXECUTE pt('$q0', 1);
	EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;
	ROLLBACK;
	SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;));
like($txn, qr/^900000\n900000\n/,
	"transaction block: the top-k sees the transaction's own insert (also a generic plan, LIMIT \$2)");
like($txn, qr/Shard Path: postgres_fdw.*Async Foreign Scan on items_s1.*Async Foreign Scan on items_s2/s,
	'transaction block: through postgres_fdw, whose plan EXPLAIN shows under the CustomScan')
  or diag $txn;
like($txn, qr/\n$top1\z/, 'after ROLLBACK (direct): the row is gone');

# A READ COMMITTED transaction block that has written nothing reads the
# shards directly; a REPEATABLE READ one goes through postgres_fdw (one
# snapshot per shard for the whole transaction)
my $rc = $coord->safe_psql('postgres', qq(
	BEGIN;
	EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;
	SELECT id FROM items ORDER BY v <-> '$q0', id LIMIT 1;
	COMMIT;
	SELECT '--';
	BEGIN ISOLATION LEVEL REPEATABLE READ;
	EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;
	SELECT id FROM items ORDER BY v <-> '$q0', id LIMIT 1;
	COMMIT;));
my @rc = split /\n--\n/, $rc;
like($rc[0], qr/Shard Path: direct.*\n$top1\z/s, 'READ COMMITTED block, nothing written: direct path')
  or diag $rc;
like($rc[1], qr/Shard Path: postgres_fdw.*\n$top1\z/s, 'REPEATABLE READ block: postgres_fdw path')
  or diag $rc;

# Filters: what postgres_fdw would ship goes in each shard's statement
# (constants and client parameters as $n); anything else is
# planned through postgres_fdw.  Exact search, so equal to the single node.
my $nfilter = 50;
my @filter_q = @$queries[ 0 .. $nfilter - 1 ];
sub filtered_lines
{
	my ($table, $where, $settings) = @_;
	my $sql = ($settings // '') . "\n";
	$sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM $table WHERE $where ORDER BY v <-> '$_', id LIMIT 10) s;\n"
	  for @filter_q;
	return [ split /\n/, $coord->safe_psql('postgres', $sql) ];
}
my $fexplain = $coord->safe_psql('postgres',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items WHERE id % 3 = 0 AND id IN (3, 6, 9, 12) IS NOT TRUE ORDER BY v <-> '$q0' LIMIT 10");
unlike($fexplain, qr/RuVectorShardTopK/, 'a filter with IS NOT TRUE (not sent directly): no direct path');
$fexplain = $coord->safe_psql('postgres',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items WHERE id % 3 = 0 AND NOT id = ANY ('{3,6,9}') ORDER BY v <-> '$q0' LIMIT 10");
like($fexplain, qr/Shard SQL: shard1: SELECT id, \(v OPERATOR\(public\.<->\) \$1::public\.vector\) FROM public\.items WHERE \(\(\(id OPERATOR\(pg_catalog\.%\) \$2::integer\) OPERATOR\(pg_catalog\.=\) \$3::integer\) AND \(NOT \(id OPERATOR\(pg_catalog\.=\) ANY \(\$4::integer\[\]\)\)\)\) ORDER BY 2/,
	'a filter of built-in operators: sent in each shard\'s statement, its constants as parameters')
  or diag $fexplain;
like($fexplain, qr/Shard Parameters: \$2 = 3, \$3 = 0, \$4 = '\{3,6,9\}'::integer\[\](\n|\z)/,
	'EXPLAIN VERBOSE shows the constants sent') or diag $fexplain;
my $where = "id % 3 = 0 AND NOT id = ANY ('{3,6,9}')";
is(count_equal(filtered_lines('items', $where), filtered_lines('single', $where)), $nfilter,
	"filtered top-10 through the direct path identical to the single node ($nfilter queries)");
# Constants reach the shards as they are, whatever this session prints
# (in binary; as literals, with extra_float_digits 0 a float printed with
# 15 digits, 999.0000000000001 as 999, let row 999 through on the shard)
my $v999 = $coord->safe_psql('postgres', "SELECT v FROM single WHERE id = 999");
my @near999 = map {
	$coord->safe_psql('postgres', "SET extra_float_digits = 0; SET datestyle = 'SQL, DMY';
		SELECT string_agg(id::text, ',') FROM (SELECT id FROM $_ WHERE id::float8 >= '999.0000000000001'::float8
		ORDER BY v <-> '$v999', id LIMIT 10) s")
} qw(items single);
is($near999[0], $near999[1], 'a float constant reaches the shards with every digit')
  or diag "sharded $near999[0], single $near999[1]";
unlike($near999[0], qr/^999,/, 'the row the constant excludes stays out');
like($coord->safe_psql('postgres', "SET extra_float_digits = 0;
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items WHERE id::float8 >= '999.0000000000001'::float8
	ORDER BY v <-> '$v999' LIMIT 10"), qr/OPERATOR\(pg_catalog\.>=\) \$2::double precision\).*Shard Parameters: \$2 = '999\.0000000000001'/s,
	'the float constant is a parameter, EXPLAIN shows every digit');
$coord->safe_psql('postgres', q(CREATE FUNCTION local_pick(int) RETURNS bool IMMUTABLE
	LANGUAGE plpgsql AS $$ BEGIN RETURN $1 % 5 = 1; END $$));
$fexplain = $coord->safe_psql('postgres',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items WHERE local_pick(id) ORDER BY v <-> '$q0' LIMIT 10");
unlike($fexplain, qr/RuVectorShardTopK/, 'a function not on the shards: postgres_fdw path');
like($fexplain, qr/Filter: local_pick\(items_s1\.id\)/, 'the filter applied on the coordinator')
  or diag $fexplain;
is(count_equal(filtered_lines('items', 'local_pick(id)'), filtered_lines('single', 'local_pick(id)')),
	$nfilter, "a filter kept on the coordinator: identical too ($nfilter queries)");
# a client parameter in the filter ships as $2 (generic plan of a prepared statement)
my $pf_sql = "SET plan_cache_mode = force_generic_plan;
	PREPARE pf(vector, int) AS SELECT string_agg(id::text, ',') FROM
		(SELECT id FROM %s WHERE id % \$2 = 1 ORDER BY v <-> \$1, id LIMIT 10) s;\n";
my ($psharded, $psingle) = (sprintf($pf_sql, 'items'), sprintf($pf_sql, 'single'));
$psharded .= "EXECUTE pf('$_', 7);\n" for @filter_q;
$psingle .= "EXECUTE pf('$_', 7);\n" for @filter_q;
$fexplain = $coord->safe_psql('postgres', sprintf($pf_sql, 'items') .
	"EXPLAIN (VERBOSE, COSTS OFF) EXECUTE pf('$q0', 7)");
like($fexplain, qr/WHERE \(\(id OPERATOR\(pg_catalog\.%\) \$2::integer\) OPERATOR\(pg_catalog\.=\) \$3::integer\)/,
	'a parameter in the filter: shipped as $2 (and the constant as $3)') or diag $fexplain;
is(count_equal([ split /\n/, $coord->safe_psql('postgres', $psharded) ],
		[ split /\n/, $coord->safe_psql('postgres', $psingle) ]),
	$nfilter, "parameter in the filter: identical ($nfilter queries)");

# OID-alias values (regclass and the like) name objects whose OIDs differ
# from server to server: they go to the shards, and come back, as text
# (RvShardBinaryValue).  In binary the coordinator's OID of reg_a selected
# no row on a shard, and the shards' OIDs came back as other objects.
$shard1->safe_psql('postgres', 'CREATE TABLE reg_pad1 (); CREATE TABLE reg_pad2 ();');
$shard2->safe_psql('postgres', 'CREATE TABLE reg_pad1 ();');
for my $node ($shard1, $shard2, $coord)
{
	$node->safe_psql('postgres', 'CREATE TABLE reg_a (); CREATE TABLE reg_b ();');
}
for my $shard ($shard1, $shard2)
{
	$shard->safe_psql('postgres', 'CREATE TABLE regs (id int PRIMARY KEY, v vector(2), src regclass)');
}
$coord->safe_psql('postgres', q(
	CREATE TABLE regs (id int, v vector(2), src regclass) PARTITION BY HASH (id);
	CREATE FOREIGN TABLE regs_s1 PARTITION OF regs
		FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'regs');
	CREATE FOREIGN TABLE regs_s2 PARTITION OF regs
		FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'regs');
	CREATE TABLE regs_single (id int PRIMARY KEY, v vector(2), src regclass);
	INSERT INTO regs SELECT g, ('[' || g || ',0]')::vector,
		CASE WHEN g % 3 = 0 THEN 'reg_a' ELSE 'reg_b' END::regclass FROM generate_series(1, 60) g;
	INSERT INTO regs_single SELECT * FROM regs;
));
isnt($shard1->safe_psql('postgres', "SELECT 'reg_a'::regclass::oid"),
	$coord->safe_psql('postgres', "SELECT 'reg_a'::regclass::oid"),
	'reg_a has another OID on the shard than on the coordinator');
my $reginner = "SELECT id, src FROM %s WHERE src = 'reg_a'::regclass ORDER BY v <-> '[10,0]', id LIMIT 6";
like($coord->safe_psql('postgres', 'EXPLAIN (VERBOSE, COSTS OFF) ' . sprintf($reginner, 'regs')),
	qr/Shard Path: direct/, 'a regclass filter: direct path');
my @regs = map {
	$coord->safe_psql('postgres', "SELECT string_agg(id || ':' || src, ',') FROM ("
		  . sprintf($reginner, $_) . ") s")
} qw(regs regs_single);
like($regs[1], qr/^(\d+:reg_a,){5}\d+:reg_a$/, 'the single node: six rows of reg_a');
is($regs[0], $regs[1], 'a regclass constant and column through the direct path: the single node\'s rows');

# Filter constants are parameters of the shards' statement: 200 queries,
# each with a constant of its own, are one statement prepared on each
# shard (as literals they were 200, and DEALLOCATE ALL past 64), with the
# single node's answers
my ($vsharded, $vsingle) = ('', '');
for my $i (0 .. $nquery - 1)
{
	my $c = 7 * $i;
	for ([ \$vsharded, 'items' ], [ \$vsingle, 'single' ])
	{
		${ $_->[0] } .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM $_->[1] "
		  . "WHERE id >= $c AND id % 5 <> 2 ORDER BY v <-> '$queries->[$i]', id LIMIT 10) s;\n";
	}
}
$log_at = -s $shard2->logfile;
$shard2->safe_psql('postgres', "ALTER SYSTEM SET log_statement = 'all'; SELECT pg_reload_conf()");
my @vs = split /\n/, $coord->safe_psql('postgres', $vsharded);
$shard2->safe_psql('postgres', "ALTER SYSTEM RESET log_statement; SELECT pg_reload_conf()");
$shard2_log = substr(slurp_file($shard2->logfile), $log_at);
my %vtexts = map { $_ => 1 } $shard2_log =~ /execute ruvector_shard_\d+: (SELECT [^\n]*)\n/g;
is(count_equal(\@vs, [ split /\n/, $coord->safe_psql('postgres', $vsingle) ]), $nquery,
	"$nquery queries, a filter constant of their own each: identical to the single node");
is(scalar(() = $shard2_log =~ /execute ruvector_shard_\d+: SELECT /g), $nquery,
	'each ran the prepared statement on the shard');
is(scalar keys %vtexts, 1, 'one statement prepared on the shard for every constant')
  or diag join "\n", sort keys %vtexts;
unlike($shard2_log, qr/DEALLOCATE/, 'the shard\'s statements are never deallocated');

# Text travels as text: in binary it would be converted to this session's
# client_encoding (LATIN1 here) on the way, not to the shard connection's
# (the database encoding); rows, filter constants and client parameters
$_->safe_psql('postgres', 'CREATE TABLE notes (id int PRIMARY KEY, note text, v vector(100))')
  for ($shard1, $shard2);
$coord->safe_psql('postgres', q(
	CREATE TABLE notes (id int, note text, v vector(100)) PARTITION BY HASH (id);
	CREATE FOREIGN TABLE notes_s1 PARTITION OF notes
		FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'notes');
	CREATE FOREIGN TABLE notes_s2 PARTITION OF notes
		FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'notes');
	INSERT INTO notes SELECT id, chr(233) || id, v FROM single WHERE id < 1000;
	CREATE TABLE notes_single AS SELECT * FROM notes;));
my %latin1;
for my $t ('notes', 'notes_single')
{
	my $sql = "SET client_encoding = 'LATIN1';
		PREPARE pn(vector, text) AS SELECT string_agg(note, ',') FROM
			(SELECT note FROM $t WHERE note <> \$2 ORDER BY v <-> \$1, id LIMIT 3) s;\n";
	for my $q (@$queries[ 0 .. 9 ])
	{
		$sql .= "SELECT string_agg(note, ',') FROM (SELECT note FROM $t WHERE note <> '\xe97'
			ORDER BY v <-> '$q', id LIMIT 3) s;\nEXECUTE pn('$q', '\xe98');\n";
	}
	my ($r, $o, $e) = $coord->psql('postgres', $sql, on_error_stop => 0);
	$latin1{$t} = "$o\n$e";
}
is($latin1{notes}, $latin1{notes_single},
	'client_encoding LATIN1: notes with an accent come back as the single node\'s, filtered by constants and parameters');
like($latin1{notes}, qr/^\xe9\d+,\xe9\d+,\xe9\d+\n/, 'and they are LATIN1 text');

# A cached plan follows the servers' extensions option: without ruvector
# listed the distance cannot ship, with it back the direct path returns
my $inval = $coord->safe_psql('postgres', qq(
	SET plan_cache_mode = force_generic_plan;
	PREPARE pe(vector) AS SELECT id FROM items ORDER BY v <-> \$1 LIMIT 1;
	EXPLAIN (COSTS OFF) EXECUTE pe('$q0');
	SELECT '--';
	ALTER SERVER shard2 OPTIONS (SET extensions '');
	EXPLAIN (COSTS OFF) EXECUTE pe('$q0');
	EXECUTE pe('$q0');
	SELECT '--';
	ALTER SERVER shard2 OPTIONS (SET extensions 'ruvector');
	EXPLAIN (COSTS OFF) EXECUTE pe('$q0');
	EXECUTE pe('$q0');));
my @inval = split /\n--\n/, $inval;
like($inval[0], qr/RuVectorShardTopK/, 'prepared statement: direct path');
unlike($inval[1], qr/RuVectorShardTopK/, 'extensions option emptied: the cached plan is replanned without it');
like($inval[1], qr/\n$top1\z/, 'and answers the same');
like($inval[2], qr/RuVectorShardTopK.*\n$top1\z/s, 'extensions option back: direct path again')
  or diag $inval;

# The plan cache (shard_cache.c): a text query differing only in its
# vector takes the first one's plan with its own vector put in (the
# 200-query comparisons above ran through it); ALTER SERVER, ALTER FOREIGN
# TABLE and DETACH PARTITION are seen by the next query
my $q1 = $queries->[1];
my $q1top = $exact_single->[1] =~ s/,.*//r;
my $pc = $coord->safe_psql('postgres', qq(
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10;
	SELECT '--';
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q1' LIMIT 10;
	SELECT id FROM items ORDER BY v <-> '$q1', id LIMIT 1;
	SELECT '--';
	SET ruvector.shard_plan_cache = off;
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q1' LIMIT 10;
	RESET ruvector.shard_plan_cache;
	SELECT '--';
	ALTER SERVER shard2 OPTIONS (SET extensions '');
	EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10;
	SELECT id FROM items ORDER BY v <-> '$q1', id LIMIT 1;
	ALTER SERVER shard2 OPTIONS (SET extensions 'ruvector');
	SELECT '--';
	ALTER FOREIGN TABLE items_s2 OPTIONS (SET table_name 'items_elsewhere');
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10;
	ALTER FOREIGN TABLE items_s2 OPTIONS (SET table_name 'items');
	SELECT '--';
	ALTER TABLE items DETACH PARTITION items_s2;
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10;
	ALTER TABLE items ATTACH PARTITION items_s2 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
	SELECT '--';
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q1' LIMIT 10;
	SELECT id FROM items ORDER BY v <-> '$q1', id LIMIT 1;));
my @pc = split /\n--\n/, $pc;
# plain statements of different lengths (psql sends each as a query string
# of its own): the second finds the first one's plan
my $pc_plain = $coord->safe_psql('postgres', qq(
	SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10;
	SELECT 1;
	EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> '$q1' LIMIT 10;));
like($pc_plain, qr/Shard Plan: from the session's plan cache/,
	'plan cache: a plain SELECT\'s plan serves the next statement, of another length')
  or diag $pc_plain;
like($pc[0], qr/Shard Plan: planned for this statement/, 'plan cache: the first text query is planned');
like($pc[1], qr/Shard Plan: from the session's plan cache.*\n$q1top\z/s,
	'plan cache: the next one, another vector, takes its plan and answers for its own vector')
  or diag $pc[1];
like($pc[2], qr/Shard Plan: planned for this statement/, 'ruvector.shard_plan_cache off: planned');
unlike($pc[3], qr/RuVectorShardTopK/, 'plan cache: ALTER SERVER ... extensions is seen');
like($pc[3], qr/\n$q1top\z/, 'and the postgres_fdw plan answers');
like($pc[4], qr/shard2: SELECT .* FROM public\.items_elsewhere /, 'plan cache: ALTER FOREIGN TABLE is seen')
  or diag $pc[4];
is(scalar(() = $pc[5] =~ /Shard SQL:/g), 1, 'plan cache: DETACH PARTITION is seen') or diag $pc[5];
like($pc[6], qr/Shard SQL: shard1.*Shard SQL: shard2.*\n$q1top\z/s, 'and ATTACH: both shards again')
  or diag $pc[6];

# A cached connection: ALTER SERVER closes it (the next query connects with
# the new options), and one the shard dropped is replaced without an error
my $port2 = $shard2->port;
$shard2->safe_psql('postgres', "CREATE VIEW kill_direct AS SELECT pg_terminate_backend(pid) AS killed
	FROM pg_stat_activity WHERE application_name = 'ruvector'");
$coord->safe_psql('postgres', "CREATE FOREIGN TABLE kill_direct_s2 (killed bool) SERVER shard2
	OPTIONS (table_name 'kill_direct')");
my ($ret, $out, $err) = $coord->psql('postgres', qq(
	SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;
	ALTER SERVER shard2 OPTIONS (SET port '1');
	SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;
	ALTER SERVER shard2 OPTIONS (SET port '$port2');
	SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;
	SELECT killed FROM kill_direct_s2;
	SELECT pg_sleep(0.2);
	SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;), on_error_stop => 0);
like($err, qr/could not connect to server "shard2"/,
	'ALTER SERVER: the cached connection is dropped, the new port used');
is($out, "$top1\n$top1\nt\n\n$top1",
	'server set back: answers; a connection the shard dropped is replaced')
  or diag $err;
unlike($err, qr/terminating connection|server closed/, 'no error for the dropped connection');

# Privileges as postgres_fdw has them: no user mapping, a mapping without a
# password (non-superuser), and password_required 'false' without USAGE on
# the servers give the same answer on both paths
$coord->safe_psql('postgres', 'CREATE ROLE alice; GRANT SELECT ON items TO alice');
sub as_alice
{
	my @got;
	for my $direct ('on', 'off')
	{
		my ($r, $o, $e) = $coord->psql('postgres', qq(
			SET ruvector.shard_direct = $direct;
			SET ROLE alice;
			SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 1;));
		$e =~ s/^.*?(ERROR)/$1/s;
		push @got, $e ne '' ? $e : "rows: $o";
	}
	return @got;
}
my ($on, $off) = as_alice();
like($on, qr/^ERROR:  user mapping not found for "alice"/, 'no user mapping: postgres_fdw\'s error');
is($on, $off, 'no user mapping: the same error on both paths');
$coord->safe_psql('postgres', 'CREATE USER MAPPING FOR alice SERVER shard1;
	CREATE USER MAPPING FOR alice SERVER shard2');
($on, $off) = as_alice();
like($on, qr/^ERROR:  password is required/, 'mapping without a password: refused');
is($on, $off, 'mapping without a password: the same error on both paths');
$coord->safe_psql('postgres', "ALTER USER MAPPING FOR alice SERVER shard1 OPTIONS (ADD password_required 'false');
	ALTER USER MAPPING FOR alice SERVER shard2 OPTIONS (ADD password_required 'false')");
($on, $off) = as_alice();
is($on, "rows: $top1", "password_required 'false' (set by a superuser), no USAGE on the servers: answers");
is($on, $off, 'the same answer on both paths');

# HNSW on every side; recall of each against the exact answers
$_->safe_psql('postgres', 'CREATE INDEX ON items USING hnsw (v vector_l2_ops)')
  for ($shard1, $shard2);
$coord->safe_psql('postgres', 'CREATE INDEX ON single USING hnsw (v vector_l2_ops)');
my $hnsw_single = topk_lines($coord, 'single', '', 'SET enable_seqscan = off;');
my $hnsw_sharded = topk_lines($coord, 'items', '');
my ($r_single, $r_sharded) = (recall($hnsw_single, $exact_single), recall($hnsw_sharded, $exact_single));
note(sprintf('HNSW recall@10: single node %.4f, two shards %.4f', $r_single, $r_sharded));
cmp_ok($r_sharded, '>=', 0.9, 'sharded HNSW recall@10 >= 0.9');
cmp_ok($r_sharded, '>=', $r_single - 0.01, 'sharded recall not below the single node');

# A prepared statement (generic plan) follows partition changes
my $prep = $coord->safe_psql('postgres', qq(
	SET plan_cache_mode = force_generic_plan;
	PREPARE p(vector) AS SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> \$1 LIMIT 10) s;
	EXECUTE p('$q0');
	ALTER TABLE items DETACH PARTITION items_s2;
	EXECUTE p('$q0');
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10) s;
	ALTER TABLE items ATTACH PARTITION items_s2 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
	EXECUTE p('$q0');
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10) s;
));
my @prep = split /\n/, $prep;
my $s1_top = $shard1->safe_psql('postgres', "SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10) s");
is_deeply([ @prep[0, 1, 3] ], [ 10, 10, 10 ], 'prepared statement runs across DETACH/ATTACH');
is($prep[2], $s1_top, 'after DETACH only the remaining shard answers');
is($prep[4], $hnsw_sharded->[0], 'after ATTACH both shards answer again');

# Partitions in another column order, a dropped parent column, a local
# partition beside the foreign ones, a filter, a view: same rows as a
# single table (the view's outer ORDER BY ... LIMIT is not rewritten: the
# view is pulled up after the planner hook; docs/sharding.md)
$_->safe_psql('postgres', 'CREATE TABLE mix (v vector(100), note text, id int)') for ($shard1, $shard2);
$coord->safe_psql('postgres', qq(
	CREATE TABLE mix (id int, junk int, note text, v vector(100)) PARTITION BY HASH (id);
	ALTER TABLE mix DROP COLUMN junk;
	CREATE FOREIGN TABLE mix_0 (v vector(100), note text, id int) SERVER shard1 OPTIONS (table_name 'mix');
	CREATE FOREIGN TABLE mix_1 (v vector(100), note text, id int) SERVER shard2 OPTIONS (table_name 'mix');
	ALTER TABLE mix ATTACH PARTITION mix_0 FOR VALUES WITH (MODULUS 3, REMAINDER 0);
	ALTER TABLE mix ATTACH PARTITION mix_1 FOR VALUES WITH (MODULUS 3, REMAINDER 1);
	CREATE TABLE mix_2 PARTITION OF mix FOR VALUES WITH (MODULUS 3, REMAINDER 2);
	INSERT INTO mix SELECT id, 'n' || id, v FROM single WHERE id < 2000;
	CREATE TABLE mix_single AS SELECT * FROM mix;
	CREATE VIEW mix_even AS SELECT id, note, v FROM mix WHERE id % 2 = 0;
	CREATE VIEW mix_single_even AS SELECT id, note, v FROM mix_single WHERE id % 2 = 0;
));
my ($mix, $mix_single) = ('', '');
for my $q (@$queries[0 .. 19])
{
	for ([ \$mix, 'mix', 'mix_even' ], [ \$mix_single, 'mix_single', 'mix_single_even' ])
	{
		my ($acc, $t, $v) = @$_;
		$$acc .= $coord->safe_psql('postgres', qq(
			SELECT string_agg(note, ',') FROM (SELECT note FROM $t WHERE note LIKE 'n1%' ORDER BY v <-> '$q', id LIMIT 5) s;
			SELECT string_agg(id::text, ',') FROM (SELECT id FROM $t WHERE id % 5 <> 0 ORDER BY v <-> '$q', id LIMIT 5) s;
			SELECT string_agg(id::text, ',') FROM (SELECT id FROM $v ORDER BY v <-> '$q', id LIMIT 5) s;)) . "\n";
	}
}
is($mix, $mix_single, 'mixed partitions, column order, dropped column, filter, view: same rows as one table');
like($coord->safe_psql('postgres', "EXPLAIN (VERBOSE, COSTS OFF) SELECT note FROM mix WHERE id % 5 <> 0 ORDER BY v <-> '$q0' LIMIT 5"),
	qr/Async Foreign Scan on public\.mix_0.*LIMIT 5::bigint.*Seq Scan on public\.mix_2/s,
	'the mixed parent is rewritten: LIMIT on the foreign partitions, the local one scanned here');

# The parent's privileges are still checked after the rewrite
$coord->safe_psql('postgres', 'CREATE ROLE nobody');
($ret, $out, $err) = $coord->psql('postgres', qq(
	SET ROLE nobody;
	SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10;),
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/42501: permission denied for table items/, 'role without SELECT on the parent: 42501');

# The plan cache serves a query only where planning it again would give the
# same plan: a change of search_path (an inlined SQL function's body is
# parsed with it when the statement is planned), of role or of row_security
# gets what the same statement gets with the cache off.  Each statement
# runs with the cache on and then off, in one session, after a first query
# that left a plan in the cache.
$coord->safe_psql('postgres', q(
	CREATE SCHEMA sa; CREATE SCHEMA sb;
	CREATE FUNCTION sa.k() RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT 0';
	CREATE FUNCTION sb.k() RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT 1000000';
	SET check_function_bodies = off;	-- k() is found by the caller's search_path
	CREATE FUNCTION public.shift(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 + k()';
	GRANT USAGE ON SCHEMA sa, sb TO PUBLIC;
	CREATE TABLE rls_items (id int, v vector(100)) PARTITION BY HASH (id);
	CREATE FOREIGN TABLE rls_items_s1 PARTITION OF rls_items
		FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'items');
	CREATE FOREIGN TABLE rls_items_s2 PARTITION OF rls_items
		FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'items');
	ALTER TABLE rls_items ENABLE ROW LEVEL SECURITY;
	CREATE POLICY odd_only ON rls_items USING (id % 2 = 1);
	GRANT SELECT ON rls_items TO alice;));
# one statement (a vector of its own each time), cached and not
sub cache_pair
{
	my ($sql, $i) = @_;
	my $q = $queries->[$i];
	$sql =~ s/\$Q/'$q'/;
	return "SELECT '-- cache on';\n$sql;\nSET ruvector.shard_plan_cache = off;\n"
	  . "SELECT '-- cache off';\n$sql;\nRESET ruvector.shard_plan_cache;\n";
}
my $sp_sql = "SELECT shift(id) FROM items ORDER BY v <-> \$Q, id LIMIT 1";
my $rls_sql = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM rls_items ORDER BY v <-> \$Q, id LIMIT 5) s";
my $role_sql = "SELECT id FROM items ORDER BY v <-> \$Q, id LIMIT 1";
# name, statements, what the last one answers (or its error)
my @envs = (
	[ 'search_path changed', "SET search_path = public, sa;\n" . cache_pair($sp_sql, 10)
		  . "SET search_path = public, sb;\n" . cache_pair($sp_sql, 11), qr/^10\d{5}\n\z/ ],
	[ 'row_security on, a role under the policy', "SET ROLE alice;\n" . cache_pair($rls_sql, 12),
		qr/^\d*[13579](,\d*[13579]){4}\n\z/ ],
	[ 'row_security off, a role under the policy', "SET ROLE alice;\n" . cache_pair($rls_sql, 13)
		  . "SET row_security = off;\n" . cache_pair($rls_sql, 14),
		qr/query would be affected by row-level security policy for table "rls_items"/ ],
	[ 'row_security off, the owner', cache_pair($rls_sql, 15)
		  . "SET row_security = off;\n" . cache_pair($rls_sql, 16), qr/^\d+(,\d+){4}\n\z/ ],
	[ 'SET ROLE to a role without SELECT', cache_pair($role_sql, 17)
		  . "SET ROLE nobody;\n" . cache_pair($role_sql, 18), qr/permission denied for table items/ ],
	[ 'SET ROLE to a role with SELECT', cache_pair($role_sql, 19)
		  . "SET ROLE alice;\n" . cache_pair($role_sql, 20), qr/^\d+\n\z/ ]);
for my $env (@envs)
{
	my ($name, $sql, $want) = @$env;
	my ($r, $o, $e) = $coord->psql('postgres', $sql, on_error_stop => 0);
	# the last statement's answer (or error), with the cache on and off
	my @part = split /^-- cache (?:on|off)\n/m, $o . "\n", -1;
	my @errs = $e =~ /ERROR:\s+(.*)$/mg;
	my ($on, $off) = ($part[-2] // '', $part[-1] // '');
	is($on, $off, "plan cache, $name: the same answer as with the cache off")
	  or diag "stdout:\n$o\nstderr:\n$e";
	is(scalar(@errs) % 2, 0, "plan cache, $name: errors come in pairs") or diag $e;
	is($errs[-1] // '', $errs[-2] // '', "plan cache, $name: the same error") if @errs;
	like(@errs ? $errs[-1] : $on, $want, "plan cache, $name: the expected answer")
	  or diag "stdout:\n$o\nstderr:\n$e";
}

# Inserts through the parent land on the shard hashing picks
$coord->safe_psql('postgres',
	"INSERT INTO items SELECT 100000 + i, v FROM queries q(i, v) WHERE i < 40");
my $want_s1 = $coord->safe_psql('postgres',
	"SELECT string_agg(i::text, ',' ORDER BY i) FROM generate_series(100000, 100039) i
	 WHERE satisfies_hash_partition('items'::regclass, 2, 0, i)");
my $want_s2 = $coord->safe_psql('postgres',
	"SELECT string_agg(i::text, ',' ORDER BY i) FROM generate_series(100000, 100039) i
	 WHERE satisfies_hash_partition('items'::regclass, 2, 1, i)");
my $got_sql = "SELECT string_agg(id::text, ',' ORDER BY id) FROM items WHERE id >= 100000";
is($shard1->safe_psql('postgres', $got_sql), $want_s1, 'inserts for remainder 0 are on shard1');
is($shard2->safe_psql('postgres', $got_sql), $want_s2, 'inserts for remainder 1 are on shard2');
ok($want_s1 ne '' && $want_s2 ne '', 'both shards received rows');

# The standby answers its primary's top 10, directly and as a partition
$shard1->wait_for_catchup($standby);
my $standby_sql = "SET enable_seqscan = off;\n";
$standby_sql .= "SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$_' LIMIT 10) s;\n"
  for @$queries;
is($standby->safe_psql('postgres', $standby_sql), $shard1->safe_psql('postgres', $standby_sql),
	"standby's top-10 equals its primary's for $nquery queries");
$coord->safe_psql('postgres', qq(
	CREATE TABLE items_ro (id int, v vector(100)) PARTITION BY HASH (id);
	CREATE FOREIGN TABLE items_ro_s1 PARTITION OF items_ro
		FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1_ro OPTIONS (table_name 'items');
	CREATE FOREIGN TABLE items_ro_s2 PARTITION OF items_ro
		FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'items');
));
my $now_sharded = topk_lines($coord, 'items', '');
my $ro_sharded = topk_lines($coord, 'items_ro', '');
is(count_equal($ro_sharded, $now_sharded), $nquery,
	'a parent reading shard1 from its standby answers the same top-10');

# ruvector_shard_create: a plain table with an awkward name becomes a
# sharded one; the shard tables get the rows and an HNSW index
$coord->safe_psql('postgres', qq(
	CREATE SCHEMA "My Schema";
	CREATE TABLE "My Schema"."Docs; x" (id int PRIMARY KEY, note text, v vector(100));
	INSERT INTO "My Schema"."Docs; x" SELECT id, 'tab	here ' || id, v FROM single WHERE id < 3000;
	CREATE ROLE admin_only IN ROLE ruvector_admin;
	GRANT USAGE ON SCHEMA "My Schema" TO admin_only;
));
my $docs_exact = topk_lines($coord, '"My Schema"."Docs; x"', ', id');
($ret, $out, $err) = $coord->psql('postgres', qq(
	SET ROLE admin_only;
	SELECT ruvector_shard_create('"My Schema"."Docs; x"', '{shard1,shard2}');),
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/42501: permission denied for function ruvector_shard_create/,
	'ruvector_shard_create: ruvector_admin is refused (superuser only)');
is($coord->safe_psql('postgres',
	qq(SELECT ruvector_shard_create('"My Schema"."Docs; x"', '{shard1,shard2}'))),
	3000, 'ruvector_shard_create moves every row');
is($coord->safe_psql('postgres', qq(
	SELECT string_agg(c.relname || ':' || c.relkind::text, ',' ORDER BY c.relname)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'My Schema')),
	'Docs; x:p,Docs; x_shard_0:f,Docs; x_shard_1:f', 'parent and foreign partitions, old table gone');
my $remote_check = qq(SELECT count(*) || ':' || count(*) FILTER (WHERE note LIKE E'tab\there %')
	|| ':' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'My Schema' AND indexdef LIKE '%USING hnsw%')
	FROM "My Schema"."Docs; x");
my ($c1, $c2) = map { [ split /:/, $_->safe_psql('postgres', $remote_check) ] } ($shard1, $shard2);
is($c1->[0] + $c2->[0], 3000, 'the shards hold the rows');
ok($c1->[0] > 0 && $c2->[0] > 0, 'both shards got rows');
is_deeply([ $c1->[1], $c2->[1], $c1->[2], $c2->[2] ], [ $c1->[0], $c2->[0], 1, 1 ],
	'text with a tab survives; each shard has its hnsw index');
is($coord->safe_psql('postgres', qq(SELECT count(*) FROM "My Schema"."Docs; x" WHERE note LIKE E'tab\there %')),
	3000, 'the rows read back through the parent');
my $docs_hnsw = topk_lines($coord, '"My Schema"."Docs; x"', '');
my $docs_recall = recall($docs_hnsw, $docs_exact);
note(sprintf('ruvector_shard_create table: HNSW recall@10 %.4f', $docs_recall));
cmp_ok($docs_recall, '>=', 0.9, 'the created sharded table answers top-10 queries');

# A shard that is down
$s1_top = $shard1->safe_psql('postgres', "SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10) s");
$shard2->stop;
($ret, $out, $err) = $coord->psql('postgres',
	"SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10");
isnt($ret, 0, 'shard down: the query fails');
like($err, qr/could not connect to server "shard2"/, 'the error names the server');
($ret, $out, $err) = $coord->psql('postgres', qq(
	SET ruvector.shard_partial_results = on;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10) s;));
is($ret, 0, 'partial results: the query runs');
like($err, qr/WARNING:  shard "items_s2" on server "shard2" is not answering/,
	'partial results: a WARNING names the shard');
is($out, $s1_top, "partial results: shard1's top 10");
$shard2->start;
is($coord->safe_psql('postgres', qq(
	SET ruvector.shard_partial_results = on;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '$q0' LIMIT 10) s;)),
	$now_sharded->[0], 'shard back: both shards answer');

done_testing();
