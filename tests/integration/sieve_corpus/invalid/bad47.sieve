require "environment";
if environment "name" { keep; }