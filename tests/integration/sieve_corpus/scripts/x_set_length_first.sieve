require ["variables", "fileinto"];
set :length "n" "${1}hello";
set :upperfirst "u" "hello";
set :lowerfirst "l" "HELLO";
fileinto "${n}-${u}-${l}";
