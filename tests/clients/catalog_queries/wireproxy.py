"""Pass-through TCP proxy in front of PostgreSQL that writes a compact trace of what the
client sends: the StartupMessage parameters and one line per frontend message (extended
protocol names, parameter type OIDs, formats). Used by record.sh; not part of any test.

Usage: wireproxy.py LISTEN_PORT UPSTREAM_PORT TRACE_FILE   (runs until killed)
"""
import socket
import struct
import sys
import threading

listen_port, upstream_port, trace_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
trace = open(trace_path, "w", buffering=1)
lock = threading.Lock()
conn_counter = [0]


def log(cid, text):
    with lock:
        trace.write(f"[conn {cid}] {text}\n")


def cstr(buf, pos):
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("utf-8", "replace"), end + 1


def short(sql, n=100):
    sql = " ".join(sql.split())
    return sql if len(sql) <= n else sql[:n] + "..."


def describe(cid, typ, body):
    t = chr(typ)
    try:
        if t == "Q":
            q, _ = cstr(body, 0)
            return f"Query {short(q)!r}"
        if t == "P":
            name, p = cstr(body, 0)
            q, p = cstr(body, p)
            (n,) = struct.unpack_from("!h", body, p)
            oids = list(struct.unpack_from(f"!{n}I", body, p + 2))
            return f"Parse stmt={name!r} param_types={oids} {short(q)!r}"
        if t == "B":
            portal, p = cstr(body, 0)
            stmt, p = cstr(body, p)
            (nf,) = struct.unpack_from("!h", body, p)
            pf = list(struct.unpack_from(f"!{nf}h", body, p + 2))
            p += 2 + 2 * nf
            (np_,) = struct.unpack_from("!h", body, p)
            p += 2
            for _ in range(np_):
                (ln,) = struct.unpack_from("!i", body, p)
                p += 4 + max(ln, 0)
            (nr,) = struct.unpack_from("!h", body, p)
            rf = list(struct.unpack_from(f"!{nr}h", body, p + 2))
            return f"Bind portal={portal!r} stmt={stmt!r} nparams={np_} param_formats={pf} result_formats={rf}"
        if t == "D":
            kind = chr(body[0])
            name, _ = cstr(body, 1)
            return f"Describe {'statement' if kind == 'S' else 'portal'} {name!r}"
        if t == "E":
            portal, p = cstr(body, 0)
            (mx,) = struct.unpack_from("!i", body, p)
            return f"Execute portal={portal!r} max_rows={mx}"
        if t == "C":
            kind = chr(body[0])
            name, _ = cstr(body, 1)
            return f"Close {'statement' if kind == 'S' else 'portal'} {name!r}"
        names = {"S": "Sync", "H": "Flush", "X": "Terminate", "p": "Password/SASL", "d": "CopyData",
                 "c": "CopyDone", "f": "CopyFail", "F": "FunctionCall"}
        return names.get(t, f"message {t!r}") + f" ({len(body)} bytes)"
    except Exception as e:  # keep proxying whatever happens
        return f"message {t!r} (undecodable: {e})"


def client_to_server(cid, src, dst):
    buf = b""
    started = False
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            buf += data
            while True:
                if not started:
                    if len(buf) < 4:
                        break
                    (ln,) = struct.unpack_from("!i", buf, 0)
                    if len(buf) < ln:
                        break
                    body, buf = buf[4:ln], buf[ln:]
                    (code,) = struct.unpack_from("!i", body, 0)
                    if code == 80877103:
                        log(cid, "SSLRequest")
                    elif code == 80877104:
                        log(cid, "GSSENCRequest")
                    elif code == 80877102:
                        log(cid, "CancelRequest")
                    else:
                        parts = body[4:].split(b"\0")
                        params = {}
                        for i in range(0, len(parts) - 1, 2):
                            if parts[i]:
                                params[parts[i].decode()] = parts[i + 1].decode()
                        log(cid, f"StartupMessage protocol={code >> 16}.{code & 0xffff} params={params}")
                        started = True
                else:
                    if len(buf) < 5:
                        break
                    (ln,) = struct.unpack_from("!i", buf, 1)
                    if len(buf) < 1 + ln:
                        break
                    typ, body, buf = buf[0], buf[5:1 + ln], buf[1 + ln:]
                    log(cid, describe(cid, typ, body))
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def server_to_client(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(16)
while True:
    c, _ = srv.accept()
    conn_counter[0] += 1
    cid = conn_counter[0]
    u = socket.create_connection(("127.0.0.1", upstream_port))
    threading.Thread(target=client_to_server, args=(cid, c, u), daemon=True).start()
    threading.Thread(target=server_to_client, args=(u, c), daemon=True).start()
