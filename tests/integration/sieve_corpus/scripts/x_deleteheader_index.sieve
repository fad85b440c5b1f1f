require ["editheader", "index", "fileinto"];
deleteheader :index 1 "x-team";
if header :is "x-team" "marketing" { fileinto "Second-Left"; }
if header :is "x-team" "sales" { fileinto "First-Left"; }
