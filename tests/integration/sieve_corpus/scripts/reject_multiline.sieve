require "reject";
if header :contains "subject" "Invoice" {
  reject text:
This mailbox does not accept
invoices by mail.
.
;
}
