require ["fileinto", "envelope"];
if anyof (envelope :is "from" "", header :contains "auto-submitted" "auto") { fileinto "Bounces"; }
