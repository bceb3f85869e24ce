#!/usr/bin/env python3
# Copied verbatim from ../shared/tools/3g-link.py (a clone has no ../shared): change it there and copy it again.
# Userspace stand-in for `tc qdisc add ... netem delay D rate R loss L` on both ends of a link, for kernels
# built without sch_netem. Opens two TUN devices, ROOT_DEV in this process's network namespace and PHONE_DEV
# in the named one (/var/run/netns/NS), and moves IPv4 packets between them, each direction with netem's
# arithmetic: a packet entering the queue at t leaves at max(t + delay, previous departure) + len*8/rate,
# a random LOSS% of packets are dropped on entry, at most LIMIT packets are queued (netem's default 1000).
# The devices vanish when this process exits. Stops by itself after --max-seconds, or when its parent dies.
import argparse, collections, ctypes, fcntl, os, random, select, signal, struct, sys, time

TUNSETIFF, IFF_TUN, IFF_NO_PI, CLONE_NEWNET = 0x400454CA, 0x0001, 0x1000, 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Direction:
    def __init__(self, name, src, dst):
        self.name, self.src, self.dst = name, src, dst
        self.q = collections.deque()  # (departure time, packet); departures are non-decreasing
        self.last = 0.0
        self.n_in = self.n_out = self.lost = self.overflow = self.werr = self.bytes_out = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", required=True)
    ap.add_argument("--root-dev", required=True)
    ap.add_argument("--phone-dev", required=True)
    ap.add_argument("--delay-ms", type=float, default=150)
    ap.add_argument("--rate-kbit", type=float, default=1600)
    ap.add_argument("--loss-pct", type=float, default=1.0)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--overhead", type=int, default=14, help="bytes added per packet for the rate (an Ethernet header, as on a veth)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--ready", required=True, help="file written once both devices exist")
    a = ap.parse_args()

    root_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd_root = open_tun(a.root_dev)
    phone_ns = os.open("/var/run/netns/" + a.ns, os.O_RDONLY)
    setns(phone_ns)
    try:
        fd_phone = open_tun(a.phone_dev)
    finally:
        setns(root_ns)
    os.close(phone_ns)

    rng = random.Random(a.seed)
    delay, bits_per_s, loss = a.delay_ms / 1000.0, a.rate_kbit * 1000.0, a.loss_pct / 100.0
    up = Direction("up", fd_phone, fd_root)      # phone -> root namespace (the phone's egress)
    down = Direction("down", fd_root, fd_phone)  # root namespace -> phone
    by_src = {fd_phone: up, fd_root: down}
    stop = []
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda *_: stop.append(1))
    ppid, end = os.getppid(), time.monotonic() + a.max_seconds
    with open(a.ready, "w") as f:
        f.write(str(os.getpid()))

    while not stop and os.getppid() == ppid:
        now = time.monotonic()
        if now > end:
            print("link: --max-seconds reached", file=sys.stderr)
            break
        for d in (up, down):
            while d.q and d.q[0][0] <= now:
                pkt = d.q.popleft()[1]
                try:
                    os.write(d.dst, pkt)
                    d.n_out += 1
                    d.bytes_out += len(pkt)
                except OSError:
                    d.werr += 1
        nxt = min([d.q[0][0] for d in (up, down) if d.q], default=now + 0.5)
        try:
            ready, _, _ = select.select([fd_phone, fd_root], [], [], max(0.0, min(nxt - now, 0.5)))
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in ready:
            d = by_src[fd]
            for _ in range(256):
                try:
                    pkt = os.read(fd, 65536)
                except (BlockingIOError, InterruptedError):
                    break
                if not pkt or pkt[0] >> 4 != 4:  # IPv4 only: the emulated link carries nothing else
                    continue
                d.n_in += 1
                if len(d.q) >= a.limit:
                    d.overflow += 1
                    continue
                if loss and rng.random() < loss:
                    d.lost += 1
                    continue
                depart = max(now + delay, d.last) + (len(pkt) + a.overhead) * 8.0 / bits_per_s
                d.last = depart
                d.q.append((depart, pkt))
    for d in (up, down):
        print(f"link {d.name}: in {d.n_in} out {d.n_out} bytes {d.bytes_out} lost {d.lost} overflow {d.overflow} write-errors {d.werr}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
