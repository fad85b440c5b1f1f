require ["imap4flags", "fileinto"];
addflag "urgent";
if hasflag :contains "urgent" { fileinto "Urgent"; }
