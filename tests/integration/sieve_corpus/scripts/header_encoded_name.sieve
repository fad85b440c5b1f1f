require ["fileinto", "variables"];
if header :matches "from" "Jürgen*" { fileinto "Juergen"; }
