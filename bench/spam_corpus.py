#!/usr/bin/python3
"""bench/spam_corpus.py: a seeded corpus of varied messages for bench/spam_scan.sh.

Writes OUT/train/{ham,spam}/N.eml (for Bayes) and OUT/scan/N.eml (the
messages both engines scan), the same bytes for the same --seed. The mix:
plain text, HTML only, multipart/alternative (text + HTML), and mixed with
an attachment (a small PDF-like or ZIP-like binary, base64); URLs in about
half of them (some on the spam domains below); ham from a few regular
correspondents, spam with its own vocabulary, shouting subjects and
look-alike senders. Senders are at SENDER_DOMAINS, which the benchmark's
fake DNS publishes (A, MX, SPF), so DNS answers at once.

Usage: bench/spam_corpus.py OUT [--scan 3000] [--train 300] [--seed 13]
"""
import argparse
import base64
import os
import random

SENDER_DOMAINS = ["example.org", "news.example.com", "shop.example.net", "lists.example.edu",
                  "promo-deals.example", "cheap-meds.example", "lottery-win.example"]
HAM_DOMAINS = SENDER_DOMAINS[:4]
SPAM_DOMAINS = SENDER_DOMAINS[4:]
URL_DOMAINS_HAM = ["docs.example.org", "www.example.com", "git.example.net", "wiki.example.edu"]
URL_DOMAINS_SPAM = ["claim-now.example", "bit-prize.example", "pharma-sale.example", "win-big.example"]

HAM_WORDS = """meeting agenda project review schedule report budget quarter team release notes
minutes draft proposal deadline feedback design document thanks regards tomorrow afternoon
lunch conference call update patch build test failure server deploy migration ticket issue
invoice attached contract holiday vacation family weekend photos dinner birthday garden book
library course lecture homework exam results grades seminar paper research data analysis
chart figure table appendix version branch merge commit pipeline monitoring dashboard""".split()
SPAM_WORDS = """free winner prize cash lottery claim urgent offer limited guaranteed viagra cialis
pharmacy discount cheap pills weight loss bitcoin investment profit double money transfer bank
account verify password suspended click unsubscribe exclusive deal bonus casino jackpot dating
singles hot congratulations selected million dollars inheritance prince beneficiary wire
refund overdue payment crypto wallet miracle cure risk clearance replica watches""".split()
COMMON = """the a to of and in is it you that for on with as are this be at have from or
your we will can our by not but all they an more about if which their has""".split()


def sentence(rng, vocab, n):
    words = [rng.choice(vocab) if rng.random() < 0.45 else rng.choice(COMMON) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def paragraph(rng, vocab, sentences):
    return " ".join(sentence(rng, vocab, rng.randint(6, 18)) for _ in range(sentences))


def url(rng, spam):
    host = rng.choice(URL_DOMAINS_SPAM if spam else URL_DOMAINS_HAM)
    path = "/".join(rng.choice(SPAM_WORDS if spam else HAM_WORDS) for _ in range(rng.randint(1, 3)))
    return f"http{'s' if rng.random() < 0.7 else ''}://{host}/{path}?id={rng.randint(1, 99999)}"


def attachment(rng):
    if rng.random() < 0.5:
        name, ctype = f"document-{rng.randint(1, 999)}.pdf", "application/pdf"
        data = b"%PDF-1.4\n" + bytes(rng.getrandbits(8) for _ in range(rng.randint(2000, 20000))) + b"\n%%EOF\n"
    else:
        name, ctype = f"archive-{rng.randint(1, 999)}.zip", "application/zip"
        data = b"PK\x03\x04" + bytes(rng.getrandbits(8) for _ in range(rng.randint(2000, 20000)))
    b64 = base64.b64encode(data).decode()
    return name, ctype, "\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))


def message(rng, i, spam):
    vocab = SPAM_WORDS if spam else HAM_WORDS
    domain = rng.choice(SPAM_DOMAINS if spam and rng.random() < 0.8 else HAM_DOMAINS)
    user = rng.choice(["alice", "bob", "carol", "news", "info", "support", "dave", "promo"])
    sender = f"{user}@{domain}"
    subject = sentence(rng, vocab, rng.randint(3, 8)).rstrip(".")
    if spam and rng.random() < 0.4:
        subject = subject.upper() + "!!!"
    paras = [paragraph(rng, vocab, rng.randint(2, 6)) for _ in range(rng.randint(1, 5))]
    urls = [url(rng, spam) for _ in range(rng.randint(1, 4))] if rng.random() < 0.5 else []
    text = "\r\n\r\n".join(paras + urls)
    html = ("<html><body>" + "".join(f"<p>{p}</p>" for p in paras) +
            "".join(f'<p><a href="{u}">{rng.choice(vocab)}</a></p>' for u in urls) + "</body></html>")
    kind = rng.choice(["text", "html", "alternative", "mixed"])
    head = (f"From: {user.capitalize()} <{sender}>\r\nTo: User One <user1@example.test>\r\n"
            f"Subject: {subject}\r\nDate: Thu, 03 Dec 2026 {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00 +0000\r\n"
            f"Message-ID: <corpus{i}.{rng.getrandbits(32):08x}@{domain}>\r\nMIME-Version: 1.0\r\n")
    if kind == "text":
        return head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
    if kind == "html":
        return head + "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n"
    b = f"b{rng.getrandbits(48):012x}"
    alt = (f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
           f"--{b}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--{b}--\r\n")
    if kind == "alternative":
        return head + f'Content-Type: multipart/alternative; boundary="{b}"\r\n\r\n' + alt
    m = f"m{rng.getrandbits(48):012x}"
    name, ctype, data = attachment(rng)
    return (head + f'Content-Type: multipart/mixed; boundary="{m}"\r\n\r\n'
            f'--{m}\r\nContent-Type: multipart/alternative; boundary="{b}"\r\n\r\n{alt}'
            f'--{m}\r\nContent-Type: {ctype}; name="{name}"\r\nContent-Transfer-Encoding: base64\r\n'
            f'Content-Disposition: attachment; filename="{name}"\r\n\r\n{data}\r\n--{m}--\r\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--scan", type=int, default=3000)
    ap.add_argument("--train", type=int, default=300, help="messages of each class for Bayes")
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    for sub in ("train/ham", "train/spam", "scan"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    n = 0
    for cls in ("ham", "spam"):
        for i in range(a.train):
            n += 1
            with open(os.path.join(a.out, "train", cls, f"{i:05d}.eml"), "w") as f:
                f.write(message(rng, n, cls == "spam"))
    for i in range(a.scan):
        n += 1
        with open(os.path.join(a.out, "scan", f"{i:05d}.eml"), "w") as f:
            f.write(message(rng, n, rng.random() < 0.4))
    print(f"{a.out}: {2 * a.train} training, {a.scan} to scan (seed {a.seed})")


if __name__ == "__main__":
    main()
