require ["editheader", "index", "fileinto", "variables"];
addheader :last "X-Tag" "t1";
addheader "X-Tag" "t0";
if header :index 1 :matches "x-tag" "*" { fileinto "first-${1}"; }
