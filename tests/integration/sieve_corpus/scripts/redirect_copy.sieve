require "copy";
redirect :copy "archive@other.test";
