#!/usr/bin/env python3
"""A phone loading one screen of the WedSync app, again and again, and timing each load.

A screen is a list of paths, fetched the way a browser on a phone fetches them:
  h1   HTTP/1.1, up to --h1-connections (3) keep-alive connections in parallel, the screen's requests spread over
       them (one request at a time on each: browsers do not pipeline);
  h2   HTTP/2 over TLS (ALPN h2, http/1.1 offered as the fallback), one connection, every request a concurrent
       stream, the client's stream and connection windows at 16 MB;
  h2c  HTTP/2 over plain TCP with prior knowledge (the preface first, no Upgrade).
--tls puts h1 or h2 on TLS 1.3 (at least) with --cafile and --server-name.

Warm loads (the default) open the connections once and reuse them; cold loads (--cold) open new ones (TCP, and TLS)
for every load, resuming the previous load's TLS session with --resume. Before every measured load the client runs
--mutate-cmd (a shell command, waited for: scripts/3g changes the screen's data there and waits for the gateway's
purge, so each load fetches a new body), then sleeps --think-ms, then loads the screen.

Each load prints one JSON line: t_ms from the load's start to the last body byte of the last response; per request
the status, content-coding, body bytes as sent (compressed), decoded size, HTTP version, whether its connection was
opened in this load and whether its TLS session was resumed; with --wire-dev, the device's rx/tx bytes and packets
across the load. A last line ("summary": true) gives n, p50, p95, mean and max of t_ms over the measured loads, and
the screen's mean body bytes.

Standard library only (sockets, ssl and selectors, one thread, so the timestamps are not at the mercy of the GIL),
plus `h2` (PyPI) for the HTTP/2 modes and, when installed, `brotli` to decode br bodies.
"""
import argparse
import collections
import errno
import json
import math
import os
import selectors
import socket
import ssl
import subprocess
import sys
import time
import zlib

try:
    import brotli  # PyPI "Brotli"; optional, only to report the decoded size of br bodies
except ImportError:
    brotli = None

# The screens of scripts/3g; {date} and {client} come from --date and --client-id.
PRESETS = {
    # The wedding-day screen in one round trip (GET /api/screens/wedding-day).
    "wedding-day": ["/api/screens/wedding-day?date={date}"],
    # The same screen as its three parts.
    "wedding-day-parts": [
        "/api/supplier-schedules?date={date}",
        "/api/timeline?date={date}",
        "/api/guest-summary?date={date}",
    ],
    # The app's old screen: the dashboard, the client list (one page of 200) and one wedding's guest lists.
    "legacy": ["/api/dashboard", "/api/clients?limit=200", "/api/guest-lists?client_id={client}"],
}

H2_WINDOW = 16 * 1024 * 1024  # the client's stream and connection receive windows
RECV_SIZE = 256 * 1024


def now():
    return time.monotonic()


def ms(seconds):
    return round(seconds * 1000.0, 3)


class Exchange:
    """One request of a load and what came back."""

    def __init__(self, path, headers):
        self.path = path
        self.headers = headers  # [(name, value)], names lower-case
        self.status = None
        self.response_headers = []
        self.body = bytearray()
        self.version = None
        self.conn = None
        self.t_first = None  # the first byte of the response
        self.t_done = None  # the last byte of its body
        self.error = None
        self.retried = False

    @property
    def finished(self):
        return self.t_done is not None or self.error is not None

    def header(self, name):
        for key, value in self.response_headers:
            if key == name:
                return value
        return None


class H1:
    """HTTP/1.1 on one connection: one request at a time, the response parsed as it arrives."""

    version = "1.1"
    multiplexed = False

    def __init__(self, conn):
        self.conn = conn
        self.current = None
        self.buf = bytearray()
        self.usable = True
        self.head_done = False
        self.remaining = None  # body bytes still to come (content-length), or None
        self.chunked = False
        self.chunk_left = 0  # of the current chunk, or -1 while reading the trailer
        self.until_close = False  # no length: the body ends with the connection

    @property
    def idle(self):
        return self.current is None and self.usable

    def start(self):
        pass

    def submit(self, exchange):
        self.current = exchange
        exchange.conn = self.conn
        exchange.version = self.version
        lines = [f"GET {exchange.path} HTTP/1.1", f"host: {self.conn.client.authority}"]
        lines += [f"{name}: {value}" for name, value in exchange.headers]
        self.conn.out += ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.head_done, self.remaining, self.chunked, self.chunk_left, self.until_close = False, None, False, 0, False

    def feed(self, data, t):
        if self.current is None:
            if data:  # nothing was asked: the server is talking out of turn (or closing); do not reuse
                self.usable = False
            return
        x = self.current
        if x.t_first is None:
            x.t_first = t
        self.buf += data
        while self.current is not None and self._step(t):
            pass

    def _step(self, t):
        """Parses what it can; True when it made progress and may make more."""
        x = self.current
        if not self.head_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            del self.buf[: end + 4]
            status = int(head[0].split(" ", 2)[1])
            if 100 <= status < 200:  # an interim response: the real one follows
                return True
            x.status = status
            x.response_headers = []
            for line in head[1:]:
                name, _, value = line.partition(":")
                x.response_headers.append((name.strip().lower(), value.strip()))
            self.head_done = True
            if (x.header("connection") or "").lower() == "close":
                self.usable = False
            if status in (204, 304):
                self.remaining = 0
            elif "chunked" in (x.header("transfer-encoding") or "").lower():
                self.chunked = True
            elif x.header("content-length") is not None:
                self.remaining = int(x.header("content-length"))
            else:
                self.until_close = True
                self.usable = False
            if self.remaining == 0:
                self._finish(t)
            return True
        if self.chunked:
            return self._chunk_step(t)
        if self.until_close:
            x.body += self.buf
            self.buf.clear()
            return False
        take = min(self.remaining, len(self.buf))
        x.body += self.buf[:take]
        del self.buf[:take]
        self.remaining -= take
        if self.remaining == 0:
            self._finish(t)
            return False
        return False

    def _chunk_step(self, t):
        x = self.current
        if self.chunk_left > 0:
            take = min(self.chunk_left, len(self.buf))
            if take == 0:
                return False
            x.body += self.buf[:take]
            del self.buf[:take]
            self.chunk_left -= take
            return True
        end = self.buf.find(b"\r\n")
        if end < 0:
            return False
        line = bytes(self.buf[:end])
        del self.buf[: end + 2]
        if self.chunk_left == -1:  # the trailer section: ends with an empty line
            if line == b"":
                self._finish(t)
            return True
        if line == b"":  # the CRLF after a chunk's data
            return True
        size = int(line.split(b";")[0], 16)
        if size == 0:
            self.chunk_left = -1
        else:
            self.chunk_left = size
        return True

    def _finish(self, t):
        x = self.current
        x.t_done = t
        self.current = None
        if self.buf:  # bytes beyond the response: nothing was pipelined, so the connection is out of step
            self.usable = False
        self.conn.client.finished(x, self.conn)

    def closed(self, t):
        self.usable = False
        x, self.current = self.current, None
        if x is None:
            return
        if self.until_close and self.head_done:
            x.t_done = t
            self.conn.client.finished(x, self.conn)
        else:
            self.conn.client.failed(x, self.conn, "connection closed before the response ended",
                                    retryable=x.t_first is None and not self.conn.new)


class H2:
    """HTTP/2 on one connection (h2's state machine): every request a stream, all sent in one flight."""

    version = "2"
    multiplexed = True

    def __init__(self, conn):
        import h2.config
        import h2.connection
        import h2.events
        import h2.settings

        self.events = h2.events
        self.conn = conn
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        # Our settings as the initial ones, so streams get the 16 MB window at once (not only once acknowledged).
        self.h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 65536,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: H2_WINDOW,
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
            },
        )
        self.streams = {}
        self.usable = True

    @property
    def idle(self):
        return self.usable

    def start(self):
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(H2_WINDOW - 65535)  # the connection's window: 64 KB by default
        self.conn.out += self.h2.data_to_send()

    def submit(self, exchange):
        exchange.conn = self.conn
        exchange.version = self.version
        stream = self.h2.get_next_available_stream_id()
        self.streams[stream] = exchange
        headers = [
            (b":method", b"GET"),
            (b":scheme", b"https" if self.conn.client.tls else b"http"),
            (b":authority", self.conn.client.authority.encode()),
            (b":path", exchange.path.encode()),
        ] + [(name.encode(), value.encode()) for name, value in exchange.headers]
        self.h2.send_headers(stream, headers, end_stream=True)
        self.conn.out += self.h2.data_to_send()

    def feed(self, data, t):
        ev = self.events
        try:
            events = self.h2.receive_data(bytes(data))
        except Exception as error:  # a protocol error: this connection is done
            self.conn.out += self.h2.data_to_send()
            self._fail_all(f"HTTP/2 protocol error: {error!r}")
            return
        for event in events:
            x = self.streams.get(getattr(event, "stream_id", 0))
            if isinstance(event, ev.ResponseReceived) and x is not None:
                headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers]
                status = int(dict(headers)[":status"])
                if 100 <= status < 200:
                    continue
                x.t_first = x.t_first or t
                x.status = status
                x.response_headers = [(k, v) for k, v in headers if not k.startswith(":")]
            elif isinstance(event, ev.InformationalResponseReceived) and x is not None:
                x.t_first = x.t_first or t
            elif isinstance(event, ev.DataReceived):
                if x is not None:
                    x.t_first = x.t_first or t
                    x.body += event.data
                # Give the window back as it is used (h2 batches the WINDOW_UPDATEs).
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, ev.StreamEnded) and x is not None:
                x.t_done = t
                del self.streams[event.stream_id]
                self.conn.client.finished(x, self.conn)
            elif isinstance(event, ev.StreamReset) and x is not None:
                del self.streams[event.stream_id]
                self.conn.client.failed(x, self.conn, f"stream reset ({event.error_code!r})", retryable=False)
            elif isinstance(event, ev.ConnectionTerminated):
                self.usable = False
                # Streams above last_stream_id were never processed: a browser would retry them elsewhere.
                last = event.last_stream_id or 0
                for stream, pending in list(self.streams.items()):
                    del self.streams[stream]
                    self.conn.client.failed(pending, self.conn, f"GOAWAY ({event.error_code!r})",
                                            retryable=stream > last and pending.t_first is None)
        self.conn.out += self.h2.data_to_send()

    def closed(self, t):
        self.usable = False
        self._fail_all("connection closed", retryable=True)

    def _fail_all(self, why, retryable=False):
        self.usable = False
        for stream, x in list(self.streams.items()):
            del self.streams[stream]
            self.conn.client.failed(x, self.conn, why, retryable=retryable and x.t_first is None and not self.conn.new)


class Conn:
    """One TCP (and TLS) connection, non-blocking, driven by the client's selector."""

    serial = 0

    def __init__(self, client):
        Conn.serial += 1
        self.id = Conn.serial
        self.client = client
        self.new = True  # opened during the load being measured
        self.state = "connecting"
        self.proto = None
        self.out = bytearray()
        self.alpn = None
        self.session_reused = None
        self.session_taken = False
        self.t_open = now()
        self.t_ready = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as browsers do
        err = self.sock.connect_ex((client.host, client.port))
        if err not in (0, errno.EINPROGRESS, errno.EAGAIN):
            raise OSError(err, os.strerror(err))
        self.want_write = True  # wait for the connect to complete

    @property
    def ready(self):
        return self.state == "ready"

    @property
    def alive(self):
        return self.state != "closed"

    def events(self):
        wanted = selectors.EVENT_READ
        if self.want_write or self.out:
            wanted |= selectors.EVENT_WRITE
        return wanted

    def on_event(self, mask, t):
        if self.state == "closed":  # closed by an earlier event of the same select
            return
        try:
            if self.state == "connecting":
                if mask & selectors.EVENT_WRITE:
                    err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    self.want_write = False
                    if self.client.tls_context:
                        # The TLS socket takes over the descriptor: registered again under its new object.
                        self.client.selector.unregister(self.sock)
                        self.sock = self.client.tls_context.wrap_socket(
                            self.sock,
                            server_hostname=self.client.server_name,
                            do_handshake_on_connect=False,
                            session=self.client.session if self.client.resume else None,
                        )
                        self.client.register(self)
                        self.state = "handshaking"
                        self._handshake(t)
                    else:
                        self._established(t)
                return
            if self.state == "handshaking":
                self._handshake(t)
                return
            if mask & selectors.EVENT_WRITE and self.out:
                self._flush()
            if mask & selectors.EVENT_READ:
                self._read(t)
        except (OSError, ssl.SSLError) as error:
            self.close(t, f"{type(error).__name__}: {error}")

    def _handshake(self, t):
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            self.want_write = False
            return
        except ssl.SSLWantWriteError:
            self.want_write = True
            return
        self.want_write = False
        self.alpn = self.sock.selected_alpn_protocol()
        self.session_reused = self.sock.session_reused
        self._established(t)

    def _established(self, t):
        self.state = "ready"
        self.t_ready = t
        h2_wanted = self.client.mode in ("h2", "h2c")
        if h2_wanted and (not self.client.tls_context or self.alpn == "h2"):
            self.proto = H2(self)
        else:
            self.proto = H1(self)
        self.proto.start()
        self.client.connected(self)
        self.send_now()
        if self.client.tls_context:
            self._read(t)  # what came with the handshake's last flight may already sit in the TLS buffer

    def _flush(self):
        while self.out:
            try:
                sent = self.sock.send(self.out)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return
            del self.out[:sent]

    def _read(self, t):
        while self.state == "ready":
            try:
                data = self.sock.recv(RECV_SIZE)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            if not data:
                self.close(t, None)
                return
            self.proto.feed(data, t)
            if self.out:
                self._flush()

    def send_now(self):
        """Writes what is queued at once (a request goes out in the same instant it is made)."""
        if self.ready and self.out:
            try:
                self._flush()
            except (OSError, ssl.SSLError) as error:
                self.close(now(), f"{type(error).__name__}: {error}")

    def take_session(self):
        """The TLS session for the next resumption: taken once a response has been read, because TLS 1.3 tickets
        arrive after the handshake."""
        if self.client.tls_context and not self.session_taken and self.ready:
            session = self.sock.session
            if session is not None and session.has_ticket:
                self.client.session = session
                self.session_taken = True

    def close(self, t, why):
        if self.state == "closed":
            return
        previous, self.state = self.state, "closed"
        self.client.unregister(self)
        try:
            self.sock.close()
        except OSError:
            pass
        if previous != "ready":  # nothing was sent on it yet: the requests waiting for it fail over
            self.client.connect_failed(self, why or "closed during the handshake")
        elif self.proto is not None:
            self.proto.closed(t)


class ScreenClient:
    """The phone: a pool of connections, the screen's requests, and the loop that drives them."""

    def __init__(self, args):
        self.mode = args.mode
        self.host, self.port = args.host, args.port
        self.tls = args.tls or args.mode == "h2"
        self.server_name = args.server_name or args.host
        self.authority = f"{self.server_name}:{self.port}"
        self.resume = args.resume
        self.session = None
        self.tls_context = None
        if self.tls:
            if args.mode == "h2c":
                sys.exit("h2c is HTTP/2 over plain TCP: drop --tls")
            context = ssl.create_default_context(cafile=args.cafile)
            context.minimum_version = ssl.TLSVersion.TLSv1_3
            context.set_alpn_protocols(["h2", "http/1.1"] if args.mode == "h2" else ["http/1.1"])
            self.tls_context = context
        self.max_connections = 1 if args.mode in ("h2", "h2c") else args.h1_connections
        self.selector = selectors.DefaultSelector()
        self.conns = []  # the pool: every live connection
        self.pending = collections.deque()
        self.closing = False  # while close_all runs: failures are final, nothing is retried or dispatched
        self.etags = {}
        self.args = args

    # -- the pool -------------------------------------------------------------------------------------------------

    def register(self, conn):
        self.selector.register(conn.sock, conn.events(), conn)

    def unregister(self, conn):
        try:
            self.selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        if conn in self.conns:
            self.conns.remove(conn)

    def open(self):
        conn = Conn(self)
        self.conns.append(conn)
        self.register(conn)
        return conn

    def close_all(self):
        self.closing = True
        try:
            for conn in list(self.conns):
                conn.close(now(), "closed by the client")
            self.conns.clear()
        finally:
            self.closing = False

    def reap_idle(self):
        """Before a warm load: reads whatever idle connections received while the phone was thinking (a close, a
        GOAWAY, a PING, TLS tickets), and drops the ones that cannot carry a request any more."""
        self.update_interest()
        for key, mask in self.selector.select(timeout=0):
            key.data.on_event(mask, now())
        for conn in list(self.conns):
            conn.new = False
            if conn.alive and conn.proto is not None and not conn.proto.usable:
                conn.close(now(), None)

    # -- events from the connections ------------------------------------------------------------------------------

    def update_interest(self):
        for conn in self.conns:  # what each connection waits for changes with its state and its output
            try:
                self.selector.modify(conn.sock, conn.events(), conn)
            except (KeyError, ValueError):
                pass

    def connected(self, conn):
        if self.mode == "h2" and not conn.proto.multiplexed:
            self.max_connections = self.args.h1_connections  # ALPN chose HTTP/1.1: behave as an HTTP/1.1 browser
        self.dispatch()

    def connect_failed(self, conn, why):
        # Nothing was sent on it: if no connection is left to carry the waiting requests, they fail.
        if not any(c.alive for c in self.conns):
            while self.pending:
                x = self.pending.popleft()
                x.error = f"connect: {why}"

    def finished(self, exchange, conn):
        conn.take_session()
        self.dispatch()

    def failed(self, exchange, conn, why, retryable):
        if retryable and not exchange.retried and not self.closing:
            # A reused connection the server had closed just before the request: a browser retries on a new one.
            exchange.retried = True
            fresh = Exchange(exchange.path, exchange.headers)
            exchange.__dict__.update(fresh.__dict__, retried=True)
            self.pending.appendleft(exchange)
            self.dispatch()
            return
        exchange.error = why
        self.dispatch()

    # -- a load ---------------------------------------------------------------------------------------------------

    def dispatch(self):
        """Gives waiting requests to connections: all at once to an HTTP/2 connection; one each to idle HTTP/1.1
        connections, opening new ones (up to the limit) while requests wait."""
        if self.closing:
            return
        for conn in list(self.conns):
            if not self.pending:
                return
            if not conn.ready or not conn.proto.idle:
                continue
            if conn.proto.multiplexed:
                while self.pending:
                    conn.proto.submit(self.pending.popleft())
            else:
                conn.proto.submit(self.pending.popleft())
            conn.send_now()
        opening = sum(1 for c in self.conns if c.alive and not c.ready)
        live = sum(1 for c in self.conns if c.alive)
        multiplexed = any(c.ready and c.proto.multiplexed for c in self.conns)
        while self.pending and live < self.max_connections and not multiplexed:
            if self.mode in ("h2", "h2c") and opening:
                break  # one connection for HTTP/2: wait for it
            if opening >= len(self.pending):
                break  # enough connections on the way for what waits
            try:
                self.open()
            except OSError as error:
                while self.pending:
                    self.pending.popleft().error = f"connect: {error}"
                return
            opening += 1
            live += 1

    def request_headers(self, path):
        headers = [("accept", "application/json")]
        if self.args.accept_encoding:
            headers.append(("accept-encoding", self.args.accept_encoding))
        if self.args.token:
            headers.append(("authorization", f"Bearer {self.args.token}"))
        for extra in self.args.header:
            name, _, value = extra.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        if self.args.conditional and path in self.etags:
            headers.append(("if-none-match", self.etags[path]))
        return headers

    def load(self, paths, timeout):
        """Loads the screen once; returns its exchanges (each with its answer or its error) and the start time."""
        if self.args.cold:
            self.close_all()
        else:
            self.reap_idle()
        exchanges = [Exchange(path, self.request_headers(path)) for path in paths]
        t0 = now()
        self.pending.extend(exchanges)
        self.dispatch()
        deadline = t0 + timeout
        while not all(x.finished for x in exchanges):
            left = deadline - now()
            if left <= 0:
                self.pending.clear()
                self.close_all()  # a half-read response leaves a connection out of step
                for x in exchanges:
                    if not x.finished:
                        x.error = "timed out"
                break
            self.update_interest()
            for key, mask in self.selector.select(timeout=min(left, 1.0)):
                key.data.on_event(mask, now())
            if not self.conns and self.pending:
                self.dispatch()
        self.pending.clear()
        for x in exchanges:
            etag = x.header("etag")
            if x.status == 200 and etag:
                self.etags[x.path] = etag
        if self.args.cold:
            self.close_all()
        return exchanges, t0


def decoded_size(body, coding):
    """The body's size once its content-coding is undone; None when it cannot be decoded here."""
    coding = (coding or "identity").strip().lower()
    try:
        if coding in ("identity", ""):
            return len(body)
        if coding in ("gzip", "x-gzip"):
            return len(zlib.decompress(bytes(body), 16 + zlib.MAX_WBITS))
        if coding == "deflate":
            return len(zlib.decompress(bytes(body)))
        if coding == "br" and brotli is not None:
            return len(brotli.decompress(bytes(body)))
    except Exception:  # zlib.error, brotli.error: not what the coding says
        return None
    return None


def wire_counters(dev):
    if not dev:
        return None
    base = f"/sys/class/net/{dev}/statistics/"
    counters = {}
    try:
        for name in ("rx_bytes", "rx_packets", "tx_bytes", "tx_packets"):
            with open(base + name) as f:
                counters[name] = int(f.read())
        return counters
    except OSError:
        return None


def percentile(values, p):
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]


def describe(exchange, t0):
    coding = exchange.header("content-encoding") or "identity"
    return {
        "path": exchange.path,
        "status": exchange.status,
        "encoding": coding,
        "bytes": len(exchange.body),
        "decoded": decoded_size(exchange.body, coding) if exchange.status == 200 else None,
        "version": exchange.version,
        "conn": exchange.conn.id if exchange.conn else None,
        "new_connection": exchange.conn.new if exchange.conn else None,
        "session_reused": exchange.conn.session_reused if exchange.conn else None,
        "ttfb_ms": ms(exchange.t_first - t0) if exchange.t_first else None,
        "done_ms": ms(exchange.t_done - t0) if exchange.t_done else None,
        "cache": exchange.header("x-cache"),
        "retried": exchange.retried or None,
        "error": exchange.error,
    }


def run_mutation(command):
    started = now()
    rc = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL).returncode
    return rc, ms(now() - started)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("h1", "h2", "h2c"), default="h1")
    ap.add_argument("--host", required=True, help="the server's address, e.g. 10.200.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls", action="store_true", help="TLS 1.3 (always for --mode h2)")
    ap.add_argument("--cafile", help="the CA to trust (PEM)")
    ap.add_argument("--server-name", help="SNI and certificate name (default: --host)")
    ap.add_argument("--path", action="append", default=[], help="a request of the screen (repeat)")
    ap.add_argument("--screen", choices=sorted(PRESETS), help="a named screen instead of --path")
    ap.add_argument("--date", help="{date} of the screen's paths (YYYY-MM-DD)")
    ap.add_argument("--client-id", help="{client} of the screen's paths")
    ap.add_argument("--token", default=os.environ.get("WS3G_TOKEN"), help="bearer token (default: $WS3G_TOKEN)")
    ap.add_argument("--accept-encoding", default="br, gzip", help="'' sends none")
    ap.add_argument("--header", action="append", default=[], help="an extra request header, 'Name: value' (repeat)")
    ap.add_argument("--conditional", action="store_true", help="send If-None-Match with each path's last ETag")
    ap.add_argument("--h1-connections", type=int, default=3, help="HTTP/1.1 connections in parallel at most")
    ap.add_argument("--n", type=int, default=10, help="measured loads")
    ap.add_argument("--warmup", type=int, default=1,
                    help="unmeasured loads first: they learn the ETags (a phone's HTTP cache), open the warm "
                         "connections, and get the TLS session the first resumed load resumes")
    ap.add_argument("--cold", action="store_true", help="new connections (TCP, TLS) for every load")
    ap.add_argument("--resume", action="store_true", help="cold loads resume the previous load's TLS session")
    ap.add_argument("--think-ms", type=float, default=1000, help="idle time before each measured load")
    ap.add_argument("--mutate-cmd", help="shell command run (and waited for) before each measured load's think time")
    ap.add_argument("--wire-dev", help="a network device whose counters are read around each load (e.g. w3g1)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds a load may take")
    ap.add_argument("--label", default="", help="copied into every line (the cell's name)")
    args = ap.parse_args()

    paths = list(args.path)
    if args.screen:
        for template in PRESETS[args.screen]:
            if "{date}" in template and not args.date:
                sys.exit(f"--screen {args.screen} needs --date")
            if "{client}" in template and not args.client_id:
                sys.exit(f"--screen {args.screen} needs --client-id")
            paths.append(template.format(date=args.date, client=args.client_id))
    if not paths:
        sys.exit("no screen: give --path (repeat) or --screen")
    if args.resume and not (args.cold and (args.tls or args.mode == "h2")):
        sys.exit("--resume is for cold TLS loads (--cold with --tls or --mode h2)")
    if args.mode in ("h2", "h2c"):
        try:  # imported now rather than on the first connection, whose load it would slow by ~40 ms
            import h2.config  # noqa: F401
            import h2.connection  # noqa: F401
            import h2.events  # noqa: F401
            import h2.settings  # noqa: F401
        except ImportError:
            sys.exit("the HTTP/2 modes need the h2 package (pip install h2)")
    warmup = args.warmup
    if args.wire_dev and wire_counters(args.wire_dev) is None:
        sys.exit(f"--wire-dev {args.wire_dev}: no /sys/class/net/{args.wire_dev}/statistics here")

    client = ScreenClient(args)
    measured = []
    for index in range(warmup + args.n):
        is_warmup = index < warmup
        line = {"label": args.label, "load": index - warmup, "warmup": is_warmup,
                "kind": "cold" if args.cold else "warm", "mode": args.mode, "tls": client.tls}
        if not is_warmup:
            if args.mutate_cmd:
                line["mutate_rc"], line["mutate_ms"] = run_mutation(args.mutate_cmd)
            time.sleep(args.think_ms / 1000.0)
        before = wire_counters(args.wire_dev)
        exchanges, t0 = client.load(paths, args.timeout)
        after = wire_counters(args.wire_dev)
        done = [x.t_done for x in exchanges if x.t_done is not None]
        ok = all(x.error is None and x.status is not None and x.status < 400 for x in exchanges)
        if line.get("mutate_rc"):
            ok = False
        requests = [describe(x, t0) for x in exchanges]
        new_tls = [r["session_reused"] for r in requests if r["new_connection"] and client.tls]
        line.update({
            "ok": ok,
            "t_ms": ms(max(done) - t0) if done and len(done) == len(exchanges) else None,
            "bytes": sum(r["bytes"] for r in requests),
            "decoded": sum(r["decoded"] or 0 for r in requests),
            "statuses": [r["status"] for r in requests],
            "new_connections": len({r["conn"] for r in requests if r["new_connection"]}),
            "session_reused": all(new_tls) if new_tls else None,
            "requests": requests,
        })
        if before and after:
            line["wire"] = {name: after[name] - before[name] for name in before}
        print(json.dumps(line), flush=True)
        if not is_warmup:
            measured.append(line)
    client.close_all()

    good = [line for line in measured if line["ok"] and line["t_ms"] is not None]
    times = [line["t_ms"] for line in good]
    summary = {"summary": True, "label": args.label, "n": len(times), "failed": len(measured) - len(good)}
    if times:
        summary.update({
            "p50": percentile(times, 50),
            "p95": percentile(times, 95),
            "mean": round(sum(times) / len(times), 3),
            "max": max(times),
            "bytes_mean": round(sum(line["bytes"] for line in good) / len(good), 1),
            "decoded_mean": round(sum(line["decoded"] for line in good) / len(good), 1),
            "not_modified": sum(line["statuses"].count(304) for line in good),
        })
        wire = [line["wire"] for line in good if "wire" in line]
        if wire:
            summary["wire_mean"] = {name: round(sum(w[name] for w in wire) / len(wire), 1) for name in wire[0]}
        resumed = [line["session_reused"] for line in good if line["session_reused"] is not None]
        if resumed:
            summary["session_reused"] = sum(resumed)
            summary["session_new"] = len(resumed) - sum(resumed)
    print(json.dumps(summary), flush=True)
    return 0 if not summary["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
