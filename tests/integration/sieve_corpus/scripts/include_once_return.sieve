require ["include", "fileinto"];
include :once :personal "_part";
include :once :personal "_part";
fileinto "Main";
