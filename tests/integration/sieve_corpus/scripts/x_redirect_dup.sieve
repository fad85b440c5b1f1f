redirect "x@other.test";
redirect "X@other.test";
redirect "x@other.test";
