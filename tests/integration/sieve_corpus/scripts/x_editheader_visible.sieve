require ["editheader", "fileinto"];
addheader "X-Tag" "tagged";
if header :is "x-tag" "tagged" { fileinto "Seen-Tag"; }
deleteheader "x-tag";
if not exists "x-tag" { fileinto "Gone"; }
