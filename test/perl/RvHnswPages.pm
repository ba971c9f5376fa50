# RvHnswPages.pm — cut links of an HNSW index in its file, for tests of
# repairs (the server must be stopped).  Knows just enough of the page
# format of src/indexam/hnsw.h: 8 kB pages, the metapage's entry point,
# node tuples (type 1) with inline slots and a vector value whose first
# coordinate sorts elements into two sides.  Data checksums must be off
# (the default of test clusters).
package RvHnswPages;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(hnsw_cut_links);

use constant BLCKSZ => 8192;
use constant NODE_HEADER => 68;		# sizeof(HnswNodeTupleData)
use constant INVALID_BLOCK => 0xFFFFFFFF;

sub _nodes
{
	my ($data) = @_;
	my @nodes;
	for (my $blk = 1; $blk * BLCKSZ < length($data); $blk++)
	{
		my $base = $blk * BLCKSZ;
		my $lower = unpack('v', substr($data, $base + 12, 2));
		for (my $lp = 0; 24 + 4 * $lp < $lower; $lp++)
		{
			my $word = unpack('V', substr($data, $base + 24 + 4 * $lp, 4));
			my $off = $word & 0x7FFF;
			next if (($word >> 15) & 3) != 1;	# LP_NORMAL only
			my ($type, $level, $flags) = unpack('CCC', substr($data, $base + $off, 3));
			next if $type != 1 || ($flags & 3);	# live node, slots inline
			my ($nslots, $nbroff) = unpack('vv', substr($data, $base + $off + 4, 4));
			my $x0 = unpack('f<', substr($data, $base + $off + NODE_HEADER + 8, 4));
			push @nodes, { blk => $blk, off => $lp + 1, pos => $base + $off, level => $level,
				nslots => $nslots, nbroff => $nbroff, x0 => $x0 };
		}
	}
	return \@nodes;
}

# Rewrite layer lc's slots of a node keeping those $keep->(target) accepts,
# as a prefix (searches stop at the first empty slot).  Returns how many
# links were removed.
sub _filter_layer
{
	my ($dataref, $n, $m, $lc, $keep) = @_;
	my $lm = $lc == 0 ? 2 * $m : $m;
	my $start = $lc == 0 ? 0 : ($lc + 1) * $m;
	my $pos = $n->{pos} + $n->{nbroff} + 6 * $start;
	my (@kept, $removed);
	$removed = 0;
	for my $i (0 .. $lm - 1)
	{
		my ($hi, $lo, $off) = unpack('vvv', substr($$dataref, $pos + 6 * $i, 6));
		my $blk = ($hi << 16) | $lo;
		next if $blk == INVALID_BLOCK;
		if ($keep->("$blk/$off"))
		{
			push @kept, pack('vvv', $hi, $lo, $off);
		}
		else
		{
			$removed++;
		}
	}
	push @kept, pack('vvv', 0xFFFF, 0xFFFF, 0) while @kept < $lm;
	substr($$dataref, $pos, 6 * $lm) = join('', @kept);
	return $removed;
}

# Cut links in the index file $file (m links per upper layer):
#   mode 'sides': every link, on every layer, from an element on the entry
#     point's side of x0 = $split to one on the other side, so that the
#     other side cannot be reached at all;
#   mode 'back': every link, on every layer, from an element on the other
#     side to one on the entry point's side, so that the other side is
#     reached but cannot lead back (a search that descends into it stays);
#   mode 'layer0': every layer-0 link, so that every element but the entry
#     point is unreachable on layer 0 (upper layers stay).
# Returns the number of links removed.
sub hnsw_cut_links
{
	my ($file, $m, $mode, $split) = @_;
	open(my $fh, '+<:raw', $file) or die "cannot open $file: $!";
	local $/;
	my $data = <$fh>;
	my $nodes = _nodes($data);
	my %x0 = map { ("$_->{blk}/$_->{off}" => $_->{x0}) } @$nodes;
	my ($eblk, $eoff) = unpack('Vv', substr($data, 24 + 16, 6));
	my $entrySide = ($x0{"$eblk/$eoff"} // 0) < ($split // 0);
	my $removed = 0;
	for my $n (@$nodes)
	{
		if ($mode eq 'layer0')
		{
			$removed += _filter_layer(\$data, $n, $m, 0, sub { 0 });
			next;
		}
		# 'sides' cuts links out of the entry point's side, 'back' links into it
		my $from = $mode eq 'sides' ? $entrySide : !$entrySide;
		next if ($n->{x0} < $split) != $from;
		for my $lc (0 .. $n->{level})
		{
			$removed += _filter_layer(\$data, $n, $m, $lc,
				sub { (($x0{ $_[0] } // 0) < $split) == $from });
		}
	}
	seek($fh, 0, 0);
	print $fh $data;
	close $fh;
	return $removed;
}

1;
