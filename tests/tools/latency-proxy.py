#!/usr/bin/env python3
"""A TCP proxy that delays every byte by a fixed time in each direction, as toxiproxy's latency toxic does: a
database "D ms away" for the tests (a round trip costs 2 x DELAY_MS), with no CPU spent on the wait.

    latency-proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS

Listens on 127.0.0.1:LISTEN_PORT; prints "ready" once it does. Order is kept per direction: a chunk read at t is
written at t + DELAY_MS, after every chunk read before it. Stops when its standard input closes (its parent died).
"""
import asyncio, sys


async def pipe(reader, writer, delay):
    queue = asyncio.Queue()

    async def pump():
        while True:
            due, chunk = await queue.get()
            if chunk is None:
                break
            wait = due - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(pump())
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            await queue.put((asyncio.get_running_loop().time() + delay, chunk))
    except (ConnectionError, OSError):
        pass
    await queue.put((0, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def main():
    listen, host, port, delay = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) / 1000

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer, delay), pipe(server_reader, client_writer, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.read(1) or stdin_closed.done() or stdin_closed.set_result(None))
    async with server:
        await stdin_closed


asyncio.run(main())
