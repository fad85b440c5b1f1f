require "vacation";
vacation :days 3 :addresses ["alice@example.test"] "I am away.";
