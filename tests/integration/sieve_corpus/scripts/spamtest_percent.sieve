require ["spamtestplus", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :percent :value "eq" :comparator "i;ascii-numeric" "100" { fileinto "Spam100"; }
if spamtest :percent :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "Ham0"; }
