require ["include", "variables", "fileinto"];
global "box";
set "box" "Shared";
include :personal "_usebox";
