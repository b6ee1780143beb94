#!/usr/bin/python3
"""free_port.py [COUNT] — print COUNT (default 1) free TCP ports on 127.0.0.1, one per line.

The ports are found by binding port 0 and closing the socket, so another process may take one
before the caller binds it; launchers retry with a new port when the bind fails.
"""
import socket
import sys


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        for s in socks:
            print(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
