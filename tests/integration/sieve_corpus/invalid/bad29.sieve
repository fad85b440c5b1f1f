require "relational";
if header :count "x" "subject" "1" { keep; }