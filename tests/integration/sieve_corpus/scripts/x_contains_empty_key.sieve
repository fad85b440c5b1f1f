require "fileinto";
if header :contains "x-team" "" { fileinto "HasTeam"; }
if header :contains "x-missing" "" { fileinto "Never"; }
