require "include";
include;