redirect "archive@other.test";
