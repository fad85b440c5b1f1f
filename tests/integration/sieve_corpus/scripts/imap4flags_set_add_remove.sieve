require "imap4flags";
setflag "\\Seen";
addflag ["\\Flagged", "work"];
removeflag "\\Seen";
keep;
