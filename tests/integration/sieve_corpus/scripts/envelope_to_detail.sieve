require ["envelope", "subaddress", "fileinto"];
if envelope :detail "to" "orders" { fileinto "Orders"; }
elsif envelope :user "to" "alice" { fileinto "Alice"; }
