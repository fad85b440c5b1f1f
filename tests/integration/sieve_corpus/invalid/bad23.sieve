require "vacation";
vacation :days "x" "body";