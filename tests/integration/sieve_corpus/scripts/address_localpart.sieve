require "fileinto";
if address :localpart :is "to" "team" { fileinto "Team"; }
