// URLs in message text and HTML: http(s)/ftp/www. forms in text, href/src
// attributes in HTML, obfuscations undone (hxxp, [.] , %-encoded hosts,
// IDN to A-labels lowercased). Pure, linear, bounded by max_urls.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::filter {

struct Url {
  std::string text;  // as found (cut at 2048 bytes)
  std::string host;  // lowercased A-label host name, or an IP literal
  bool ip_host = false;
};

std::vector<Url> extract_urls(std::string_view text, std::size_t max_urls = 1000);
std::vector<Url> extract_html_urls(std::string_view html, std::size_t max_urls = 1000);

}  // namespace mailfort::filter
