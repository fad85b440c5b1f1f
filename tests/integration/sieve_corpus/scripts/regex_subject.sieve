require ["regex", "fileinto", "variables"];
if header :regex "subject" "order ([0-9]+) has" { fileinto "order-${1}"; }
