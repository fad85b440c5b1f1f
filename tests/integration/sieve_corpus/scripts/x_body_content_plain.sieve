require ["body", "fileinto"];
if body :content "text/plain" :contains "unsubscribe" { fileinto "Wrong"; }
if body :content "text/html" :contains "unsubscribe" { fileinto "Right"; }
if body :content "text" :contains "offer" { fileinto "TextAny"; }
