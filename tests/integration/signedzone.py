"""A DNSSEC-signed zone for the fake DNS (tests only).

Keys are made at test time with ldns-keygen (one ECDSAP256SHA256 / algorithm
13 key with the SEP flag, used as a CSK) and the zone is signed with
ldns-signzone (NSEC). The signed zone text is parsed with dnslib and served
by FakeDNS like an authoritative server would:

  * the answer RRset with its RRSIGs (when the query has the DO bit);
  * NODATA: SOA + the NSEC of the name (proving the type is absent), signed;
  * NXDOMAIN: SOA + the NSEC covering the name and the one covering the
    wildcard at the apex, signed;
  * an OPT record in the reply, echoing the DO bit.

    z = SignedZone("dane.test", ["@ MX 10 mx", "mx A 127.0.0.3"], workdir)
    dns.add_signed_zone(z)
    open(ta, "w").write(z.trust_anchor)   # the zone's DS record

`tamper(name, rtype, text)` replaces an RRset after signing and keeps the old
RRSIGs, which makes the answer bogus for a validating resolver.
"""
import os
import shutil
import subprocess

from dnslib import EDNS0, QTYPE, RCODE, RR

TOOLS = ("ldns-keygen", "ldns-signzone")


def tools_available():
    return all(shutil.which(t) for t in TOOLS)


def canonical_key(name):
    """RFC 4034 6.1 canonical order: labels compared right to left, lower case."""
    labels = name.rstrip(".").lower().split(".")
    return tuple(l.encode() for l in reversed(labels))


def _norm(name):
    return str(name).rstrip(".").lower()


class SignedZone:
    def __init__(self, origin, records, workdir, ttl=60):
        self.origin = origin.rstrip(".").lower()
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        zone = os.path.join(workdir, f"{self.origin}.zone")
        with open(zone, "w") as f:
            f.write(f"$ORIGIN {self.origin}.\n$TTL {ttl}\n")
            f.write(f"@ IN SOA ns.{self.origin}. hostmaster.{self.origin}. 1 3600 600 86400 {ttl}\n")
            f.write(f"@ IN NS ns.{self.origin}.\n")
            f.write("ns IN A 127.0.0.1\n")
            for line in records:
                f.write(line + "\n")
        key = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", self.origin], cwd=workdir,
                             capture_output=True, text=True, check=True).stdout.strip()
        base = os.path.join(workdir, key)
        subprocess.run(["ldns-signzone", "-i", "20250101000000", "-e", "20371231000000", "-f",
                        zone + ".signed", "-o", self.origin, zone, base], cwd=workdir,
                       capture_output=True, text=True, check=True)
        self.trust_anchor = open(base + ".ds").read()
        self.dnskey = open(base + ".key").read()
        self.rrsets = {}  # (owner, type) -> [RR]
        self.sigs = {}  # (owner, covered type) -> [RRSIG RR]
        for line in open(zone + ".signed"):
            if not line.strip() or line.startswith(";"):
                continue
            for rr in RR.fromZone(line):
                owner = _norm(rr.rname)
                rtype = QTYPE[rr.rtype]
                if rtype == "RRSIG":
                    self.sigs.setdefault((owner, QTYPE[rr.rdata.covered]), []).append(rr)
                else:
                    self.rrsets.setdefault((owner, rtype), []).append(rr)
        self._index()

    def _index(self):
        self.names = {owner for owner, _ in self.rrsets}
        self.nsec = sorted(((owner, rrs[0]) for (owner, t), rrs in self.rrsets.items() if t == "NSEC"),
                           key=lambda x: canonical_key(x[0]))

    def contains(self, qname):
        return qname == self.origin or qname.endswith("." + self.origin)

    def tamper(self, name, rtype, text):
        """Replaces the RRset (name, rtype) with `text`, keeping the original RRSIGs."""
        name = _norm(name)
        self.rrsets[(name, rtype)] = RR.fromZone(f"{name}. 60 IN {rtype} {text}")

    def _covering(self, qname):
        """The NSEC whose owner precedes qname in canonical order (the chain wraps at the apex)."""
        k = canonical_key(qname)
        best = self.nsec[-1]
        for owner, rr in self.nsec:
            if canonical_key(owner) < k:
                best = (owner, rr)
        return best

    def _with_sigs(self, owner, rtype, do):
        out = list(self.rrsets.get((owner, rtype), []))
        if do:
            out += self.sigs.get((owner, rtype), [])
        return out

    def answer(self, request, reply):
        qname = _norm(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        do = False
        for rr in request.ar:
            if rr.rtype == QTYPE.OPT:
                do = bool(rr.ttl & 0x8000)
                reply.add_ar(EDNS0(flags="do" if do else "", udp_len=4096))
        reply.header.aa = 1
        if (qname, qtype) in self.rrsets:
            for rr in self._with_sigs(qname, qtype, do):
                reply.add_answer(rr)
            return reply
        for rr in self._with_sigs(self.origin, "SOA", do):
            reply.add_auth(rr)
        exists = qname in self.names or any(n.endswith("." + qname) for n in self.names)
        if not exists:
            reply.header.rcode = RCODE.NXDOMAIN
        if do:
            proofs = [qname] if qname in self.names else []
            if not proofs:  # empty non-terminal or NXDOMAIN: covering NSEC
                proofs.append(self._covering(qname)[0])
                if not exists:
                    wild = self._covering("*." + self.origin)[0]
                    if wild not in proofs:
                        proofs.append(wild)
            for owner in proofs:
                for rr in self._with_sigs(owner, "NSEC", do):
                    reply.add_auth(rr)
        return reply
