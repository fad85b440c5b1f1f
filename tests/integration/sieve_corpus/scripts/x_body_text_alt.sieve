require ["body", "fileinto"];
if body :text :contains "unsubscribe" { fileinto "Html"; }
if body :text :contains "special offer" { fileinto "Plain"; }
