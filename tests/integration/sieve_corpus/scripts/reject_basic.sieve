require "reject";
if address :domain "from" "lottery.other.test" { reject "No lotteries, please."; }
