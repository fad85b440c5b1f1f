require ["variables", "fileinto"];
if header :matches "date" "*, * * * *" { fileinto "${2}-${3}-${4}"; }
