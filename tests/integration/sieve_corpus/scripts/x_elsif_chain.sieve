require "fileinto";
if false { fileinto "A"; } elsif header :contains "subject" "report" { fileinto "B"; } elsif true { fileinto "C"; } else { fileinto "D"; }
