require "fileinto";
fileinto 42;