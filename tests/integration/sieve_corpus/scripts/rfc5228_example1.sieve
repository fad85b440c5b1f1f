# RFC 5228 section 9 example (adapted: no reject of the Content-Type form)
require ["fileinto"];
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
                fileinto "filter";  # move to "filter" mailbox
        }
elsif address :DOMAIN :is ["From", "To"] "example.test"
        {
                keep;               # keep in "In" mailbox
        }
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.test",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
                fileinto "spam";   # move to "spam" mailbox
        }
else
        {
                fileinto "personal";
        }
