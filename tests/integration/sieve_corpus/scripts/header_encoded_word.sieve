require "fileinto";
if header :contains "subject" "München" { fileinto "Munich"; }
if address :is "to" "andre@example.test" { fileinto "Andre"; }
