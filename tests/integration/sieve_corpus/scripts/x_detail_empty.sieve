require ["envelope", "subaddress", "fileinto"];
if envelope :detail :is "to" "" { fileinto "EmptyDetail"; }
if envelope :user :is "to" "alice" { fileinto "User"; }
