#!/usr/bin/python3
"""Records what goes over loopback to and from some ports, for the fuzz seed corpora.

  sniff.py --out DIR [--udp-port P ...] [--tcp-port P ...] [--seconds N]

Root only (an AF_PACKET socket on lo). Every UDP payload to or from a --udp-port is written to
DIR/udp/<n>-<kind> (kind by the first byte, RFC 7983: stun, dtls, rtp, rtcp); the bytes each TCP
connection sends to a --tcp-port are written, in sequence order, to DIR/tcp/<n> (HTTP requests
as a server receives them). Stops after N seconds or on SIGINT/SIGTERM.
"""

import argparse
import os
import signal
import socket
import struct
import time

ETH_P_ALL = 0x0003


def kind(payload):
    if not payload:
        return "empty"
    b = payload[0]
    if b <= 3:
        return "stun"
    if 20 <= b <= 63:
        return "dtls"
    if 128 <= b <= 191 and len(payload) > 1:
        return "rtcp" if 192 <= payload[1] <= 223 else "rtp"
    return "other"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--udp-port", type=int, action="append", default=[])
    ap.add_argument("--tcp-port", type=int, action="append", default=[])
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "udp"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "tcp"), exist_ok=True)

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind(("lo", 0))
    s.settimeout(0.2)
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))

    udp_count = 0
    streams = {}  # (src, sport, dst, dport) -> {seq: bytes}
    deadline = time.time() + args.seconds
    while not stop[0] and time.time() < deadline:
        try:
            frame, addr = s.recvfrom(70000)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue  # on lo every packet shows twice: keep the incoming copy
        eth_type = struct.unpack("!H", frame[12:14])[0]
        if eth_type == 0x0800:
            ihl = (frame[14] & 0x0F) * 4
            proto = frame[23]
            src, dst = socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34])
            l4 = frame[14 + ihl:14 + struct.unpack("!H", frame[16:18])[0]]
        elif eth_type == 0x86DD:
            proto = frame[20]
            src, dst = socket.inet_ntop(socket.AF_INET6, frame[22:38]), socket.inet_ntop(socket.AF_INET6, frame[38:54])
            l4 = frame[54:54 + struct.unpack("!H", frame[18:20])[0]]
        else:
            continue
        if proto == 17 and len(l4) >= 8:
            sport, dport = struct.unpack("!HH", l4[:4])
            if sport in args.udp_port or dport in args.udp_port:
                payload = l4[8:]
                udp_count += 1
                with open(os.path.join(args.out, "udp", "%06d-%s" % (udp_count, kind(payload))), "wb") as f:
                    f.write(payload)
        elif proto == 6 and len(l4) >= 20:
            sport, dport, seq = struct.unpack("!HHI", l4[:8])
            if dport not in args.tcp_port:
                continue
            payload = l4[(l4[12] >> 4) * 4:]
            if payload:
                streams.setdefault((src, sport, dst, dport), {})[seq] = payload

    for n, (key, segments) in enumerate(sorted(streams.items()), 1):
        with open(os.path.join(args.out, "tcp", "%04d" % n), "wb") as f:
            for seq in sorted(segments):
                f.write(segments[seq])
    print("sniff: %d datagrams, %d connections" % (udp_count, len(streams)))


if __name__ == "__main__":
    main()
