require "fileinto";
if address :all :is "to" "team@example.test" { fileinto "Team"; }
if address :all :is "cc" "dave+news@other.test" { fileinto "Cc"; }
