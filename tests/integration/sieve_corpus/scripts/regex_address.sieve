require ["regex", "fileinto"];
if address :regex :domain "from" "^(lists|shop)\\..*" { fileinto "Robots"; }
