require "vacation";
vacation :subject "Out of office" :from "alice@example.test" :addresses "alice@example.test" "Back on Monday.";
