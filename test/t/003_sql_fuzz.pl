# SQL-level fuzzer: every routine of the extension, found through pg_depend
# (so a new function is covered the day it is added), is called as a role
# that is not a superuser, with random arities, NULLs, wrong types, extreme
# sizes, malformed jsonb and text, and mutated Cypher.
#
# Passes only if no call crashes a backend and every error carries an
# SQLSTATE other than XX000/XX001 (internal errors: an elog that user input
# can reach is a bug).  Bounded: RV_SQL_FUZZ_CALLS calls per routine per role
# (default 150), each under statement_timeout.  RV_SQL_FUZZ_SEED reproduces a
# run; the seed is printed.
use strict;
use warnings;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $seed = $ENV{RV_SQL_FUZZ_SEED} // time();
my $calls_per_routine = $ENV{RV_SQL_FUZZ_CALLS} // 150;
srand($seed);
diag("RV_SQL_FUZZ_SEED=$seed RV_SQL_FUZZ_CALLS=$calls_per_routine");

my $node = PostgreSQL::Test::Cluster->new('fuzz');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ruvector'
statement_timeout = '5s'
log_min_messages = warning
});
$node->start;

# Two callers: fuzz_admin holds ruvector_admin (so the calls reach the code
# behind the privilege checks) and owns the fixtures; fuzz_nobody holds
# nothing (every privileged routine must refuse it cleanly).
$node->safe_psql('postgres', q{
	CREATE EXTENSION ruvector;
	CREATE ROLE fuzz_admin LOGIN IN ROLE ruvector_admin;
	CREATE ROLE fuzz_nobody LOGIN;
	GRANT CREATE ON SCHEMA public TO fuzz_admin;
});
$node->safe_psql('postgres', q{
	SET ROLE fuzz_admin;
	CREATE TABLE items (id int PRIMARY KEY, v vector(3), h halfvec(3), s sparsevec(5), b bit(3));
	INSERT INTO items SELECT i, ARRAY[sin(i), cos(i), i % 3]::real[]::vector,
		ARRAY[i % 5, 1, 2]::real[]::halfvec, '{1:1,3:2}/5', B'101' FROM generate_series(1, 300) i;
	CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops);
	CREATE INDEX items_ivf ON items USING ivfflat (v vector_cosine_ops) WITH (lists = 3);
	CREATE INDEX items_hnsw_sq8 ON items USING hnsw (v vector_cosine_ops) WITH (storage = sq8);
	CREATE VIEW items_view AS SELECT * FROM items;
	CREATE SEQUENCE items_seq;
	CREATE TABLE docs (id int PRIMARY KEY, v vector(4)) USING ruvector_heap;
	INSERT INTO docs SELECT i, ARRAY[i, 1, 2, 3]::real[]::vector FROM generate_series(1, 200) i;
	CREATE TABLE parted (id int, v vector(3)) PARTITION BY RANGE (id);
	RESET ROLE;
	SELECT ruvector_create_graph('g');
	SELECT ruvector_cypher('g', 'CREATE (:Person {name: ''Ann'', age: 30})-[:KNOWS]->(:Person {name: ''Bob'', age: 40})');
});

# The routines under test: every member of the extension callable from SQL
# (a routine with an argument of type internal cannot be).
my @routines;
for my $row (split /\n/, $node->safe_psql('postgres', q{
	SELECT p.proname, p.prokind, p.provariadic <> 0, p.pronargs,
		pg_catalog.array_to_string(p.proargtypes::regtype[], ',')
	FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
	WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
		AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'ruvector')
		AND NOT ('internal'::regtype = ANY (p.proargtypes::regtype[]))
	ORDER BY 1, 5}))
{
	my ($name, $kind, $variadic, $nargs, $types) = split /\|/, $row, -1;
	push @routines, { name => $name, kind => $kind, variadic => $variadic eq 't',
		types => [ $nargs > 0 ? split(/,/, $types) : () ] };
}
cmp_ok(scalar(@routines), '>', 100, 'the routines of the extension are found through pg_depend');
ok((grep { $_->{name} eq 'ruvector_cy_fn' } @routines), 'internal helpers are among them');

sub pick { return $_[ int(rand(scalar @_)) ]; }

sub random_floats
{
	my ($n) = @_;
	return join(',', map { pick('0', '1', '-1', '1e38', '-1e-38', sprintf('%.3f', rand(200) - 100)) } 1 .. $n);
}

my @cypher_corpus = (
	'MATCH (n) RETURN n', 'MATCH (n:Person {name: $name}) RETURN n.age',
	'MATCH (a)-[r:KNOWS]->(b) RETURN a, r, b', 'MATCH p = shortestPath((a)-[*]-(b)) RETURN p',
	'CREATE (n:X {v: [1,2,3]}) RETURN n', 'MATCH (n) SET n.c = coalesce(n.c, 0) + 1 RETURN n.c',
	'UNWIND range(1, 10) AS x RETURN sum(x)', 'MATCH (n) WHERE n.name =~ \'A.*\' RETURN count(*)',
	'RETURN sqrt(-1), log(0), toInteger(\'x\'), [x IN range(1,3) | x * 2]',
	'MATCH (n) DETACH DELETE n', 'MERGE (n:Y {k: 1}) RETURN n', 'RETURN 1 LIMIT -1',
	'MATCH (n) RETURN n ORDER BY n.age SKIP 1 LIMIT 1', 'WITH 1 AS x RETURN x / 0',
);

sub mutate
{
	my ($s) = @_;
	for (1 .. 1 + int(rand(3)))
	{
		my $pos = int(rand(length($s) + 1));
		my $op = int(rand(3));
		if ($op == 0) { substr($s, $pos, 1, '') if $pos < length($s); }
		elsif ($op == 1) { substr($s, $pos, 0, pick('(', ')', '[', ']', '{', '}', '-', '>', '*', '\'', '"', '$x', ' MATCH ', '..', '|', ':', ',', '\\')); }
		else { $s = $s x 2; }
	}
	return $s;
}

sub sql_text
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

# A literal of a given SQL type: mostly sensible values, often extreme or
# malformed ones, sometimes NULL.
sub value_of
{
	my ($type) = @_;
	return "NULL::$type" if rand() < 0.08;
	if ($type eq 'vector' || $type eq 'halfvec')
	{
		return pick("'[1,2,3]'::$type", "'[0,0,0]'::$type", "'[1,2,3,4]'::$type",
			"'[" . random_floats(1 + int(rand(8))) . "]'::$type",
			"array_fill(1::real, ARRAY[" . pick(1, 2000, 4000, 16000, 16001, 65535) . "])::$type",
			"'[]'::$type", "'[1,2'::$type", "'[NaN]'::$type", "'[1e39]'::$type",
			"(SELECT v::$type FROM items LIMIT 1)");
	}
	if ($type eq 'sparsevec')
	{
		return pick("'{1:1,3:2}/5'::sparsevec", "'{}/5'::sparsevec", "'{}/0'::sparsevec",
			"'{1000000000:1}/1000000000'::sparsevec", "'{3:1,1:2}/3'::sparsevec", "'{1:1}/100000'::sparsevec",
			"'{0:1}/3'::sparsevec", "'{1:NaN}/3'::sparsevec");
	}
	if ($type eq 'bit')
	{
		return pick("B'101'", "B''", "B'1'", "repeat('1', 64001)::bit varying::bit", "B'10101010101010101'");
	}
	if ($type eq 'integer' || $type eq 'bigint' || $type eq 'oid')
	{
		# Small numbers half the time: they select the cases of the
		# dispatching helpers (a function number, an operator code).
		return int(rand(64)) . "::$type" if rand() < 0.5;
		my @v = (0, 1, -1, 3, 28, 1000, 2147483647, -2147483648);
		push @v, ('9223372036854775807', '-9223372036854775808') if $type eq 'bigint';
		@v = (0, 1, 16, 1259, 4294967295) if $type eq 'oid';
		return pick(@v) . "::$type";
	}
	if ($type eq 'boolean') { return pick('true', 'false'); }
	if ($type eq 'text' || $type eq 'name' || $type eq 'cstring')
	{
		return pick(sql_text(pick(@cypher_corpus)) . "::$type", sql_text(mutate(pick(@cypher_corpus))) . "::$type",
			"'g'::$type", "'nosuchgraph'::$type", "''::$type", "'v'::$type", "'id'::$type", "'Person'::$type",
			"repeat('x', 100000)::$type", "'[1,2,3]'::$type", "'{1:1}/3'::$type", "'l2'::$type",
			"'cosine'::$type", "E'\\\\x'::$type", "'Robert''); DROP TABLE items; --'::$type");
	}
	if ($type eq 'jsonb')
	{
		return pick("'0'::jsonb", "'-1'::jsonb", "'2.5'::jsonb", "'1e300'::jsonb", "'\"2\"'::jsonb", "'true'::jsonb")
			if rand() < 0.4;
		return pick("'{}'::jsonb", "'[]'::jsonb", "'null'::jsonb", "'1'::jsonb", "'\"s\"'::jsonb",
			"'{\"name\": \"Ann\"}'::jsonb", "'[1, \"a\", null, {\"x\": [1,2]}]'::jsonb",
			"'{\"exactness\": \"pq\", \"pq\": {\"m\": 1000000, \"after_write\": 0}}'::jsonb",
			"'{\"exactness\": \"sq8\", \"sq8\": {\"after_write\": -1, \"after_read\": 1e300}}'::jsonb",
			"'{\"exactness\": \"float16\", \"float16\": {\"after_write\": 0, \"after_read\": 0}}'::jsonb",
			"(repeat('[', 5000) || repeat(']', 5000))::jsonb", "'{\"a\":'::jsonb",
			"'1e1000'::jsonb", "to_jsonb(repeat('y', 100000))", "'{\"limit\": 1.5, \"k\": -3}'::jsonb");
	}
	if ($type eq 'regclass')
	{
		return pick("'items'::regclass", "'items_hnsw'::regclass", "'items_ivf'::regclass",
			"'items_hnsw_sq8'::regclass", "'docs'::regclass", "'items_view'::regclass", "'items_seq'::regclass",
			"'parted'::regclass", "'pg_class'::regclass", "'items_pkey'::regclass", "0::regclass", "999999::regclass");
	}
	if ($type =~ /^(.*)\[\]$/)
	{
		my $elem = $1;
		my $n = pick(0, 1, 1, 2, 3, 5, 100);
		return "ARRAY[]::$type" if $n == 0;
		if ($elem eq 'jsonb' || $elem eq 'text' || $elem eq 'cstring')
		{
			return "ARRAY[" . join(',', map { value_of($elem) } 1 .. ($n > 5 ? 5 : $n)) . "]::$type";
		}
		return pick("ARRAY[" . join(',', map { pick('1', '0', '-1', '1e38', 'NULL', '3.5', 'NaN') } 1 .. $n) . "]::$type",
			"'{{1,2},{3,4}}'::$type", "array_fill(1, ARRAY[20000])::$type");
	}
	if ($type eq 'real' || $type eq 'double precision' || $type eq 'numeric')
	{
		return pick('0', '1', '-1', "'NaN'", "'Infinity'", '1e300', '-0') . "::$type";
	}
	return "NULL::$type";
}

# One call: usually the declared arity and types; sometimes one argument
# fewer or more, or an argument of another type.
my @all_types = qw(vector halfvec sparsevec bit integer bigint text jsonb regclass boolean jsonb[] bigint[] real[]);
sub random_call
{
	my ($r) = @_;
	my @types = @{ $r->{types} };
	my $shape = rand();
	if ($shape < 0.07 && @types) { pop @types; }
	elsif ($shape < 0.14) { push @types, pick(@all_types); }
	elsif ($shape < 0.25 && @types) { $types[ int(rand(@types)) ] = pick(@all_types); }

	my @args;
	for my $i (0 .. $#types)
	{
		my $t = $types[$i];
		if ($r->{variadic} && $i == $#types && $t =~ /\[\]$/ && rand() < 0.8)
		{
			(my $elem = $t) =~ s/\[\]$//;
			my $n = pick(0, 1, 2, 3, 7);
			push @args, $n == 0 ? "VARIADIC ARRAY[]::$t" : join(', ', map { value_of($elem) } 1 .. $n);
			next;
		}
		push @args, value_of($t);
	}
	my $list = join(', ', @args);
	return "SELECT $r->{name}($list) FROM items LIMIT 3" if $r->{kind} eq 'a';
	return "SELECT * FROM $r->{name}($list) LIMIT 5";
}

my $dir = tempdir(CLEANUP => 1);
my $total = 0;
my (@crashes, @internal, @no_sqlstate);
my %by_state;
for my $role ('fuzz_admin', 'fuzz_nobody')
{
	my @sql;
	my $n = $role eq 'fuzz_admin' ? $calls_per_routine : int($calls_per_routine / 4) + 1;
	for my $r (@routines)
	{
		# Variadic routines have many more shapes: give them more calls.
		push @sql, random_call($r) for 1 .. ($r->{variadic} ? 8 * $n : $n);
	}
	my $script = "$dir/$role.sql";
	open(my $fh, '>', $script) or die;
	print $fh "\\set VERBOSITY verbose\n";
	for my $i (0 .. $#sql)
	{
		# \warn goes to stderr, like the errors, so each error follows its marker.
		print $fh "\\warn CALL $i\n$sql[$i];\n";
	}
	close($fh);

	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-q', '-d', $node->connstr('postgres') . " user=$role", '-f', $script ],
		'>', \$stdout, '2>', \$stderr);
	$total += scalar(@sql);

	my $current = -1;
	for my $line (split /\n/, $stderr)
	{
		if ($line =~ /^CALL (\d+)$/) { $current = $1; next; }
		if ($line =~ /server closed the connection unexpectedly|connection to server was lost|terminated by signal/)
		{
			push @crashes, "$role: $sql[$current]";
			next;
		}
		next unless $line =~ /^psql:[^ ]* ERROR:  (.*)$/;
		my $msg = $1;
		if ($msg =~ /^([0-9A-Z]{5}): /)
		{
			$by_state{$1}++;
			push @internal, "$role: $sql[$current]\n    => $msg" if $1 =~ /^XX/;
		}
		else
		{
			push @no_sqlstate, "$role: $sql[$current]\n    => $msg";
		}
	}
	# A crash makes the postmaster restart every backend; psql then fails the
	# remaining calls.  Stop at the first role that crashed.
	last if @crashes;
}

diag("calls: $total; errors by SQLSTATE: " . join(' ', map { "$_=$by_state{$_}" } sort keys %by_state));
my $log = slurp_file($node->logfile);
my @signals = ($log =~ /(server process .* was terminated by signal \d+.*)/g);
is(scalar(@crashes) + scalar(@signals), 0, 'no call crashed a backend')
	or diag(join("\n", @crashes[0 .. ($#crashes < 9 ? $#crashes : 9)], @signals));
# One example of each distinct internal error.
my %seen;
my @distinct = grep { my ($m) = /=> (.*)$/; !$seen{$m}++ } @internal;
is(scalar(@internal), 0, 'no call reached an internal error (XX000)')
	or diag(scalar(@internal) . " calls, distinct:\n" . join("\n", @distinct));
is(scalar(@no_sqlstate), 0, 'every error carries an SQLSTATE')
	or diag(join("\n", @no_sqlstate[0 .. ($#no_sqlstate < 9 ? $#no_sqlstate : 9)]));
cmp_ok($by_state{'42501'} // 0, '>', 0, 'the role without privileges was refused (42501)');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still answers');

$node->stop;
done_testing();
