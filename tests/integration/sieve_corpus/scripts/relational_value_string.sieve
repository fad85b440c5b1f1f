require ["relational", "fileinto"];
if header :value "lt" "x-label" "b" { fileinto "LessB"; }
