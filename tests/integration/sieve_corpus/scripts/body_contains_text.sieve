require ["body", "fileinto"];
if body :text :contains "special offer" { fileinto "Offers"; }
