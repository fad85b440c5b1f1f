require ["date", "fileinto", "variables"];
if date :zone "+1400" :matches "date" "day" "*" { fileinto "day-${1}"; }
