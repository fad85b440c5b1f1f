require "vacation-seconds";
vacation :seconds 86400 :addresses "alice@example.test" "Away for a day.";
