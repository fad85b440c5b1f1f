require ["body", "fileinto"];
if body :raw :contains "--b1" { fileinto "RawBoundary"; }
