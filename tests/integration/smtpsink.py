"""A small SMTP sink for outbound tests (stdlib asyncio, loopback only).

Counts connections and transactions, answers PIPELINING clients in order,
and lets a test script the replies: `rcpt_reply(address, attempt)` and
`data_reply(transaction)` return an SMTP reply line or None for 250. A
transaction can be held before its final reply (`hold`): the sink then
waits until the test releases it or the client disappears (then it is not
counted, as a remote that never confirmed)."""
import asyncio
import email
import threading


class Transaction:
    def __init__(self, conn, sender):
        self.conn = conn
        self.sender = sender
        self.rcpts = []
        self.data = b""

    def subject(self):
        return email.message_from_bytes(self.data).get("Subject", "")


class SmtpSink:
    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self.connections = 0
        self.transactions = []  # confirmed (250 after DATA)
        self.rcpt_attempts = {}
        self.rcpt_reply = lambda addr, attempt: None
        self.data_reply = lambda tx: None
        self.hold = lambda tx: False  # True: wait before the final reply
        self.pipelining = True  # advertise PIPELINING
        self.rsets = 0
        self.closed = 0  # sessions over and their sockets closed
        self.close_after = 0  # >0: drop each connection silently after that many transactions
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def stop(self):
        self.release.set()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def subjects(self):
        with self._lock:
            return [t.subject() for t in self.transactions]

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._session, self.host, self.port))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _session(self, reader, writer):
        with self._lock:
            self.connections += 1
            conn = self.connections
        tx = None
        done = 0
        try:
            writer.write(b"220 sink.test ESMTP\r\n")
            while True:
                line = await asyncio.wait_for(reader.readline(), 30)
                if not line:
                    return
                cmd = line.decode(errors="replace").strip()
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    ext = b"250-PIPELINING\r\n" if self.pipelining else b""
                    writer.write(b"250-sink.test\r\n" + ext + b"250-8BITMIME\r\n250 SIZE 10000000\r\n")
                elif verb == "MAIL":
                    tx = Transaction(conn, cmd[cmd.index("<") + 1:cmd.rindex(">")])
                    writer.write(b"250 2.1.0 ok\r\n")
                elif verb == "RCPT" and tx:
                    addr = cmd[cmd.index("<") + 1:cmd.rindex(">")]
                    with self._lock:
                        n = self.rcpt_attempts[addr] = self.rcpt_attempts.get(addr, 0) + 1
                    reply = self.rcpt_reply(addr, n)
                    if reply:
                        writer.write(reply.encode() + b"\r\n")
                    else:
                        tx.rcpts.append(addr)
                        writer.write(b"250 2.1.5 ok\r\n")
                elif verb == "DATA" and tx:
                    if not tx.rcpts:
                        writer.write(b"554 5.5.1 no valid recipients\r\n")
                        continue
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    data = b""
                    while True:
                        l = await asyncio.wait_for(reader.readline(), 30)
                        if not l:
                            return
                        if l == b".\r\n":
                            break
                        data += l[1:] if l.startswith(b".") else l
                    tx.data = data
                    if self.hold(tx):
                        self.holding.set()
                        # Wait for the test, or for the client to vanish.
                        while not self.release.is_set():
                            try:
                                extra = await asyncio.wait_for(reader.read(1), 0.1)
                                if not extra:
                                    return  # gone before our 250: not confirmed
                            except asyncio.TimeoutError:
                                pass
                    reply = self.data_reply(tx)
                    if reply:
                        writer.write(reply.encode() + b"\r\n")
                    else:
                        with self._lock:
                            self.transactions.append(tx)
                        writer.write(b"250 2.0.0 queued\r\n")
                        done += 1
                        if self.close_after and done >= self.close_after:
                            await writer.drain()
                            return  # like a server's idle timeout without 421
                    tx = None
                elif verb == "RSET":
                    tx = None
                    with self._lock:
                        self.rsets += 1
                    writer.write(b"250 2.0.0 ok\r\n")
                elif verb == "NOOP":
                    writer.write(b"250 2.0.0 ok\r\n")
                elif verb == "QUIT":
                    writer.write(b"221 2.0.0 bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"502 5.5.2 unknown\r\n")
                await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            return
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
            with self._lock:
                self.closed += 1
