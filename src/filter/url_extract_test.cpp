#include "filter/url_extract.h"

#include <gtest/gtest.h>

#include <chrono>

namespace mailfort::filter {
namespace {

std::vector<std::string> hosts(const std::vector<Url>& urls) {
  std::vector<std::string> out;
  for (const auto& u : urls) out.push_back(u.host);
  return out;
}

TEST(ExtractUrls, SchemesInText) {
  auto urls = extract_urls(
      "See http://Example.COM/a?b=c#d and https://shop.example.net:8443/x, "
      "or ftp://files.example.org/pub.");
  ASSERT_EQ(urls.size(), 3u);
  EXPECT_EQ(urls[0].text, "http://Example.COM/a?b=c#d");
  EXPECT_EQ(urls[0].host, "example.com");
  EXPECT_FALSE(urls[0].ip_host);
  EXPECT_EQ(urls[1].host, "shop.example.net");
  EXPECT_EQ(urls[1].text, "https://shop.example.net:8443/x");  // the comma is the sentence's
  EXPECT_EQ(urls[2].text, "ftp://files.example.org/pub");
}

TEST(ExtractUrls, BareWwwAndTrailingPunctuation) {
  auto urls = extract_urls("Visit www.example.com. (Or www.example.org/page!) \"www.example.net\"");
  ASSERT_EQ(urls.size(), 3u);
  EXPECT_EQ(urls[0].host, "www.example.com");
  EXPECT_EQ(urls[0].text, "www.example.com");
  EXPECT_EQ(urls[1].text, "www.example.org/page");
  EXPECT_EQ(urls[2].host, "www.example.net");
}

TEST(ExtractUrls, BalancedParenthesesStay) {
  auto urls = extract_urls("(see https://en.example.org/wiki/Foo_(bar))");
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_EQ(urls[0].text, "https://en.example.org/wiki/Foo_(bar)");
}

TEST(ExtractUrls, NotInsideWords) {
  EXPECT_TRUE(extract_urls("xhttp://example.com awww.example.com").empty());
  EXPECT_TRUE(extract_urls("version 1.5, file.txt, http://localhost/ and http:// alone").empty());
}

TEST(ExtractUrls, Obfuscations) {
  auto urls = extract_urls(
      "hxxp://evil[.]example/pay and hXXps://bad(.)example.net/ and "
      "go to phish[.]example[.]org/login now, or http[:]//odd[dot]example.com");
  EXPECT_EQ(hosts(urls), (std::vector<std::string>{"evil.example", "bad.example.net", "phish.example.org",
                                                   "odd.example.com"}));
  EXPECT_EQ(urls[2].text, "phish[.]example[.]org/login");
}

TEST(ExtractUrls, UserinfoPortAndPercentEncodedHost) {
  auto urls = extract_urls("http://paypal.com@evil.example:80/ http://%65vil%2Eexample%2enet/x");
  EXPECT_EQ(hosts(urls), (std::vector<std::string>{"evil.example", "evil.example.net"}));
}

TEST(ExtractUrls, Ipv4LiteralsInEveryForm) {
  auto urls = extract_urls(
      "http://192.0.2.1/a http://3221225985/b http://0xC0.0x00.0x02.0x01/c "
      "http://0300.0.2.1/d http://[2001:db8::1]/e");
  ASSERT_EQ(urls.size(), 5u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(urls[i].ip_host) << i;
    EXPECT_EQ(urls[i].host, "192.0.2.1") << i;
  }
  EXPECT_TRUE(urls[4].ip_host);
  EXPECT_EQ(urls[4].host, "2001:db8::1");
}

TEST(ExtractUrls, IdnHostsAsALabels) {
  auto urls = extract_urls(
      "http://BÜCHER.example/ http://xn--bcher-kva.example/ http://www.münchen.de/ "
      "https://пример.испытание/ http://例え.テスト/ http://ÀÉÎ.example/ http://bad\xff\xfe.example/");
  EXPECT_EQ(hosts(urls),
            (std::vector<std::string>{"xn--bcher-kva.example", "xn--bcher-kva.example",
                                      "www.xn--mnchen-3ya.de", "xn--e1afmkfd.xn--80akhbyknj4f",
                                      "xn--r8jz45g.xn--zckzah", "xn--0casp.example", "bad\xff\xfe.example"}));
  EXPECT_EQ(urls[0].text, "http://BÜCHER.example/");  // the text stays as written
}

TEST(ExtractUrls, DuplicatesOnceAndTextCut) {
  std::string long_url = "http://example.com/" + std::string(5000, 'a');
  auto urls = extract_urls("http://example.com/ http://example.com/ " + long_url);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(urls[1].text.size(), 2048u);
}

TEST(ExtractUrls, TenThousandUrlsBoundedAndFast) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "http://host" + std::to_string(i) + ".example.com/ ";
  auto start = std::chrono::steady_clock::now();
  auto urls = extract_urls(text, 1000);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(urls.size(), 1000u);
  EXPECT_EQ(urls[999].host, "host999.example.com");
  EXPECT_LT(took, std::chrono::seconds(5));  // stops at the cap: far below, even in sanitizer builds
}

TEST(ExtractUrls, HostileTextIsLinear) {
  // Long runs that look like the start of something: each byte is read a bounded number of times.
  for (std::string unit : {"a", "a.", "[.]", "www", "http:", "a[.]", "%"}) {
    std::string text;
    while (text.size() < (4u << 20)) text += unit;
    auto start = std::chrono::steady_clock::now();
    (void)extract_urls(text);
    (void)extract_urls("http://" + text);
    (void)extract_html_urls("<a href=" + text);
    // Quadratic work on 4 MB would take hours; the bound only has to tell
    // that apart, also in unoptimised sanitizer builds (2 s there).
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << unit;
  }
}

TEST(ExtractHtmlUrls, AttributesQuotedOrNotWithEntities) {
  auto urls = extract_html_urls(R"(<p>text http://not-here.example/</p>
<a HREF="https://one.example/a?x=1&amp;y=2">one</a>
<img src='http://two.example/i.png'> <a href=http://three.example/x>3</a>
<a href="&#104;ttp://four&#46;example&#x2e;com/">4</a> <a href="mailto:a@b.example">m</a>
<a href="/relative">r</a> <a href="//five.example/">5</a> <form action="http://six.example/post">
<!-- <a href="http://comment.example/"> -->)");
  EXPECT_EQ(hosts(urls), (std::vector<std::string>{"one.example", "two.example", "three.example",
                                                   "four.example.com", "five.example", "six.example"}));
  EXPECT_EQ(urls[0].text, "https://one.example/a?x=1&y=2");
}

TEST(ExtractHtmlUrls, BrokenHtmlNeverLoops) {
  for (std::string html : {"<", "<a", "<a href", "<a href=", "<a href=\"http://x.example", "<a =>",
                           "<a href='http://y.example/'", "<<<<a href=x>>>", "<!-- never closed"}) {
    (void)extract_html_urls(html);
  }
  auto urls = extract_html_urls("<a href=\"http://x.example");
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_EQ(urls[0].host, "x.example");
}

TEST(ExtractHtmlUrls, Bounded) {
  std::string html;
  for (int i = 0; i < 10000; ++i) html += "<a href=\"http://h" + std::to_string(i) + ".example/\">x</a>";
  EXPECT_EQ(extract_html_urls(html, 50).size(), 50u);
  EXPECT_EQ(extract_html_urls(html).size(), 1000u);
}

}  // namespace
}  // namespace mailfort::filter
