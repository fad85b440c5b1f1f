require ["fileinto", "variables"];
if header :matches "list-id" "*<*.lists.other.test>" { fileinto "lists/${2}"; }
