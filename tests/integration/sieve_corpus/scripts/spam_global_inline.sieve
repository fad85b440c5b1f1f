require ["fileinto"];
if anyof (header :is "X-Spam-Flag" "YES", header :is "X-Spam" "Yes") { fileinto "Spam"; stop; }
