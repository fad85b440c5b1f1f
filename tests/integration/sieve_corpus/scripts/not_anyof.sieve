require "fileinto";
if not anyof (header :contains "subject" "lunch", address :domain "from" "example.test") { fileinto "Other"; }
