require "redirect";
keep;