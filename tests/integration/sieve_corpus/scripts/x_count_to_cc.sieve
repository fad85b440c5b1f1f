require ["relational", "fileinto", "comparator-i;ascii-numeric"];
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "4" { fileinto "Many"; }
elsif address :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] "1" { fileinto "One"; }
