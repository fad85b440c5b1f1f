require "fileinto";
fileinto "INBOX";
keep;
fileinto "inbox";
