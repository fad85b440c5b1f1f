require ["body", "fileinto"];
if body :content "text/html" :contains "unsubscribe" { fileinto "Newsletters"; }
