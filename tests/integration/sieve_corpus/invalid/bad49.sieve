require ["index","date"];
if header :last "subject" "x" { keep; }