require "fileinto";
if allof (not anyof (false, not true), anyof (header :contains "subject" "x", true)) { fileinto "Deep"; }
if anyof (allof (true, false), not allof (true, true)) { fileinto "Never"; }
