#!/usr/bin/perl
# check_diffs.pl REGRESSION.DIFFS DIFFERENCES.TXT
#
# Exit 0 if every hunk of pg_regress's unified diff follows a statement
# listed in DIFFERENCES.TXT (RuVector's documented, deliberate answers that
# differ from pgvector's), 1 otherwise, printing the hunks not accepted.
use strict;
use warnings;

my ($diffs, $allowed_file) = @ARGV;
open(my $af, '<', $allowed_file) or die "$allowed_file: $!";
my %allowed = map { chomp; ($_ => 1) } grep { !/^#/ && /\S/ } <$af>;
close($af);

open(my $df, '<', $diffs) or die "$diffs: $!";
my ($hunk, $statement, $changed, $bad) = ('', '', 0, 0);
my $flush = sub {
	return if $hunk eq '';
	if (!$allowed{$statement})
	{
		print $hunk;
		$bad++;
	}
	($hunk, $statement, $changed) = ('', '', 0);
};
while (my $line = <$df>)
{
	if ($line =~ /^(diff |--- |\+\+\+ )/) { $flush->(); next; }
	if ($line =~ /^@@/) { $flush->(); $hunk = $line; next; }
	$hunk .= $line;
	if ($line =~ /^[-+]/) { $changed = 1; next; }
	# The last statement shown before the first changed line of the hunk.
	(my $text = substr($line, 1)) =~ s/\s+$//;
	$statement = $text if !$changed && $text =~ /;$/;
}
$flush->();
close($df);
if ($bad)
{
	print STDERR "$bad difference(s) from pgvector's expected output are not in $allowed_file\n";
	exit(1);
}
print "pgvector's regression files: every difference is one documented in $allowed_file\n";
exit(0);
