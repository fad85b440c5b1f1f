require ["fileinto"];
if header :contains "X-Spam-Flag" "YES" { fileinto "Spam"; stop; }
if header :is "X-Spam" "Yes" { fileinto "Spam"; }
