require ["encoded-character", "fileinto"];
if header :contains "subject" "${hex:4c 75 6e 63 68}" { fileinto "${unicode:47 72 fc df 65}"; }
