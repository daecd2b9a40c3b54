#!/usr/bin/env python3
"""Writes the seed corpora of the mini_redis fuzz harnesses (committed; run
again only to change them): tests/fuzz/corpus/fuzz_resp/ and
tests/fuzz/corpus/fuzz_dispatch/, one small file per seed. Byte 0 of each
seeds the harness' chunk splits. The seeds are ordinary traffic, plus
malformed framing; none holds an input that crashed an old version (the
mutation check in the harnesses' comments starts from these)."""
import os

here = os.path.dirname(os.path.abspath(__file__))

def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

resp = {
    "ping_bulk": cmd("PING"),
    "ping_inline": b"PING\r\n",
    "ping_lf": b"PING\n",
    "ping_msg": cmd("PING", "hello"),
    "echo": cmd("ECHO", "hi there"),
    "set_get": cmd("SET", "k", "v") + cmd("GET", "k"),
    "set_ex": cmd("SET", "k", "v", "EX", "100") + cmd("TTL", "k") + cmd("PTTL", "k"),
    "set_px_nx": cmd("SET", "k", "v", "PX", "1000", "NX"),
    "set_xx_keepttl": cmd("SET", "k", "v", "XX", "KEEPTTL"),
    "del_exists": cmd("SET", "a", "1") + cmd("DEL", "a", "b") + cmd("EXISTS", "a", "a"),
    "incr_decr": cmd("INCR", "n") + cmd("DECR", "n") + cmd("INCR", "n"),
    "expire": cmd("SET", "k", "v") + cmd("EXPIRE", "k", "50") + cmd("TTL", "k"),
    "expire_neg": cmd("SET", "k", "v") + cmd("EXPIRE", "k", "-1") + cmd("GET", "k"),
    "config": cmd("CONFIG", "GET", "save") + cmd("CONFIG", "GET", "*"),
    "command": cmd("COMMAND") + cmd("COMMAND", "DOCS"),
    "quit": cmd("PING") + cmd("QUIT") + cmd("PING"),
    "quit_inline": b"ping\r\nquit\r\nping\r\n",
    "unknown": cmd("nope", "a", "b"),
    "unknown_inline": b"nope a b\r\n",
    "inline_args": b"SET  k\tv \r\nGET k\r\n",
    "inline_blank": b"\r\n\r\n   \r\nPING\r\n",
    "pipeline": cmd("SET", "x", "1") + b"INCR x\r\n" + cmd("GET", "x") + b"PING\r\n",
    "empty_multibulk": b"*0\r\n*-1\r\n" + cmd("PING"),
    "bad_count": b"*abc\r\n",
    "bad_bulk_len": b"*1\r\n$x\r\n",
    "no_dollar": b"*1\r\n+PING\r\n",
    "no_crlf_after_bulk": b"*1\r\n$4\r\nPINGxx\r\n",
    "big_count": b"*99999999\r\n",
    "neg_bulk": b"*1\r\n$-1\r\n",
    "long_header": b"*" + b"1" * 40,
    "partial": cmd("SET", "k", "v")[:-3],
    "lower_case": cmd("get", "k") + cmd("SeT", "k", "v"),
    "big_int": cmd("SET", "n", "9223372036854775807") + cmd("INCR", "n"),
    "arity": cmd("GET") + cmd("SET", "k") + cmd("ECHO"),
}

# fuzz_dispatch programs: opcode (0 GET 1 SET 2 DEL 3 EXISTS 4 INCR 5 DECR
# 6 EXPIRE 7 TTL 8 PTTL 9 PING 10 ECHO 11 COMMAND 12 CONFIG 13 unknown),
# flags (bits 0-1 case, 2 inline, 3-5 argument count, 6 spoil the name),
# then per argument a selector: low 2 bits 0 key, 1 integer, 2 word, 3 raw
# (length in the high bits, the bytes follow).
def prog(*cmds):
    out = b""
    for op, fl, sels in cmds:
        out += bytes([op, fl]) + b"".join(s if isinstance(s, bytes) else bytes([s]) for s in sels)
    return out

def flags(nargs, inline=0, case=0):
    return case | (inline << 2) | (nargs << 3)

key = lambda i: i << 2              # k0..k3
num = lambda i: 1 | (i << 2)        # the integer table
word = lambda i: 2 | (i << 2)       # the word table
raw = lambda b: bytes([3 | (len(b) << 2)]) + b

dispatch = {
    "set_get": prog((1, flags(2), [key(0), raw(b"v")]), (0, flags(1), [key(0)])),
    "set_get_inline": prog((1, flags(2, 1), [key(1), raw(b"val")]), (0, flags(1, 1), [key(1)])),
    "incr": prog((4, flags(1), [key(0)]), (4, flags(1, 0, 1), [key(0)]), (5, flags(1), [key(0)])),
    "incr_edge": prog((1, flags(2), [key(2), num(10)]), (4, flags(1), [key(2)])),
    "decr_edge": prog((1, flags(2), [key(2), num(11)]), (5, flags(1), [key(2)])),
    "del_exists": prog((1, flags(2), [key(0), raw(b"a")]), (3, flags(3), [key(0), key(0), key(1)]),
                       (2, flags(2), [key(0), key(1)])),
    "expire": prog((1, flags(2), [key(0), raw(b"v")]), (6, flags(2), [key(0), num(5)]),
                   (7, flags(1), [key(0)]), (8, flags(1), [key(0)])),
    "expire_zero": prog((1, flags(2), [key(3), raw(b"v")]), (6, flags(2), [key(3), num(0)]),
                        (0, flags(1), [key(3)])),
    "set_ex": prog((1, flags(4), [key(0), raw(b"v"), word(0), num(5)]), (7, flags(1), [key(0)])),
    "set_px_nx": prog((1, flags(5), [key(0), raw(b"v"), word(1), num(5), word(2)])),
    "set_xx": prog((1, flags(3), [key(1), raw(b"v"), word(3)])),
    "set_keepttl": prog((1, flags(3), [key(1), raw(b"v"), word(4)])),
    "set_ex_big": prog((1, flags(4), [key(0), raw(b"v"), word(0), num(15)]), (7, flags(1), [key(0)])),
    "ping": prog((9, flags(0), []), (9, flags(1), [raw(b"hello")]), (9, flags(0, 1, 2), [])),
    "echo": prog((10, flags(1), [raw(b"hi there")]), (10, flags(1, 1), [raw(b"x")])),
    "command": prog((11, flags(0), [])),
    "config": prog((12, flags(2), [word(8), word(9)]), (12, flags(2), [word(8), word(10)])),
    "unknown": prog((13, flags(2), [key(0), raw(b"abc")])),
    "arity": prog((0, flags(0), []), (1, flags(1), [key(0)]), (6, flags(1), [key(0)])),
    "mixed_case": prog((0, flags(1, 0, 1), [key(0)]), (1, flags(2, 0, 2), [key(0), raw(b"v")])),
    "ttl_missing": prog((7, flags(1), [key(3)]), (8, flags(1), [key(3)])),
    "raw_keys": prog((1, flags(2), [raw(b"a b"), raw(b"xyz")]), (0, flags(1), [raw(b"a b")])),
    "ints": prog((1, flags(2), [key(0), num(6)]), (4, flags(1), [key(0)]),
                 (6, flags(2), [key(0), num(7)])),
}

for name, seeds in (("fuzz_resp", resp), ("fuzz_dispatch", dispatch)):
    d = os.path.join(here, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for i, (k, v) in enumerate(sorted(seeds.items())):
        with open(os.path.join(d, k), "wb") as f:
            f.write(bytes([(i * 37) & 0xff]) + v)
print("wrote %d + %d seeds" % (len(resp), len(dispatch)))
