#!/usr/bin/python3
"""make_mbox.py OUT [--messages 500] [--size 4096]: the messages imapload and imaptest APPEND, as an mbox.

The messages are bench/imap_load.py's (deterministic, realistic headers, ~--size bytes), so both load
generators append the same bytes to both servers. Lines are LF in the file; both tools send CRLF.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from imap_load import make_message  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--messages", type=int, default=500)
    ap.add_argument("--size", type=int, default=4096)
    a = ap.parse_args()
    with open(a.out, "w") as f:
        for i in range(1, a.messages + 1):
            msg = make_message("user@example.test", i, a.size).decode().replace("\r\n", "\n")
            f.write("From load@example.test Thu Dec  3 12:00:00 2026\n")
            for line in msg.rstrip("\n").split("\n"):
                f.write((">" + line if line.startswith("From ") else line) + "\n")
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
