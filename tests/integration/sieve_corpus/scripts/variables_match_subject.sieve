require ["variables", "fileinto"];
if header :matches "subject" "[*] *" { fileinto "list/${1}"; }
