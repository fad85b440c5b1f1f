require ["include", "fileinto"];
if header :contains "subject" "Lunch" { fileinto "FromPart"; return; }
fileinto "PartEnd";
