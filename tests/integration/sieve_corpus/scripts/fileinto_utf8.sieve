require "fileinto";
fileinto "Grüße/Ordner";
