redirect "one@other.test";
redirect "two@other.test";
keep;
