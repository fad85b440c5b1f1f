require "fileinto";
if header :matches "subject" "Disk usage ?? percent" { fileinto "Q"; }
if header :matches "subject" "*\\**" { fileinto "Star"; }
