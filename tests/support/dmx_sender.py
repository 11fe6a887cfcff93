"""An independent DMX sender for tests/dmx.rs: Python's `sacn` or `stupidArtnet`, driven
line by line on stdin, so candela's receivers are tested against code that is not ours.

    dmx_sender.py sacn BIND PORT UNIVERSE PRIORITY
    dmx_sender.py artnet BIND PORT UNIVERSE

Lines: `set CH VALUE [CH VALUE ...]` (1-based channels), `fade CH FROM TO SECONDS` (a desk's
fade at 44 steps a second), `priority P` (sACN), `stop` (sACN: Stream_Terminated, sent three times; Art-Net:
silence), `quit`. Each line is answered `ok` once done.
"""

import sys
import time

kind, bind, port, universe = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
levels = [0] * 512

if kind == "sacn":
    import sacn
    import sacn.sending.sender_socket_udp as udp

    # The library always sends to 5568; tests listen on a free port.
    udp.DEFAULT_PORT = port
    sender = sacn.sACNsender(
        bind_address=bind, bind_port=0, fps=44, universeDiscovery=False,
        source_name="test console " + bind,
    )
    sender.start()
    sender.activate_output(universe)
    sender[universe].destination = "127.0.0.1"
    sender[universe].priority = int(sys.argv[5])

    def send():
        sender[universe].dmx_data = tuple(levels)

    def stop():
        sender.deactivate_output(universe)

    def priority(p):
        sender[universe].priority = p

    def close():
        sender.stop()
else:
    from stupidArtnet import StupidArtnet

    sender = StupidArtnet("127.0.0.1", universe, 512, 44, True, False, (bind, 0), False, port)
    sender.start()

    def send():
        sender.set(bytearray(levels))

    def stop():
        sender.stop()

    def priority(p):
        raise SystemExit("Art-Net has no priority")

    def close():
        sender.stop()
        sender.close()

send()
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "set":
        pairs = list(map(int, words[1:]))
        for ch, value in zip(pairs[::2], pairs[1::2]):
            levels[ch - 1] = value
        send()
    elif words[0] == "fade":
        ch, start, end, seconds = int(words[1]), int(words[2]), int(words[3]), float(words[4])
        steps = max(1, int(seconds * 44))
        began = time.monotonic()
        for i in range(steps + 1):
            levels[ch - 1] = round(start + (end - start) * i / steps)
            send()
            time.sleep(max(0.0, began + (i + 1) / 44 - time.monotonic()))
    elif words[0] == "priority":
        priority(int(words[1]))
    elif words[0] == "stop":
        stop()
    elif words[0] == "quit":
        break
    print("ok", flush=True)
close()
