require ["subaddress", "fileinto"];
if address :detail "cc" "news" { fileinto "CcNews"; }
