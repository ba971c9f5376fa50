# Batched reads ahead (src/io) give the same answers on every path: exact
# re-rank scans of sq8 hnsw and ivfflat indexes over a table far larger than
# shared_buffers return identical top-10 lists with ruvector.io_method =
# io_uring, prefetch and off, and the io_uring path really submits reads
# (ruvector_io_stats) when the kernel allows io_uring here.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvData;

my $data = rv_data_dir();
plan skip_all => "no shared data sets at $data"
  unless -f "$data/glove-100/base.fvecs";

my $node = PostgreSQL::Test::Cluster->new('io');
$node->init;
# 1 MB of shared buffers against a table of about 1,000 blocks: most rows a
# re-rank fetches are not in shared buffers, so the batches are not cached
$node->append_conf('postgresql.conf',
	"shared_buffers = '1MB'\nmax_connections = 10\nautovacuum = off\nmaintenance_work_mem = '64MB'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector');

my $base = read_fvecs("$data/glove-100/base.fvecs", 8000);
my $queries = read_fvecs("$data/glove-100/query.fvecs", 40);
my $copy = "CREATE TABLE items (id int PRIMARY KEY, pad text, v vector(100));\nCOPY items FROM STDIN;\n";
# a pad spreads the rows over more blocks, as wide rows would
$copy .= "$_\t" . ('x' . ($_ % 97)) x 200 . "\t$base->[$_]\n" for 0 .. $#$base;
$copy .= "\\.\n";
$copy .= "CREATE TABLE q (id int PRIMARY KEY, v vector(100));\nCOPY q FROM STDIN;\n";
$copy .= "$_\t$queries->[$_]\n" for 0 .. $#$queries;
$copy .= "\\.\n";
$node->safe_psql('postgres', $copy);
my $blocks = $node->safe_psql('postgres', "SELECT pg_relation_size('items') / 8192");
cmp_ok($blocks, '>', 500, "the table ($blocks blocks) is far larger than shared_buffers");

sub topk
{
	my ($method, $settings) = @_;
	return $node->safe_psql('postgres', qq(
		SET enable_seqscan = off;
		SET ruvector.io_method = $method;
		$settings
		SELECT q.id, string_agg(r.id::text, ',' ORDER BY r.n)
		FROM q CROSS JOIN LATERAL (
			SELECT id, row_number() OVER () AS n FROM (
				SELECT id FROM items ORDER BY v <=> q.v LIMIT 10) s) r
		GROUP BY q.id ORDER BY q.id;
		SELECT batches, reads_submitted, prefetch_calls FROM ruvector_io_stats();
	));
}

my $uring = $node->safe_psql('postgres',
	"SET ruvector.io_method = io_uring; SELECT ruvector_io_method()");
note("io_uring here: $uring");

for my $index (
	[ 'hnsw', "USING hnsw (v vector_cosine_ops) WITH (storage = sq8)", 'SET hnsw.ef_search = 40;' ],
	[ 'ivfflat', "USING ivfflat (v vector_cosine_ops) WITH (lists = 40, storage = sq8)", 'SET ivfflat.probes = 8;' ])
{
	my ($am, $ddl, $settings) = @$index;
	$node->safe_psql('postgres', "CREATE INDEX items_v ON items $ddl");

	my %out;
	for my $method (qw(off prefetch io_uring))
	{
		$node->restart;			# shared buffers start empty each time
		my @lines = split /\n/, topk($method, $settings);
		my ($batches, $reads, $prefetches) = split /\|/, pop @lines;
		$out{$method} = join("\n", @lines);
		is(scalar(@lines), scalar(@$queries), "$am, $method: a top-10 for every query");
		if ($method eq 'off')
		{
			is($batches, 0, "$am, off: no reads ahead asked");
		}
		elsif ($method eq 'prefetch' || $uring ne 'io_uring')
		{
			cmp_ok($prefetches, '>', 0, "$am, $method: PrefetchBuffer was called ($prefetches)");
		}
		else
		{
			cmp_ok($reads, '>', 0, "$am, io_uring: reads were submitted ($reads in $batches batches)");
		}
	}
	is($out{prefetch}, $out{off}, "$am: prefetch returns exactly what no reads ahead return");
	is($out{io_uring}, $out{off}, "$am: io_uring returns exactly what no reads ahead return");
	$node->safe_psql('postgres', 'DROP INDEX items_v');
}

$node->stop;
done_testing();
