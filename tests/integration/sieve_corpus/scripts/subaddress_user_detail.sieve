require ["subaddress", "fileinto", "variables"];
if address :matches :detail "to" "*" { fileinto "detail-${1}"; }
