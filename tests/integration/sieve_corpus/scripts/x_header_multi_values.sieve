require "fileinto";
if header :is "x-team" "marketing" { fileinto "Marketing"; }
if header :is ["x-team", "x-usage"] ["sales", "9"] { fileinto "Either"; }
