require ["index", "date", "fileinto", "variables"];
if header :index 1 :matches "received" "from *.other.test*" { fileinto "first-${1}"; }
if header :index 1 :last :matches "received" "from * by*" { fileinto "last-${1}"; }
