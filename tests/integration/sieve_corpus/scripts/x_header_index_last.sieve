require ["index", "fileinto"];
if header :index 1 :last :is "x-usage" "100" { fileinto "LastIs100"; }
if header :index 2 :is "x-usage" "9" { fileinto "SecondIs9"; }
