require ["body", "fileinto"];
if body :contains "lunch" { fileinto "Lunch"; }
