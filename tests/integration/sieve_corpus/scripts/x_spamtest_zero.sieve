require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "Unscored"; }
elsif spamtest :value "ge" :comparator "i;ascii-numeric" "5" { fileinto "Spammy"; }
