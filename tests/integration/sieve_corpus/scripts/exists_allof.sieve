require "fileinto";
if allof (exists "list-id", header :contains "precedence" ["list", "bulk"]) { fileinto "Lists"; }
