# `steady` in perl: the same lines on the same schedule as `node gen.js steady` (content.js's
# steadyLine), from a process a tenth the size of node's, so 200 of them leave the machine to
# the server under test.   perl steady.pl RATE SECONDS TAG
use strict;
use warnings;
use Time::HiRes qw(time sleep);

$| = 1;
my ($rate, $seconds, $tag) = @ARGV;
my @alphabet = split //, '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
my $total = int($rate * $seconds / 100);
my $start = time;
my $written = 0;
# Every 100 ms, write the lines due by then (drift-free: the schedule is from the start).
for (my $tick = 1; $written < $total; $tick++) {
  my $wait = $start + $tick * 0.1 - time;
  sleep($wait) if $wait > 0;
  my $due = int((time - $start) * $rate / 100);
  $due = $total if $due > $total;
  my $text = '';
  while ($written < $due) {
    $written++;
    my $head = sprintf('%s %08d ', $tag, $written);
    my $fill = '';
    for (my $i = 0; length($fill) < 99 - length($head); $i++) {
      $fill .= $alphabet[($written + $i) % @alphabet];
    }
    $text .= "$head$fill\n";
  }
  print $text if length $text;
}
