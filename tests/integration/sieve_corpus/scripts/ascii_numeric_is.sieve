require ["comparator-i;ascii-numeric", "fileinto"];
if header :is :comparator "i;ascii-numeric" "x-order-count" "012" { fileinto "Twelve"; }
