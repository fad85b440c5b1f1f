require ["variables", "regex", "fileinto"];
set :quoteregex "q" "a.b*c";
if string :is "${q}" "a\\.b\\*c" { fileinto "Quoted"; }
