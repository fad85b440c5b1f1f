require ["imap4flags", "variables", "fileinto"];
set "f" "";
addflag "f" "one two";
addflag "f" "two three";
fileinto :flags "${f}" "Flagged";
