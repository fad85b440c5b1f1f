require "fileinto";
if header :is :comparator "i;octet" "subject" "lunch on friday?" { fileinto "Octet"; }
elsif header :is "subject" "lunch on friday?" { fileinto "CaseFold"; }
