require "imap4flags";
setflag ["\\Seen", "\\Flagged", "$Work"];
removeflag "\\Seen";
addflag "\\Answered \\Draft";
removeflag ["\\Draft"];
keep;
