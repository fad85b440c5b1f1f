require "fileinto";
fileinto;