require "fileinto";
if address :domain :is "to" "EXAMPLE.TEST" { fileinto "Local"; }
