require ["envelope", "fileinto"];
if envelope :is "from" "" { fileinto "Null"; }
if envelope :localpart :is "from" "MAILER-DAEMON" { fileinto "Daemon"; }
