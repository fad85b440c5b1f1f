require "fileinto";
if header :comparator "i;octet" :contains "subject" "report" { fileinto "Lower"; }
if header :comparator "i;octet" :contains "subject" "Report" { fileinto "Upper"; }
