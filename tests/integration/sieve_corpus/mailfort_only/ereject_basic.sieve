require "ereject";
if address :domain "from" "lottery.other.test" { ereject "No lotteries, please."; }
