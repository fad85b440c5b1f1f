# A user's filter of 30 rules, as a mail client's filter editor writes them:
# folders by list, sender and subject, flags, a vacation-free mix of the
# tests people use (header, address, envelope with +detail, size, body,
# regex, variables). The benchmark's messages mostly fall through to INBOX.
require ["fileinto", "mailbox", "imap4flags", "envelope", "subaddress", "variables",
         "regex", "body", "relational", "comparator-i;ascii-numeric", "copy"];

if header :contains "List-Id" "debian-devel.lists.debian.org" { fileinto :create "Lists/debian-devel"; stop; }
if header :contains "List-Id" "postfix-users.postfix.org" { fileinto :create "Lists/postfix"; stop; }
if header :contains "List-Id" "dovecot.dovecot.org" { fileinto :create "Lists/dovecot"; stop; }
if header :matches "List-Id" "*<*.lists.example.net>" { fileinto :create "Lists/${2}"; stop; }
if address :is :domain "from" "github.com" { fileinto :create "Notifications/GitHub"; stop; }
if address :is :domain "from" "gitlab.com" { fileinto :create "Notifications/GitLab"; stop; }
if address :is "from" ["billing@hoster.example", "invoice@shop.example"] {
  addflag "$Invoice"; fileinto :create "Invoices"; stop;
}
if header :contains "Subject" ["[JIRA]", "[Confluence]"] { fileinto :create "Work/Atlassian"; stop; }
if header :regex "Subject" "^\\[(ticket|case) #[0-9]+\\]" { fileinto :create "Work/Tickets"; stop; }
if envelope :detail "to" "shopping" { fileinto :create "Shopping"; stop; }
if envelope :detail "to" "news" { fileinto :create "Newsletters"; stop; }
if header :contains "X-Mailer" "Mailchimp" { fileinto :create "Newsletters"; stop; }
if exists "List-Unsubscribe" {
  if header :contains "From" ["newsletter", "news@", "noreply@marketing"] { fileinto :create "Newsletters"; stop; }
}
if address :domain :is "from" ["bank.example", "broker.example"] { addflag "\\Flagged"; }
if header :contains "Subject" "urgent" { addflag "\\Flagged"; }
if size :over 5M { fileinto :create "Large"; stop; }
if header :is "X-Priority" "1" { addflag "\\Flagged"; }
if address :localpart :is "from" "mailer-daemon" { fileinto :create "Bounces"; stop; }
if header :contains "Content-Type" "multipart/report" { fileinto :create "Bounces"; stop; }
if header :value "ge" :comparator "i;ascii-numeric" "X-Spam-Score" "4" { fileinto "Spam"; stop; }
if allof (address :domain "to" "old-company.example", not exists "In-Reply-To") { fileinto :create "Old"; stop; }
if header :contains "Subject" ["party", "birthday", "wedding"] { fileinto :create "Private/Events"; stop; }
if address :is "from" ["mom@family.example", "dad@family.example"] { fileinto :create "Private/Family"; stop; }
if header :matches "Subject" "Re: *" { set "thread" "${1}"; }
if string :is "${thread}" "weekly report" { fileinto :create "Work/Reports"; stop; }
if body :contains "unsubscribe from this list" { fileinto :create "Newsletters"; stop; }
if header :contains "From" "calendar-notification" { fileinto :create "Calendar"; stop; }
if address :domain :matches "from" "*.slack.com" { fileinto :create "Notifications/Slack"; stop; }
if header :count "ge" :comparator "i;ascii-numeric" "Received" "40" { fileinto "Spam"; stop; }
if header :contains "Subject" "[SECURITY]" { addflag "\\Flagged"; fileinto :copy :create "Security"; }
