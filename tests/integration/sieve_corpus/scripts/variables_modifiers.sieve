require ["variables", "fileinto"];
set :lower :upperfirst "name" "hELLO wORLD";
set :length "len" "${name}";
fileinto "${name}-${len}";
