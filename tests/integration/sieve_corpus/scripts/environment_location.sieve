require ["environment", "fileinto", "variables"];
if environment :is "location" "MDA" { fileinto "mda"; }
