require ["include", "fileinto"];
include :personal "_part";
if header :contains "subject" "report" { fileinto "AfterInclude"; }
