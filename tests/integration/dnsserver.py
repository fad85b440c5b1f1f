"""A fake authoritative DNS server on loopback for tests (python3-dnslib).

Every test instance of Mailfort resolves through one of these, so no test
sends DNS anywhere but 127.0.0.1. Tests fill it with records:

    dns.add("example.test", "MX", "10 mail.example.test.")
    dns.add("mail.example.test", "A", "127.0.0.1")

Unknown names answer NXDOMAIN; a known name without the asked type answers
NOERROR with no records (NODATA).

A DNSSEC-signed zone (signedzone.SignedZone) can be added with
add_signed_zone(); names under its origin are answered from it, with
RRSIG/NSEC records when the query has the DO bit.

Failures, for temperror paths (SPF, DKIM, DMARC):

    dns.servfail("broken.example.test")   # answers SERVFAIL
    dns.timeout("slow.example.test")      # never answers (the resolver times out)

Both apply to every query type of that name except the types it has records
for (added with add()), so one name can answer TXT and time out on A.
"""
import threading

from dnslib import QTYPE, RCODE, RR, DNSError
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from ports import free_port


class _Resolver(BaseResolver):
    def __init__(self, zone):
        self.zone = zone

    def resolve(self, request, handler):
        reply = request.reply()
        reply.header.aa = 1
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self.zone.lock:
            records = list(self.zone.records.get(qname, []))
            queries = self.zone.queries
            queries.append((qname, qtype))
            signed = next((z for z in self.zone.signed if z.contains(qname)), None)
            failure = self.zone.failures.get(qname)
        if failure and not any(rtype == qtype for rtype, _ in records):
            if failure == "timeout":
                # dnslib's handler sends nothing when the resolver raises
                # DNSError (the quiet logger keeps it off stderr).
                raise DNSError(f"timeout for {qname}")
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if signed:
            return signed.answer(request, reply)
        if not records:
            reply.header.rcode = RCODE.NXDOMAIN
        for rtype, text in records:
            if rtype == qtype:
                reply.add_answer(*RR.fromZone(f"{qname}. 60 IN {rtype} {text}"))
        if not reply.rr and self.zone.negative_ttl:
            # An SOA in the authority section makes the denial cacheable
            # (RFC 2308), as on the real Internet; tests leave it off so a
            # record added later is seen at once.
            ttl = self.zone.negative_ttl
            reply.add_auth(*RR.fromZone(f"test. {ttl} IN SOA ns.test. hostmaster.test. 1 3600 600 86400 {ttl}"))
        return reply


class FakeDNS:
    def __init__(self, negative_ttl=0):
        self.negative_ttl = negative_ttl
        self.records = {}
        self.queries = []
        self.signed = []
        self.failures = {}  # name -> "servfail" | "timeout"
        self.lock = threading.Lock()
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-data,-send,-recv", prefix=False)
        self.port = free_port()
        self.udp = DNSServer(_Resolver(self), address="127.0.0.1", port=self.port, logger=quiet)
        self.tcp = DNSServer(_Resolver(self), address="127.0.0.1", port=self.port, tcp=True, logger=quiet)

    def start(self):
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    def stop(self):
        self.udp.stop()
        self.tcp.stop()

    def add(self, name, rtype, text):
        with self.lock:
            self.records.setdefault(name.rstrip(".").lower(), []).append((rtype.upper(), text))

    def servfail(self, name):
        with self.lock:
            self.failures[name.rstrip(".").lower()] = "servfail"

    def timeout(self, name):
        with self.lock:
            self.failures[name.rstrip(".").lower()] = "timeout"

    def add_signed_zone(self, zone):
        with self.lock:
            self.signed.append(zone)

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"
