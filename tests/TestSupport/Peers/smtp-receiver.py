#!/usr/bin/env python3
"""A local SMTP server (aiosmtpd) that keeps every message, for the alert email tests.

    python3 tests/TestSupport/Peers/smtp-receiver.py PORT LOG [--fail-first N]   (PORT 0: its own, in LOG.port)

Listens on 127.0.0.1:PORT. Each accepted message is appended to LOG as one JSON line:
{"from": ..., "to": [...], "data": "<the message>"}. The first N messages are refused with a temporary failure
(451), so a sender's retries can be tested. Stops on SIGTERM.
"""
import argparse
import asyncio
import json
import os
import signal
import threading
import time

from aiosmtpd.smtp import SMTP


class Keeper:
    def __init__(self, out, fail_first):
        self.out = out
        self.refusals_left = fail_first

    async def handle_DATA(self, server, session, envelope):
        if self.refusals_left > 0:
            self.refusals_left -= 1
            return "451 4.3.0 try again later"
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        with open(self.out, "a", encoding="utf-8") as file:
            file.write(json.dumps(record) + "\n")
        return "250 2.0.0 kept"


def exit_with_parent():
    """Ends this peer when the test process that started it ends, whether or not it said stop."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


async def main():
    threading.Thread(target=exit_with_parent, daemon=True).start()
    # A test runner's threads block signals, and a child inherits the mask: unblock them, so terminate() stops it.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("out")
    parser.add_argument("--fail-first", type=int, default=0)
    arguments = parser.parse_args()
    keeper = Keeper(arguments.out, arguments.fail_first)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(keeper, enable_SMTPUTF8=True), "127.0.0.1", arguments.port)
    # The port it listens on (PORT 0: one of its own), written whole once it accepts connections.
    with open(arguments.out + ".port.tmp", "w") as out:
        out.write(str(server.sockets[0].getsockname()[1]))
    os.replace(arguments.out + ".port.tmp", arguments.out + ".port")
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()


asyncio.run(main())
