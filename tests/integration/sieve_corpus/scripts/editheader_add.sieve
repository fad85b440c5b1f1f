require ["editheader", "fileinto"];
addheader "X-Sieve" "checked";
if header :is "x-sieve" "checked" { fileinto "Edited"; }
