require ["imap4flags", "variables", "fileinto"];
set "f" "\\Flagged";
fileinto :flags "${f} $Label1" "Tagged";
