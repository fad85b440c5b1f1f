require "duplicate";
if duplicate :seconds "x" { keep; }