require "relational";
if header :value "lt" :comparator "i;ascii-numeric" "subject" "1" { keep; }