require ["variables", "fileinto"];
if header :matches "subject" "* * *" { fileinto "W-${1}-${2}"; }
if header :matches "from" "*<*@*>*" { fileinto "D-${3}"; }
