require ["date", "fileinto", "variables"];
if date :zone "+0000" :matches "date" "date" "*" { fileinto "utc-${1}"; }
