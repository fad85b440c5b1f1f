require ["regex", "variables", "fileinto"];
if header :regex "subject" "([0-9]+) percent" { fileinto "P${1}"; }
if address :regex :localpart "from" "^(.*)\\+(.*)$" { fileinto "Plus-${2}"; }
