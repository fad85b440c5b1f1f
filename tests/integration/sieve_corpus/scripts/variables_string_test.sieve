require ["variables", "fileinto"];
if header :matches "from" "*<*@*>" { set "dom" "${3}"; }
if string :is "${dom}" "other.test" { fileinto "dom-other"; } else { fileinto "dom-${dom}"; }
