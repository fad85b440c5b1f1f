require "envelope";
if envelope "bogus" "x" { keep; }