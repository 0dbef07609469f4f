#!/usr/bin/env python3
"""Hostile clients against a running attendance-compliance HTTP listener (docs/OPERATIONS.md,
"HTTP listener limits"); prints one line per case with its outcome.

Usage: scripts/http-hostile.py PORT [PID [CASE]]
  PORT  the listener's port on 127.0.0.1; PID  the processor's pid (to count its open fds)
  CASE  all (default), idle, partial, keepalive, slowloris, heads, pipeline, noread, flood
Takes about 3 minutes for `all` (it waits for the 60 s idle and 5 s header timeouts).
"""
import socket, sys, time, os

HOST, PORT = "127.0.0.1", int(sys.argv[1])
PID = int(sys.argv[2]) if len(sys.argv) > 2 else None

def conn(timeout=10):
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    return s

def healthz(timeout=5):
    t = time.monotonic()
    try:
        s = conn(timeout)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        s.close()
        return time.monotonic() - t, data.split(b"\r\n", 1)[0].decode(errors="replace")
    except Exception as e:
        return time.monotonic() - t, f"error {type(e).__name__}: {e}"

def probes(n=10):
    res = [healthz() for _ in range(n)]
    worst = max(r[0] for r in res)
    statuses = sorted(set(r[1] for r in res))
    return f"{n} probes: worst {worst*1000:.0f} ms, {statuses}"

def fds():
    if PID is None:
        return "?"
    try:
        return str(len(os.listdir(f"/proc/{PID}/fd")))
    except Exception:
        return "?"

def closed_after(s, limit=90):
    """Seconds until the server closes s (EOF/reset), or None after limit."""
    t = time.monotonic()
    s.settimeout(limit)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return time.monotonic() - t
    except socket.timeout:
        return None
    except OSError:
        return time.monotonic() - t

def first_line(s, timeout=10):
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except OSError as e:
        return f"error {e}"
    return data.split(b"\r\n", 1)[0].decode(errors="replace") or "closed without answer"

def report(name, outcome):
    print(f"{name}: {outcome}", flush=True)

case = sys.argv[3] if len(sys.argv) > 3 else "all"

if case in ("all", "idle"):
    held = []
    for i in range(1000):
        try:
            held.append(conn())
        except OSError as e:
            report("idle", f"connect {i} failed: {e}")
            break
    time.sleep(0.5)
    report("1000 silent idle sockets held", probes() + f"; server fds {fds()}")
    first = closed_after(held[0], 90)
    report("  oldest silent socket closed after", f"{first:.2f} s" if first is not None else "not within 90 s")
    for s in held: s.close()

if case in ("all", "partial"):
    held = []
    for i in range(500):
        s = conn(); s.sendall(b"GET /metrics HTTP/1.1\r\nHo"); held.append(s)
    time.sleep(0.5)
    report("500 half-sent heads held", probes() + f"; server fds {fds()}")
    for s in held: s.close()

if case in ("all", "keepalive"):
    held = []
    for i in range(300):
        s = conn(); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(4096); held.append(s)
    report("300 keep-alive sockets idle after one request", probes())
    for s in held: s.close()
    s = conn(); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(4096)
    t = closed_after(s, 90)
    report("single idle keep-alive connection closed after", f"{t:.2f} s" if t is not None else "not within 90 s")

if case in ("all", "slowloris"):
    s = conn()
    s.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
    t = time.monotonic(); n = 0
    try:
        while time.monotonic() - t < 60:
            s.sendall(b"a"); n += 1
            time.sleep(0.1)
        report("slowloris (1 header byte / 100 ms)", "still open after 60 s")
    except OSError as e:
        report("slowloris (1 header byte / 100 ms)", f"cut off after {time.monotonic()-t:.2f} s ({n} bytes, {type(e).__name__})")
    s = conn(); t = closed_after(s, 60)
    report("silent new connection closed after", f"{t:.2f} s" if t else "not within 60 s")

if case in ("all", "heads"):
    s = conn()
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        report("1 MiB header", first_line(s))
    except OSError as e:
        report("1 MiB header", f"{first_line(s)} (send stopped: {type(e).__name__})")
    s = conn()
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(10000)) + b"\r\n")
        report("10000 header lines", first_line(s))
    except OSError as e:
        report("10000 header lines", f"{first_line(s)} (send stopped: {type(e).__name__})")
    s = conn(); s.sendall(bytes(range(256)) * 4)
    report("1 KiB of binary garbage", first_line(s))
    s = conn(); s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    report("HTTP/2 prior-knowledge preface", first_line(s))
    s = conn(); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    report("Content-Length + Transfer-Encoding (smuggling shape)", first_line(s))
    s = conn(); s.sendall(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    report("100 KB request target", first_line(s))
    s = conn(); s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nabc")
    line = first_line(s); t = closed_after(s, 60)
    report("POST /metrics announcing a 1 GB body, sending 3 bytes", f"{line}; closed after {t:.2f} s" if t is not None else f"{line}; open after 60 s")

if case in ("all", "pipeline"):
    s = conn(); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2000)
    s.settimeout(10); data = b""; t = time.monotonic()
    try:
        while data.count(b"HTTP/1.1 200") < 2000 and time.monotonic() - t < 10:
            d = s.recv(65536)
            if not d: break
            data += d
    except OSError:
        pass
    report("2000 pipelined requests in one write", f"{data.count(b'HTTP/1.1 200')} answered 200")
    s.close()

if case in ("all", "noread"):
    held = []
    for i in range(300):
        s = conn(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50); held.append(s)
    time.sleep(0.5)
    report("300 sockets sending 50 pipelined /metrics each and never reading", probes() + f"; server fds {fds()}")
    for s in held: s.close()

if case in ("all", "flood"):
    t = time.monotonic(); n = 0; fails = 0
    while time.monotonic() - t < 5:
        try:
            s = conn(2); s.close(); n += 1
        except OSError:
            fails += 1
    report("connect/close flood for 5 s", f"{n} connections, {fails} failures; then " + probes())
