require "vacation";
vacation;