#!/usr/bin/env python3
"""Amalgamate weft's headers into one single header (default: dist/weft.h).

    python3 tools/amalgamate.py [-o OUT] [--list]

The headers are read from tools/headers.txt, in that (layering) order; a
listed header that does not exist yet is skipped. Each header is copied whole,
include guard and opening comment included; its `#include "x.h"` lines for
headers already inlined above are turned into comments. An include of a
header that is not listed, missing, or listed further down (a layering
violation) is an error. The banner lists the version (tools/version.txt),
the headers, and the options (knobs), found by reading the headers: a macro
with the header's prefix (CORO_, EXEC_, ...) that the headers test with
#ifdef / #ifndef / defined() and define, if at all, only as a default under
such a test. Internal hooks (a trailing underscore) and include guards are
left out. --list prints the present headers, one a line, and exits.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Headers that need what only a hosted exec.h backend has (threads, fds):
# alone they stop with an #error on the bare backend; in weft.h they are
# left out there, so one header serves a microcontroller too.
HOSTED_ONLY = {
    "blocking.h": ("EXEC_HAVE_THREADS_", "threads"),
    "fs.h": ("EXEC_HAVE_THREADS_", "threads"),
    "proc.h": ("EXEC_HAVE_FDS_", "file descriptors"),
    "io.h": ("EXEC_HAVE_FDS_", "file descriptors"),
}


def listed_headers(root):
    names = []
    with open(os.path.join(root, "tools", "headers.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def version(root):
    with open(os.path.join(root, "tools", "version.txt")) as f:
        return f.read().strip()


def opening_comment(text):
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    return m.group(1) if m else ""


def summary(comment):
    """The opening comment's first sentence (its first paragraph at most)."""
    words = []
    for line in comment.splitlines():
        line = line.strip().lstrip("*").strip()
        if not line:
            if words:
                break
            continue
        words += line.split()
        if line.endswith("."):
            break
    text = " ".join(words)
    return text.split(" - ", 1)[-1]


def wrap(text, width):
    lines, cur = [], ""
    for w in text.split():
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = (cur + " " + w) if cur else w
    return lines + ([cur] if cur else [])


DIRECTIVE = re.compile(r"^\s*#\s*(\w+)\s*(.*)$")
TESTED = re.compile(r"defined\s*\(?\s*([A-Za-z_]\w*)")


def logical_lines(text):
    """Source lines with backslash continuations joined."""
    out, cur = [], ""
    for line in text.splitlines():
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    if cur:
        out.append(cur)
    return out


def knobs(name, text, prefixes):
    """[(macro, signature, default)] for one header, in order of appearance."""
    tested, order = set(), []
    unconditional = set()
    defaults = {}
    stack = []  # per open conditional: the macros it tests
    guard = None
    prev_test = None  # the macro of an #ifndef on the line just before
    for line in logical_lines(text):
        m = DIRECTIVE.match(line)
        if not m:
            if line.strip():
                prev_test = None
            continue
        d, rest = m.group(1), m.group(2)
        rest_nc = re.sub(r"/\*.*?\*/|//.*$", "", rest).strip()
        if d in ("ifdef", "ifndef"):
            mac = rest_nc.split()[0] if rest_nc else ""
            if guard is None and d == "ifndef":
                guard = mac
            stack.append({mac})
            for x in [mac]:
                if x not in tested:
                    tested.add(x)
                    order.append(x)
            prev_test = mac if d == "ifndef" else None
            continue
        if d in ("if", "elif"):
            found = set(TESTED.findall(rest_nc))
            if d == "if":
                stack.append(found)
            elif stack:
                stack[-1] |= found
            for x in TESTED.findall(rest_nc):
                if x not in tested:
                    tested.add(x)
                    order.append(x)
            prev_test = None
            continue
        if d == "else":
            prev_test = None
            continue
        if d == "endif":
            if stack:
                stack.pop()
            prev_test = None
            continue
        if d == "define":
            dm = re.match(r"([A-Za-z_]\w*)(\([^)]*\))?\s*(.*)$", rest_nc)
            if dm:
                mac = dm.group(1)
                if not any(mac in s for s in stack):
                    unconditional.add(mac)
                elif mac == prev_test and mac not in defaults:
                    defaults[mac] = (dm.group(2) or "", dm.group(3).strip())
                elif mac not in defaults:
                    defaults[mac] = (dm.group(2) or "", None)
        prev_test = None
    out = []
    for mac in order:
        if mac == guard or mac.endswith("_") or mac in unconditional:
            continue
        if not any(mac.startswith(p) for p in prefixes):
            continue
        sig, val = defaults.get(mac, ("", ""))
        if mac not in defaults:
            default = "undefined (off)"
        elif val is None or len(val) > 40:
            default = "see %s" % name
        else:
            default = val if val else "defined, empty"
        out.append((mac, sig, default))
    return out


def main(argv):
    out_path = os.path.join(ROOT, "dist", "weft.h")
    list_only = False
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-o" and args:
            out_path = args.pop(0)
        elif a == "--list":
            list_only = True
        else:
            sys.stderr.write(__doc__)
            return 2
    names = listed_headers(ROOT)
    present = [n for n in names if os.path.isfile(os.path.join(ROOT, n))]
    if list_only:
        print("\n".join(present))
        return 0
    missing = [n for n in names if n not in present]
    if missing:
        sys.stderr.write("amalgamate: listed but absent, skipped: %s\n" % " ".join(missing))
    prefixes = sorted({os.path.splitext(n)[0].upper() + "_" for n in names})
    ver = version(ROOT)
    vparts = (re.findall(r"\d+", ver) + ["0", "0", "0"])[:3]

    bodies, tocs, opts, hoist = [], [], [], []
    seen = []
    inc = re.compile(r'^(\s*#\s*include\s*)"([^"]+)"(.*)$')
    for n in present:
        with open(os.path.join(ROOT, n)) as f:
            text = f.read()
        tocs.append((n, summary(opening_comment(text))))
        head = opening_comment(text)
        for mac, sig, default in knobs(n, text, prefixes):
            if not re.search(r"\b%s\b" % mac, head):
                default += " (not in the opening comment)"
            opts.append((mac, sig, default, n))
        for m in re.finditer(r"^#ifndef (_[A-Z0-9_]*SOURCE|_FILE_OFFSET_BITS)\n#define \1[^\n]*\n#endif\n",
                             text, re.M):
            if m.group(0) not in hoist:
                hoist.append(m.group(0))
        lines = []
        for i, line in enumerate(text.splitlines(), 1):
            m = inc.match(line)
            if m:
                dep = m.group(2)
                if dep in seen:
                    lines.append('/* #include "%s": inlined above */' % dep)
                    continue
                if dep in names and dep in present:
                    why = "comes later in tools/headers.txt (a layering violation)"
                elif dep in names:
                    why = "is listed but does not exist"
                else:
                    why = "is not listed in tools/headers.txt"
                sys.stderr.write('%s:%d: #include "%s": %s\n' % (n, i, dep, why))
                return 1
            lines.append(line)
        seen.append(n)
        rule = "/* " + ("---- %s " % n).ljust(72, "=") + " */"
        body = "\n".join(lines) + "\n"
        if n in HOSTED_ONLY:  # alone it says #error on the bare backend
            mac, what = HOSTED_ONLY[n]
            body = ("#ifdef %s /* %s needs %s: left out on the bare backend */\n"
                    % (mac, n, what)) + body + "#endif /* %s */\n" % mac
        bodies.append(rule + "\n" + body)

    w = max([len(m + s) for m, s, _, _ in opts] + [20]) + 2
    hw = max(len(n) for n in present) + 2
    banner = []
    banner.append("/* weft.h - weft %s: Rust's async/await in C, as one header." % ver)
    banner.append(" *")
    banner.append(" * GENERATED by tools/amalgamate.py (make dist) from the headers below, in")
    banner.append(" * their layering order; do not edit: edit them and run `make dist` again.")
    banner.append(" * Each header follows whole, with its include guard and the opening comment")
    banner.append(" * that teaches it; only the includes between them are gone. So this file")
    banner.append(" * may sit beside (or be mixed with) the separate headers of the same version.")
    banner.append(" *")
    banner.append(" *   #include \"weft.h\"      cc -std=c11 -D_GNU_SOURCE app.c -pthread")
    banner.append(" *")
    banner.append(" * Contents:")
    for n, line in tocs:
        for i, part in enumerate(wrap(line, 74 - hw)):
            banner.append(" *   %s%s" % ((n if i == 0 else "").ljust(hw), part))
    banner.append(" *")
    banner.append(" * Options: define before including (the header named explains each in its")
    banner.append(" * opening comment), plus the usual NDEBUG:")
    for mac, sig, default, n in opts:
        banner.append(" *   %s%s%s" % ((mac + sig).ljust(w), n.ljust(hw), "default: " + default))
    banner.append(" *")
    banner.append(" * Version macros: WEFT_VERSION \"%s\", WEFT_VERSION_MAJOR, _MINOR, _PATCH." % ver)
    banner.append(" */")
    out = "\n".join(banner) + "\n"
    out += "#ifndef WEFT_H\n#define WEFT_H\n\n"
    out += '#define WEFT_VERSION "%s"\n' % ver
    out += "#define WEFT_VERSION_MAJOR %s\n#define WEFT_VERSION_MINOR %s\n#define WEFT_VERSION_PATCH %s\n\n" % tuple(vparts)
    if hoist:
        out += "/* Feature-test macros a header below sets before its system includes:\n"
        out += " * here they come before the first system include of this file. */\n"
        out += "".join(hoist) + "\n"
    out += "\n".join(bodies)
    out += "\n#endif /* WEFT_H */\n"

    d = os.path.dirname(out_path)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(out)
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
