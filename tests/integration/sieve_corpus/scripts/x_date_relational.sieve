require ["date", "relational", "fileinto"];
if date :value "ge" "date" "date" "2026-12-05" { fileinto "Late"; }
if date :value "lt" "date" "date" "2026-12-04" { fileinto "Early"; }
