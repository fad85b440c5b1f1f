require "fileinto";
fileinto "X";
fileinto "X";
keep;
keep;
