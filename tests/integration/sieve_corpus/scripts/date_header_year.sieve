require ["date", "fileinto", "variables"];
if date :matches "date" "year" "*" { fileinto "year-${1}"; }
