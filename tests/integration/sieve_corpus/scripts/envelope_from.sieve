require ["envelope", "fileinto"];
if envelope :is "from" "sender@other.test" { fileinto "FromSender"; }
elsif envelope :domain :is "from" "other.test" { fileinto "OtherTest"; }
