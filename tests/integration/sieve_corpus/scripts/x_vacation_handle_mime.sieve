require "vacation";
vacation :days 3 :handle "h1" :addresses ["alice@example.test", "andre@example.test"] :subject "Away" "I am away.";
