require ["date", "fileinto", "variables"];
if date :originalzone :matches "date" "hour" "*" { set "h" "${1}"; }
if date :originalzone :matches "date" "zone" "*" { fileinto "h${h}z${1}"; }
