require ["environment", "fileinto"];
if environment :contains "phase" "during" { fileinto "during"; }
