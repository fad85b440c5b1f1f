require ["ihave", "fileinto"];
if ihave "imap4flags" { fileinto "HasFlags"; }
