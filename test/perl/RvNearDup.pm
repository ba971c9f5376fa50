# RvNearDup.pm — a deterministic table of tight clusters of near-duplicate
# vectors, the shape of duplicated documents, boilerplate chunks and
# template text: each cluster is one random centre and members that differ
# from it by a small noise, a few of them exact copies of another member.
# Clusters are larger than m (16), so a cluster fills its members'
# neighbour lists by itself; this is what cut pre-0.2 HNSW graphs into
# pieces the entry point could not reach (issue 13, item 6).
package RvNearDup;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(near_dup_rows near_dup_copy);

# A standard normal deviate (Box-Muller), from Perl's seeded rand
sub _gauss
{
	my $u = 1 - rand();
	my $v = rand();
	return sqrt(-2 * log($u)) * cos(6.283185307179586 * $v);
}

# Options (defaults): n (20000) rows of dim (64) dimensions in clusters
# (700) clusters, as '[..]' strings in random order; noise (0.03) is the
# members' spread around a centre whose coordinates are standard normal
# (uniform => 1: uniform in [0, 1)); a share dups (0.1) of the rows are
# exact copies of another member of their cluster, at most copies (2)
# extra copies of one vector, so that a row is always among its own top
# 10; seed (13) seeds Perl's rand.
sub near_dup_rows
{
	my (%o) = @_;
	my $n = $o{n} // 20000;
	my $dim = $o{dim} // 64;
	my $nclusters = $o{clusters} // 700;
	my $noise = $o{noise} // 0.03;
	srand($o{seed} // 13);

	my @rows;
	my $size = $n / $nclusters;
	for my $c (0 .. $nclusters - 1)
	{
		my @centre = map { $o{uniform} ? rand() : _gauss() } 1 .. $dim;
		my $lo = int($c * $size);
		my $hi = int(($c + 1) * $size);
		my @members;
		my %copies;
		for my $i ($lo .. $hi - 1)
		{
			if (@members > 2 && rand() < ($o{dups} // 0.1))
			{
				my $j = int(rand(@members));
				if (($copies{$j} // 0) < ($o{copies} // 2))
				{
					$copies{$j}++;
					push @rows, $members[$j];
					next;
				}
			}
			my $v = '[' . join(',', map { sprintf('%.5f', $centre[$_] + $noise * _gauss()) } 0 .. $dim - 1) . ']';
			push @members, $v;
			push @rows, $v;
		}
	}
	# Random order: clusters arrive interleaved, as real tables fill
	for (my $i = $#rows; $i > 0; $i--)
	{
		my $j = int(rand($i + 1));
		@rows[ $i, $j ] = @rows[ $j, $i ];
	}
	return \@rows;
}

# A COPY ... FROM STDIN script filling $table (id int, v vector) with rows
sub near_dup_copy
{
	my ($table, $rows) = @_;
	my $copy = "COPY $table (id, v) FROM STDIN;\n";
	$copy .= ($_ + 1) . "\t$rows->[$_]\n" for 0 .. $#$rows;
	return $copy . "\\.\n";
}

1;
