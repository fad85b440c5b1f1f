require "fileinto";
if exists ["from", "x-missing"] { fileinto "Both"; } elsif exists "from" { fileinto "FromOnly"; }
