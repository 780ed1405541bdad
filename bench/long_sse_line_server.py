"""A hostile SSE server for the memory bound of `ix bench serve` (issue 17 item 7).

Prints its port, then answers every request with one `data:` line of MIB mebibytes (default 200)
that is otherwise a valid completions chunk, then `[DONE]`. See BENCHMARKS.md, "hostile server".
"""

import socket
import sys
import threading

MIB = int(sys.argv[1]) if len(sys.argv) > 1 else 200
BLOCK = b"x" * (1 << 20)


def serve(conn):
    try:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        conn.sendall(b'data: {"choices":[{"text":"')
        for _ in range(MIB):
            conn.sendall(BLOCK)
        conn.sendall(b'"}]}\n\ndata: [DONE]\n\n')
    except OSError:
        pass
    conn.close()


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
