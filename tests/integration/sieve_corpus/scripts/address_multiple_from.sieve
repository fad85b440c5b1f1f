require "fileinto";
if address :is "from" "assistant@example.test" { fileinto "FromAssistant"; }
