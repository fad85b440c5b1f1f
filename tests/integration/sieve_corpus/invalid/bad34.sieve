require "editheader";
addheader "Bad Name" "v";