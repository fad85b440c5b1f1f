require ["variables", "fileinto"];
set :quotewildcard "q" "a*b?c\\";
if string :is "${q}" "a\\*b\\?c\\\\" { fileinto "quoted"; }
