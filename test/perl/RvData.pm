# RvData.pm — the shared data sets (../shared/data) for TAP tests: where
# they are and how to read their vectors as pgvector text literals.
package RvData;

use strict;
use warnings;
use Exporter 'import';
use FindBin;

our @EXPORT = qw(rv_data_dir read_fvecs);

# RUVECTOR_DATA, else shared/data beside the checkout
sub rv_data_dir
{
	return $ENV{RUVECTOR_DATA} // "$FindBin::Bin/../../../shared/data";
}

# The first $limit vectors of an fvecs file, as '[x,y,...]' strings
sub read_fvecs
{
	my ($file, $limit) = @_;
	my @out;
	open(my $fh, '<:raw', $file) or die "cannot open $file: $!";
	while (@out < $limit && read($fh, my $hdr, 4) == 4)
	{
		my $dim = unpack('l<', $hdr);
		read($fh, my $buf, 4 * $dim) == 4 * $dim or die "short read in $file";
		push @out, '[' . join(',', map { sprintf('%.7g', $_) } unpack("f<$dim", $buf)) . ']';
	}
	close $fh;
	return \@out;
}

1;
