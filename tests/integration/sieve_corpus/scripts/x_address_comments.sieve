require "fileinto";
if address :localpart :is "from" "boss" { fileinto "Boss"; }
if address :domain :is "sender" "example.test" { fileinto "SenderLocal"; }
