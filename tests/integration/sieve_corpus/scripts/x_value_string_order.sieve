require ["relational", "fileinto"];
if header :value "gt" "x-label" "aa" { fileinto "GtAA"; }
if header :value "lt" :comparator "i;octet" "x-label" "a" { fileinto "LtOctet"; }
