require ["ihave", "fileinto"];
if ihave "x-no-such-extension" { fileinto "Impossible"; } else { fileinto "Fallback"; }
