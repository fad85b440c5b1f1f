require "variables";
set "a";