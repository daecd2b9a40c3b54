/* io.h - async fds, TCP, UDP and Unix sockets, and signals on exec.h's reactor.
 *
 * An io_fd_t is an fd registered with the executor's reactor (epoll, or
 * poll(2)) once, edge-triggered, for its whole life. Futures on it (read,
 * write, accept, ...) try the system call only when the reactor has seen
 * the fd ready; a call that would block clears the ready bit and parks
 * the task, and nothing runs until the next edge wakes it. No future
 * allocates; errors are negative errno values. Works for sockets, pipes,
 * eventfds, ttys: any fd the reactor can wait on (not regular files or
 * directories: io_fd_open says -EPERM).
 *
 *     io_addr_parse(&addr, "127.0.0.1", 6379);
 *     io_listen(&srv->lis, exec_of(cx), &addr, 128, 0);     // a handle
 *     for (;;) {
 *         io_accept_init(&f->acc, &srv->lis);                // a future
 *         AWAIT_TRY(cx, &f->acc);                            // f->acc.fd
 *         io_fd_open(&f->conn, exec_of(cx), f->acc.fd);
 *         io_read_init(&f->rd, &f->conn, f->buf, sizeof f->buf);
 *         AWAIT(cx, &f->rd);                  // f->rd.n bytes, 0 at the end
 *         io_write_all_init(&f->wr, &f->conn, f->buf, (size_t)f->rd.n);
 *         AWAIT(cx, &f->wr);                  // -EPIPE, -ECONNRESET: values
 *         io_fd_close(&f->conn);
 *     }
 *
 * Handles (_open / _close; caller-owned memory, must not move while open)
 *   io_fd_t      io_fd_open(&f, ex, fd): adopt fd (made O_NONBLOCK) and
 *                register it; io_fd_close(&f) deregisters and closes it;
 *                io_fd_detach(&f) deregisters and hands the fd back.
 *                io_listen(&f, ex, &addr, backlog, flags) opens a listener
 *                (TCP: SO_REUSEADDR always; IO_REUSEPORT in flags for
 *                SO_REUSEPORT; IPv6 listeners are IPV6_V6ONLY; a Unix
 *                address: see "Datagrams and Unix sockets").
 *                io_dgram_bind(&f, ex, &addr, flags) a bound datagram
 *                socket (UDP, or Unix datagram; IPv6 ones are IPV6_V6ONLY
 *                too: bind "::" and "0.0.0.0" apart for both families,
 *                where tokio would take IPv4 on "::"); io_dgram_open(&f, ex,
 *                family) an unbound one; io_dgram_connect(&f, &addr) sets
 *                its peer (0 or -errno at once: no handshake);
 *                io_socketpair(&a, &b, ex, SOCK_STREAM or SOCK_DGRAM).
 *   io_signal_t  io_signal_open(&s, ex, set): block the signals of set (0:
 *                SIGINT and SIGTERM) and receive them through a signalfd
 *                (Linux; elsewhere a handler and a self-pipe, see "Signals
 *                without signalfd");
 *                io_signal_close(&s) discards any still pending, closes it
 *                and unblocks the signals open blocked (those of set that
 *                were not blocked before). While open, a child process
 *                forked from the loop thread inherits the blocked mask and
 *                would ignore SIGTERM: start children with exec.h's
 *                exec_spawnattr_init (posix_spawn) or call
 *                exec_child_sigreset() in the child after fork().
 *   io_addr_t    a socket address: io_addr_parse(&a, "::1", port) takes a
 *                numeric IPv4 or IPv6 host (0: 127.0.0.1) and never blocks
 *                on DNS; io_addr_unix(&a, "/run/app.sock") a Unix path,
 *                or "@name" an abstract name (Linux); io_addr_port(&a);
 *                io_local_addr(&f, &a); io_peer_addr(&f, &a).
 *   Also io_shutdown(&f, SHUT_WR) (one direction), io_tcp_nodelay(&f, on),
 *   and io_try_read / io_try_write: one non-blocking attempt, no task
 *   involved: bytes, 0 (end of stream, reads), or -EAGAIN when the reactor
 *   has not seen the fd ready (no system call is made then) or the call
 *   would block (the ready bit is cleared: await io_readable next).
 *
 * Futures (_init stores the arguments; AWAIT them; result in the frame)
 *   io_readable_t   io_readable_init(&r, &f)  ready to read (or at its end,
 *   io_writable_t   io_writable_init(&w, &f)  or failed): consumes nothing
 *   io_read_t       io_read_init(&r, &f, buf, len)       r.n: 1..len, 0: end
 *   io_write_t      io_write_init(&w, &f, buf, len)      w.n: 1..len
 *   io_read_exact_t io_read_exact_init(&r, &f, buf, len) all len, or IO_EOF
 *   io_write_all_t  io_write_all_init(&w, &f, buf, len)  all len
 *   io_accept_t     io_accept_init(&a, &listener)  a.fd (non-blocking,
 *                   close-on-exec; io_fd_open it), a.peer: its address
 *   io_connect_t    io_connect_init(&c, &f, &addr)  f is opened on success
 *                   (init marks f closed, so closing it after a failure
 *                   or a drop is always safe)
 *   io_signal_recv_t io_signal_recv_init(&r, &s)   r.signo
 *   io_send_to_t    io_send_to_init(&s, &f, buf, len, &addr)  one datagram
 *                   (addr copied): s.n == len
 *   io_recv_from_t  io_recv_from_init(&r, &f, buf, len)  one datagram: r.n
 *                   bytes (0: an empty one), r.peer its sender,
 *                   r.truncated 1 if it was longer than len (the rest is
 *                   gone, as with recvfrom and tokio)
 *   io_send_t       io_send_init(&s, &f, buf, len)   send_to / recv_from
 *   io_recv_t       io_recv_init(&r, &f, buf, len)   to and from the
 *                   connected peer (on a stream: a write / read)
 *   r.n (read_exact, write_all) is also the progress made when they fail.
 *   Buffered reading and framing (io_reader_t: read_line, read_until,
 *   length-prefixed frames, copy): see "buffered reading and framing"
 *   below.
 *   Names (io_resolve_t: a host name's addresses, on a blocking.h pool;
 *   io_connect_name_t: connect by name, RFC 8305 happy eyeballs): see
 *   "names: resolve, connect by name" below.
 *   While one waits, exec_dump's async backtrace says what for: "read fd 7",
 *   "write fd 7 (100 bytes)", "read_exact fd 7 (3/8 bytes)", "readable fd
 *   7", "accept fd 5", "connect fd 9 to 127.0.0.1:6379", "connect fd 9 to
 *   /run/app.sock", "recv_from fd 7", "send_to fd 7 (5 bytes to
 *   [::1]:53)", "signal wait (SIGINT, SIGTERM)".
 *
 * The contract
 *   - One registration per fd: the reactor learns of it at open and
 *     forgets it at close (epoll_ctl; the poll backend links it into its
 *     fd list), never in between (nothing is re-armed).
 *   - No system call while the fd is not ready: a future that found it not
 *     ready, or got EAGAIN, waits for the reactor's next edge. A short read
 *     or write on a stream (TCP, pipe) proves it drained or full too, and
 *     clears the ready bit the same way, unless a hangup was seen.
 *   - One reader and one writer at a time per io_fd_t (readable / read /
 *     read_exact / accept / recv / recv_from / signal recv read; writable
 *     / write / write_all / send / send_to write): a second one waiting is
 *     misuse (FUTURE_MISUSE, -EBUSY).
 *   - Errors: -ECONNRESET, -EPIPE (no SIGPIPE, ever: sockets use
 *     MSG_NOSIGNAL, or SO_NOSIGPIPE set at open where that is what the
 *     system has; other fds, and sockets where there is neither, block
 *     SIGPIPE around the write and consume the one it raised),
 *     -ECONNREFUSED (also a connected UDP socket whose peer's port is
 *     closed: the ICMP answer, at its next send or recv), -EMSGSIZE (a
 *     datagram too big to send), -EDESTADDRREQ (io_send on an unconnected
 *     datagram socket), -ETIMEDOUT (io_connect under timer.h's timeout),
 *     IO_EOF (-ENODATA; -EPIPE on FreeBSD and OpenBSD, which have no
 *     ENODATA: read_exact hit the end of the stream),
 *     -EBADF (the io_fd_t was closed while the future waited, or never
 *     opened), -EINVAL (polled on another executor than f's: misuse), any
 *     other -errno of the system call. io_read's 0 is the end.
 *   - Drop is cancellation: a dropped future forgets its waker at once, so
 *     nothing points into it; what it did before is as the table says.
 *   - Accept under fd exhaustion (EMFILE / ENFILE) never spins: a listener
 *     keeps a spare fd (libuv's trick); on EMFILE it closes the spare,
 *     accepts and closes every pending connection (they see a reset or
 *     end), reopens the spare and waits for the next connection, which
 *     gets through once fds are free again. Without a spare (it could not
 *     be reopened) accept waits IO_ACCEPT_BACKOFF_MS on a timer and tries
 *     again. Transient errors (ECONNABORTED, EINTR, EPROTO) are retried.
 *   - io_fd_t, io_signal_t must outlive every future on them; close them
 *     only from the executor's thread. Signals: open io_signal_t before
 *     starting threads, so that every thread inherits the blocked mask
 *     (signalfd; without it nothing is blocked: see below).
 *
 * Cancel safety (what dropping a future mid-flight loses)
 *   readable, writable   safe: nothing consumed
 *   read, write          safe: bytes move only in the poll that returns
 *                        ready, so a dropped one moved nothing
 *   read_exact           NOT safe: r.n bytes already read are in buf[0..n)
 *   write_all            NOT safe: w.n bytes already went out, the rest not
 *   accept               safe: a connection is taken only by the poll that
 *                        returns it (the EMFILE drain drops some by design)
 *   connect              safe: the half-open socket is closed, f stays closed
 *   send_to, send        safe: a datagram goes whole, in the poll that
 *                        returns ready, or not at all (tokio: same)
 *   recv_from, recv      safe: a datagram is taken only by the poll that
 *                        returns it (tokio: same)
 *   signal recv          safe: a signal is read only by the poll returning it
 *
 * Backends and systems
 *   io.h needs a backend with fds: EXEC_BACKEND_EPOLL (Linux's default) or
 *   EXEC_BACKEND_POLL (any POSIX system: macOS and the BSDs by default,
 *   Linux with -DEXEC_BACKEND_POLL). Under EXEC_BACKEND_BARE it does not
 *   compile. What POSIX does not have is chosen at compile time, each
 *   with a POSIX fallback:
 *     socket(SOCK_NONBLOCK | SOCK_CLOEXEC)  else socket, then fcntl
 *     accept4 (Linux, the BSDs)             else accept, then fcntl (macOS)
 *     send(MSG_NOSIGNAL)                    else SO_NOSIGPIPE, set on each
 *                                           socket at open (macOS), else
 *                                           write with SIGPIPE blocked
 *     sigtimedwait (Linux, Free/NetBSD)     else sigpending + sigwait: to
 *                                           consume the SIGPIPE a write raised
 *     signalfd (Linux)                      else a handler and a self-pipe
 *   A descriptor made close-on-exec by fcntl, a moment after socket() or
 *   accept() made it, leaks into a child that another thread forks and
 *   execs in that moment: the race SOCK_CLOEXEC exists to close.
 *   IO_PORTABLE (define it in every file, before including) takes every
 *   fallback even where the system has better: that is how Linux tests
 *   them (tests/run.sh runs the io tests once more with it).
 *
 * Datagrams and Unix sockets
 *   One io_fd_t for every kind of socket: a datagram socket is read by
 *   recv / recv_from and written by send / send_to (io_read / io_write
 *   work on a connected one, without the truncation flag). A Unix address
 *   (io_addr_unix) works wherever an IP one does: io_listen, io_connect,
 *   io_accept (a.peer: usually unnamed), io_dgram_bind, send_to.
 *   - Names: a path must fit sun_path with its NUL (107 bytes on Linux,
 *     103 on macOS and the BSDs): longer is -ENAMETOOLONG, never cut.
 *     "@name" is Linux's abstract namespace (IO_PORTABLE keeps it: it is
 *     the kernel's, not a libc call): no file, gone with its last socket.
 *     Elsewhere "@name" is -EINVAL; write "./@name" for such a path.
 *   - Socket files: bind makes one, close leaves it (as tokio and libuv).
 *     The next bind there fails with -EADDRINUSE, even when nothing
 *     listens any more (a connect gets -ECONNREFUSED), unless flags has
 *     IO_UNLINK: a socket file at the path is removed first (a live one
 *     too: it cannot tell), any other file is left (-EADDRINUSE). A bind
 *     that fails later (listen, the registration) removes the file it
 *     made. IO_REUSEPORT with a Unix address: -EINVAL.
 *   - A Unix stream connect to a listener whose backlog is full: -EAGAIN
 *     at once on Linux (as tokio; retry later), not a wait.
 *   - The sender of a datagram from an unbound Unix socket is unnamed:
 *     r.peer.len is 0 (or the family's size), and it cannot be answered.
 *
 * Signals without signalfd (every system but Linux; Linux with IO_PORTABLE)
 *   io_signal_open installs a handler (sigaction, SA_RESTART) for each
 *   signal of set, and receives through a self-pipe whose read end is
 *   registered with the reactor: the handler writes the signal's number
 *   to the pipe of every open io_signal_t watching it (a non-blocking
 *   write; errno saved and restored). A handler is given nothing but the
 *   number, so it finds the pipes through the one global io.h keeps:
 *   io_signal_global_, the list of open handles (a weak symbol: one per
 *   process, however many files include io.h). The handler walks it with
 *   atomic loads; open and close change it under a spin lock, and close
 *   waits for handlers still walking it on other threads before it closes
 *   the pipe. How this differs from signalfd:
 *   - Nothing is blocked (the mask is left as it is): a signal is caught
 *     by whichever thread does not block it (exec.h's pool threads block
 *     every signal), and never if every thread blocks it. Children
 *     inherit no blocked mask.
 *   - The handler is the process's: while a handle watches a signal, the
 *     handler another part of the program installed for it does not run;
 *     close restores it (the action found by the first handle; each handle
 *     keeps a copy for each signal of its set, IO_SIGNAL_MAX at most:
 *     more is -ENOSPC and a report). Every open handle watching a signal
 *     gets each one, on whatever executor (with signalfd, whichever reads
 *     first takes it).
 *   - No coalescing: each delivery is one recv (signalfd keeps one
 *     pending instance per signal); a delivery finding the pipe full (the
 *     loop thousands behind) is lost.
 *   - SIGKILL and SIGSTOP in set: -EINVAL (signalfd ignores them).
 *   - A child forked without exec keeps the handler and the pipe: set
 *     the signals back to SIG_DFL in it (exec and posix_spawn with
 *     exec_spawnattr_init do).
 *   - A handle left open stays in the handler's list: close it before
 *     its memory goes (as any handle: the reactor points into it too).
 *
 * The knobs (define before including)
 *   IO_ACCEPT_BACKOFF_MS  100: accept's retry delay under EMFILE without a
 *                         spare fd
 *   IO_SPARE_PATH         "/dev/null": what the spare fd opens
 *   IO_PORTABLE           take every POSIX fallback (see above)
 *   IO_SIGNAL_MAX         8: signals per io_signal_t set, without signalfd
 *   IO_CONNECT_MAX_ATTEMPTS  4: io_connect_name's attempts in flight at once
 *   IO_CONNECT_MAX_ADDRS  8: the addresses io_connect_name keeps and tries
 *   IO_CONNECT_DELAY_MS   250: its default connection attempt delay
 *
 * Memory (x86-64): io_fd_t 48 bytes (64 under the poll backend: its link
 * in the fd list), io_addr_t 136, io_readable_t 80, io_read_t (and the
 * other three read / write frames) 104, io_connect_t 88, io_send_to_t (and
 * the other three datagram frames) 248 (an address), io_accept_t 336 (a
 * peer address and a backoff timer), io_signal_t 304 (320 under the poll
 * backend; two sigset_t; without signalfd one
 * sigset_t and IO_SIGNAL_MAX saved actions: 1472 on glibc, whose
 * sigset_t is 128 bytes, about 200 on macOS). Include io.h (or exec.h)
 * before any system header, or compile with -D_GNU_SOURCE.
 */
#ifndef IO_H
#define IO_H

#include "exec.h"

#ifndef EXEC_HAVE_FDS_
#error "io.h needs a backend with file descriptors (EXEC_BACKEND_EPOLL or EXEC_BACKEND_POLL)"
#else /* the whole header: one error, not a page of them */

#include "blocking.h" /* io_resolve's lookups run on the pool */

/* signalfd: Linux, unless IO_PORTABLE asks for the handler and the pipe. */
#if defined(__linux__) && !defined(IO_PORTABLE)
#define IO_SIGNALFD_ 1
#endif

#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#ifdef IO_SIGNALFD_
#include <sys/signalfd.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <stddef.h>

/* What the system has beyond POSIX (IO_PORTABLE: as if nothing). */
#if !defined(IO_PORTABLE) && defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
#define IO_SOCK_FLAGS_ (SOCK_NONBLOCK | SOCK_CLOEXEC) /* socket() sets them */
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) ||       \
    defined(__OpenBSD__) || defined(__DragonFly__)
#define IO_ACCEPT4_ 1 /* and accept4 takes them */
#endif
#endif
#if !defined(IO_PORTABLE) && defined(MSG_NOSIGNAL)
#define IO_NOSIGPIPE_SEND_ MSG_NOSIGNAL /* send() without SIGPIPE: a flag */
#elif defined(SO_NOSIGPIPE)
#define IO_NOSIGPIPE_SEND_ 0 /* or a socket option, set at open */
#define IO_SO_NOSIGPIPE_ 1
#endif /* else: sockets are written like pipes, SIGPIPE blocked */
#if !defined(IO_PORTABLE) && (defined(__linux__) || defined(__FreeBSD__) ||    \
                              defined(__NetBSD__) || defined(__DragonFly__))
#define IO_SIGTIMEDWAIT_ 1
#endif

#ifndef IO_SIGNAL_MAX
#define IO_SIGNAL_MAX 8
#endif

/* One past the highest signal number (FreeBSD's NSIG stops before its
 * real-time signals). */
#ifdef _SIG_MAXSIG
#define IO_NSIG_ (_SIG_MAXSIG + 1)
#else
#define IO_NSIG_ NSIG
#endif

#ifndef IO_ACCEPT_BACKOFF_MS
#define IO_ACCEPT_BACKOFF_MS 100
#endif
#ifndef IO_SPARE_PATH
#define IO_SPARE_PATH "/dev/null"
#endif

/* read_exact reached the end of the stream before len bytes. */
#ifdef ENODATA
#define IO_EOF (-ENODATA)
#else
#define IO_EOF (-EPIPE) /* FreeBSD, OpenBSD */
#endif

/* io_listen / io_dgram_bind flags */
enum {
    IO_REUSEPORT = 1, /* SO_REUSEPORT */
    IO_UNLINK = 2     /* a Unix path: remove a socket file already there */
};

/* io_fd_t flags (internal) */
enum {
    IO_FD_SOCKET_ = 1, /* a socket: send() without SIGPIPE, where it can */
    IO_FD_STREAM_ = 2  /* a byte stream: a short read / write means drained */
};

typedef struct io_fd {
    exec_io_t io;   /* the reactor registration; io.fd is the fd, -1 closed */
    int spare;      /* a listener's reserve fd for EMFILE, or -1 */
    unsigned flags; /* IO_FD_* */
} io_fd_t;

typedef struct io_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} io_addr_t;

/* ---- addresses ----------------------------------------------------------- */

/* A port in network byte order and back, by its bytes: glibc's htons is a
 * static function at -O2, which an extern inline function may not call
 * (WEFT_EXTERN_INLINE builds). */
WEFT_API uint16_t io_port_to_net_(int port) {
    unsigned char b[2];
    uint16_t v;
    b[0] = (unsigned char)(port >> 8);
    b[1] = (unsigned char)port;
    memcpy(&v, b, sizeof v);
    return v;
}

WEFT_API int io_port_from_net_(uint16_t v) {
    unsigned char b[2];
    memcpy(b, &v, sizeof b);
    return b[0] << 8 | b[1];
}

/* A numeric IPv4 ("127.0.0.1") or IPv6 ("::1") host and a port; host 0
 * means 127.0.0.1. -EINVAL if host is not numeric (no DNS here). */
WEFT_API int io_addr_parse(io_addr_t *a, const char *host, int port) {
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&a->ss;
    memset(a, 0, sizeof *a);
    if (!host) host = "127.0.0.1";
    if (port < 0 || port > 65535) return -EINVAL;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = io_port_to_net_(port);
        a->len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = io_port_to_net_(port);
        a->len = sizeof *v6;
        return 0;
    }
    return -EINVAL;
}

WEFT_API int io_addr_port(const io_addr_t *a) {
    if (a->ss.ss_family == AF_INET)
        return io_port_from_net_(((const struct sockaddr_in *)(const void *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return io_port_from_net_(((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_port);
    return -1;
}

/* A Unix domain socket address: a path, or on Linux "@name", an abstract
 * name (no file: it goes with the last socket bound to it). A path that
 * starts with '@' is written "./@...". -ENAMETOOLONG when it does not fit
 * sun_path (107 bytes and the NUL on Linux, 103 on macOS and the BSDs);
 * -EINVAL for "" and "@", and for "@name" off Linux. */
WEFT_API int io_addr_unix(io_addr_t *a, const char *path) {
    struct sockaddr_un *un = (struct sockaddr_un *)(void *)&a->ss;
    size_t n = strlen(path), abstract = path[0] == '@';
    memset(a, 0, sizeof *a);
#ifndef __linux__
    if (abstract) return -EINVAL;
#endif
    if (n == abstract) return -EINVAL;
    /* A path needs its NUL in sun_path; an abstract name takes the '@''s
     * place with a NUL, and has no NUL at the end. */
    if (n - abstract >= sizeof un->sun_path) return -ENAMETOOLONG;
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path + abstract, path + abstract, n - abstract);
    a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + !abstract);
    return 0;
}

/* The path a Unix address names (0 for an abstract name, an unnamed
 * socket, or not a Unix address). */
WEFT_API const char *io_addr_path_(const io_addr_t *a) {
    const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)&a->ss;
    if (a->ss.ss_family != AF_UNIX || a->len <= offsetof(struct sockaddr_un, sun_path) ||
        !un->sun_path[0])
        return 0;
    return un->sun_path;
}

/* "127.0.0.1:6379", "[::1]:80", "/run/app.sock", "@name", "(unnamed)":
 * for exec_dump's descriptions (no system call). */
WEFT_API void io_fmt_addr_(future_fmt_t *o, const io_addr_t *a) {
    const struct sockaddr_storage *ss = &a->ss;
    int v6 = ss->ss_family == AF_INET6, port = io_addr_port(a);
    char host[INET6_ADDRSTRLEN];
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (a->len == 0 || (ss->ss_family == AF_UNIX && a->len <= off)) {
        future_fmt_str(o, "(unnamed)"); /* a Unix socket never bound */
        return;
    }
    if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)ss;
        char name[sizeof un->sun_path + 1];
        size_t n = a->len - off;
        if (n > sizeof un->sun_path) n = sizeof un->sun_path;
        memcpy(name, un->sun_path, n); /* the kernel's may lack its NUL */
        name[n] = 0;
        if (!name[0]) name[0] = '@'; /* abstract */
        future_fmt_str(o, name);
        return;
    }
    if (port < 0 ||
        !inet_ntop(ss->ss_family,
                   v6 ? (const void *)&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr
                      : (const void *)&((const struct sockaddr_in *)(const void *)ss)->sin_addr,
                   host, sizeof host)) {
        future_fmt_str(o, "?");
        return;
    }
    if (v6) future_fmt_str(o, "[");
    future_fmt_str(o, host);
    future_fmt_str(o, v6 ? "]:" : ":");
    future_fmt_u64(o, (unsigned)port);
}

/* ---- handles ------------------------------------------------------------- */

WEFT_API void io_fd_clear_(io_fd_t *f) {
    memset(f, 0, sizeof *f);
    f->io.fd = -1;
    f->spare = -1;
}

#if !defined(IO_ACCEPT4_) || !defined(IO_SIGNALFD_) /* a fallback needs it */
/* Make fd non-blocking and close-on-exec: 0 or -errno (errno kept). */
WEFT_API int io_fd_flags_(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}
#endif

/* A new socket of family and type (SOCK_STREAM, SOCK_DGRAM), non-blocking
 * and close-on-exec: the fd, or -errno. */
WEFT_API int io_socket_(int family, int type) {
#ifdef IO_SOCK_FLAGS_
    int fd = socket(family, type | IO_SOCK_FLAGS_, 0);
    return fd < 0 ? -errno : fd;
#else
    int fd = socket(family, type, 0), rc;
    if (fd < 0) return -errno;
    if ((rc = io_fd_flags_(fd)) < 0) close(fd);
    return rc < 0 ? rc : fd;
#endif
}

/* socketpair(AF_UNIX, type), both ends non-blocking and close-on-exec:
 * 0 or -errno (nothing left open). */
WEFT_API int io_socketpair_(int type, int sv[2]) {
#ifdef IO_SOCK_FLAGS_
    return socketpair(AF_UNIX, type | IO_SOCK_FLAGS_, 0, sv) < 0 ? -errno : 0;
#else
    int rc;
    if (socketpair(AF_UNIX, type, 0, sv) < 0) return -errno;
    if ((rc = io_fd_flags_(sv[0])) < 0 || (rc = io_fd_flags_(sv[1])) < 0) {
        close(sv[0]);
        close(sv[1]);
    }
    return rc;
#endif
}

/* accept, the new fd non-blocking and close-on-exec: the fd, or -1 and
 * errno (as accept itself, for the callers' errno switch). */
WEFT_API int io_accept_(int lfd, struct sockaddr *sa, socklen_t *len) {
#ifdef IO_ACCEPT4_
    return accept4(lfd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int c = accept(lfd, sa, len), e;
    if (c >= 0 && io_fd_flags_(c) < 0) {
        e = errno;
        close(c); /* the connection is lost: the error says why */
        errno = e;
        c = -1;
    }
    return c;
#endif
}

/* Register fd (already non-blocking) with flags known to the caller. */
WEFT_API int io_fd_setup_(io_fd_t *f, exec_t *ex, int fd, unsigned flags) {
    int rc;
    io_fd_clear_(f);
#ifdef IO_SO_NOSIGPIPE_
    if (flags & IO_FD_SOCKET_) { /* send() cannot say it: the socket must */
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one) < 0) return -errno;
    }
#endif
    rc = exec_io_start(&f->io, ex, fd);
    if (rc < 0) {
        io_fd_clear_(f);
        return rc;
    }
    f->flags = flags;
    return 0;
}

/* Adopt fd: make it non-blocking and register it with ex's reactor. On
 * failure (-errno: EPERM for a regular file) f is closed and fd untouched. */
WEFT_API int io_fd_open(io_fd_t *f, exec_t *ex, int fd) {
    struct stat st;
    unsigned flags = 0;
    int fl = fcntl(fd, F_GETFL), rc;
    io_fd_clear_(f);
    if (fl < 0) return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    if (fstat(fd, &st) == 0) {
        if (S_ISSOCK(st.st_mode)) {
            int type = 0;
            socklen_t len = sizeof type;
            flags |= IO_FD_SOCKET_;
            if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM)
                flags |= IO_FD_STREAM_;
        } else if (S_ISFIFO(st.st_mode)) {
            flags |= IO_FD_STREAM_;
        }
    }
    rc = io_fd_setup_(f, ex, fd, flags);
    if (rc < 0 && !(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl); /* fd untouched */
    return rc;
}

WEFT_API int io_fd_is_open(const io_fd_t *f) { return f->io.ex != 0; }
WEFT_API int io_fd_get(const io_fd_t *f) { return f->io.fd; }

/* Deregister and give the fd back (not closed); waiting futures get -EBADF. */
WEFT_API int io_fd_detach(io_fd_t *f) {
    int fd = f->io.fd;
    if (f->io.ex) exec_io_stop(&f->io);
    if (f->spare >= 0) close(f->spare);
    io_fd_clear_(f);
    return fd;
}

/* Deregister and close. Futures still waiting on f are woken and finish
 * with -EBADF, even if f is opened again (on another fd) before they run:
 * they never go on with the new file. Closing a closed (or
 * failed-to-open) io_fd_t does nothing. */
WEFT_API int io_fd_close(io_fd_t *f) {
    int fd = io_fd_detach(f);
    if (fd >= 0 && close(fd) < 0) return -errno;
    return 0;
}

/* Shut down one direction (SHUT_RD, SHUT_WR) or both (SHUT_RDWR). */
WEFT_API int io_shutdown(io_fd_t *f, int how) {
    return shutdown(f->io.fd, how) < 0 ? -errno : 0;
}

WEFT_API int io_tcp_nodelay(io_fd_t *f, int on) {
    return setsockopt(f->io.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0 ? -errno : 0;
}

WEFT_API int io_local_addr(const io_fd_t *f, io_addr_t *a) {
    memset(a, 0, sizeof *a);
    a->len = sizeof a->ss;
    return getsockname(f->io.fd, (struct sockaddr *)(void *)&a->ss, &a->len) < 0 ? -errno : 0;
}

WEFT_API int io_peer_addr(const io_fd_t *f, io_addr_t *a) {
    memset(a, 0, sizeof *a);
    a->len = sizeof a->ss;
    return getpeername(f->io.fd, (struct sockaddr *)(void *)&a->ss, &a->len) < 0 ? -errno : 0;
}

/* IO_UNLINK: remove the socket file at path (a previous run's, which
 * makes bind fail with EADDRINUSE). Anything else there is left for bind
 * to refuse. 0, or -1 and errno. */
WEFT_API int io_unlink_socket_(const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
    return S_ISSOCK(st.st_mode) ? unlink(path) : 0;
}

/* Close fd, bound to addr, after a failure: and remove the socket file
 * bind made, if addr is a path (errno kept: the caller's error). */
WEFT_API void io_unbind_(int fd, const io_addr_t *addr) {
    const char *path = io_addr_path_(addr);
    int e = errno;
    close(fd);
    if (path) unlink(path);
    errno = e;
}

/* A socket of type bound to addr (and its family), non-blocking and
 * close-on-exec: the fd, or -errno with nothing open. What tokio's binds
 * set: SO_REUSEADDR on a TCP listener, IPV6_V6ONLY on IPv6 (here); and
 * flags: IO_REUSEPORT (IP only: -EINVAL on a Unix address), IO_UNLINK. */
WEFT_API int io_bind_(const io_addr_t *addr, int type, unsigned flags) {
    int one = 1, rc, fd, family = addr->ss.ss_family;
    const char *path = io_addr_path_(addr);
    if (family == AF_UNIX && (flags & IO_REUSEPORT)) return -EINVAL;
    fd = io_socket_(family, type);
    if (fd < 0) return fd;
    if (type == SOCK_STREAM && family != AF_UNIX &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        goto fail;
    if ((flags & IO_REUSEPORT) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
        goto fail;
    if ((flags & IO_UNLINK) && path && io_unlink_socket_(path) < 0) goto fail;
    if (bind(fd, (const struct sockaddr *)(const void *)&addr->ss, addr->len) < 0) goto fail;
    return fd;
fail:
    rc = -errno;
    close(fd);
    return rc;
}

/* A listening stream socket on addr: TCP (port 0: the kernel picks; see
 * io_local_addr), or a Unix path or abstract name (io_addr_unix). TCP:
 * SO_REUSEADDR always, SO_REUSEPORT with IO_REUSEPORT. A Unix path: bind
 * makes the socket file, and a file already there (a previous run's
 * socket) fails with -EADDRINUSE, unless IO_UNLINK says to remove a
 * socket file first (live or stale: it cannot tell). Closing never
 * removes the file (as tokio): unlink it, or use an abstract name. */
WEFT_API int io_listen(io_fd_t *f, exec_t *ex, const io_addr_t *addr, int backlog,
                            unsigned flags) {
    int rc, fd;
    io_fd_clear_(f);
    fd = io_bind_(addr, SOCK_STREAM, flags);
    if (fd < 0) return fd;
    if (listen(fd, backlog) < 0) {
        rc = -errno;
        io_unbind_(fd, addr);
        return rc;
    }
    rc = io_fd_setup_(f, ex, fd, IO_FD_SOCKET_);
    if (rc < 0) {
        io_unbind_(fd, addr);
        return rc;
    }
    f->spare = open(IO_SPARE_PATH, O_RDONLY | O_CLOEXEC); /* -1 is survivable */
    return 0;
}

/* A datagram socket bound to addr: UDP for an IP address (port 0: the
 * kernel picks), Unix datagram for a path or abstract name. flags as
 * io_listen's (no SO_REUSEADDR: as tokio's UdpSocket::bind). */
WEFT_API int io_dgram_bind(io_fd_t *f, exec_t *ex, const io_addr_t *addr, unsigned flags) {
    int rc, fd;
    io_fd_clear_(f);
    fd = io_bind_(addr, SOCK_DGRAM, flags);
    if (fd < 0) return fd;
    rc = io_fd_setup_(f, ex, fd, IO_FD_SOCKET_);
    if (rc < 0) io_unbind_(fd, addr);
    return rc;
}

/* An unbound datagram socket of family (AF_INET, AF_INET6, AF_UNIX): UDP
 * binds an ephemeral port at its first send; a Unix one sends from no
 * address (its peers cannot answer: tokio's UnixDatagram::unbound). */
WEFT_API int io_dgram_open(io_fd_t *f, exec_t *ex, int family) {
    int rc, fd;
    io_fd_clear_(f);
    fd = io_socket_(family, SOCK_DGRAM);
    if (fd < 0) return fd;
    rc = io_fd_setup_(f, ex, fd, IO_FD_SOCKET_);
    if (rc < 0) close(fd);
    return rc;
}

/* Set a datagram socket's peer: io_send / io_recv then need no address,
 * and datagrams from anyone else are dropped by the kernel. No handshake,
 * so no future: 0 or -errno at once (a Unix path: -ENOENT, -ECONNREFUSED). */
WEFT_API int io_dgram_connect(io_fd_t *f, const io_addr_t *addr) {
    return connect(f->io.fd, (const struct sockaddr *)(const void *)&addr->ss, addr->len) < 0
               ? -errno
               : 0;
}

/* Two connected Unix sockets of type (SOCK_STREAM or SOCK_DGRAM): tokio's
 * UnixStream::pair, UnixDatagram::pair. 0, or -errno with both closed. */
WEFT_API int io_socketpair(io_fd_t *a, io_fd_t *b, exec_t *ex, int type) {
    unsigned flags = IO_FD_SOCKET_ | (type == SOCK_STREAM ? (unsigned)IO_FD_STREAM_ : 0u);
    int sv[2], rc;
    io_fd_clear_(a);
    io_fd_clear_(b);
    if (type != SOCK_STREAM && type != SOCK_DGRAM) return -EINVAL; /* the same everywhere */
    rc = io_socketpair_(type, sv);
    if (rc < 0) return rc;
    if ((rc = io_fd_setup_(a, ex, sv[0], flags)) < 0) close(sv[0]);
    else if ((rc = io_fd_setup_(b, ex, sv[1], flags)) < 0) io_fd_close(a);
    if (rc < 0) close(sv[1]);
    return rc;
}

/* ---- one attempt, no task ------------------------------------------------ */

/* Every one-attempt call goes through these two. Before: -EAGAIN (the
 * reactor has not seen f ready in dir: no system call), -EBADF (closed),
 * or 0: make the call. */
WEFT_API int io_try_begin_(const io_fd_t *f, unsigned dir) {
    if (!(f->io.ready & dir)) return f->io.ex ? -EAGAIN : -EBADF;
    return 0;
}

/* After a call that moved n of len bytes (-1: errno says): n, -EAGAIN
 * (it would block: the ready bit is cleared, the next edge sets it), or
 * -errno. A short read or write of a stream drained or filled it too: the
 * next byte comes with an edge (not after a hangup: that edge has been and
 * gone). A datagram proves nothing: the next one may be queued already. */
WEFT_API ssize_t io_try_end_(io_fd_t *f, unsigned dir, ssize_t n, size_t len) {
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            exec_io_clear(&f->io, dir);
            return -EAGAIN;
        }
        return -errno;
    }
    if ((size_t)n < len && (dir == EXEC_IO_WRITE || n > 0) && (f->flags & IO_FD_STREAM_) &&
        !f->io.hup)
        exec_io_clear(&f->io, dir);
    return n;
}

/* Read once: bytes (0 at the end), -EAGAIN (not ready: await io_readable),
 * or -errno. No system call unless the reactor saw the fd readable. */
WEFT_API ssize_t io_try_read(io_fd_t *f, void *buf, size_t len) {
    ssize_t n = io_try_begin_(f, EXEC_IO_READ);
    if (n < 0) return n;
    do n = read(f->io.fd, buf, len);
    while (n < 0 && errno == EINTR);
    return io_try_end_(f, EXEC_IO_READ, n, len);
}

/* write(), or sendto() with to, without SIGPIPE (a non-socket, or a socket
 * where send cannot avoid it): block it around the call and consume the
 * one the call raised (if it was not pending before). */
WEFT_API ssize_t io_write_nosigpipe_(int fd, const void *buf, size_t len, const io_addr_t *to) {
    sigset_t pipe_set, old, pending;
    ssize_t n;
    int e, was_pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    n = to ? sendto(fd, buf, len, 0, (const struct sockaddr *)(const void *)&to->ss, to->len)
           : write(fd, buf, len);
    e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
#ifdef IO_SIGTIMEDWAIT_
        struct timespec zero;
        zero.tv_sec = 0;
        zero.tv_nsec = 0;
        while (sigtimedwait(&pipe_set, 0, &zero) < 0 && errno == EINTR) {}
#else
        /* Ours is pending on this thread, unless SIGPIPE is ignored (then
         * none was raised): sigwait takes it without waiting. */
        int sig;
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE) == 1) sigwait(&pipe_set, &sig);
#endif
    }
    pthread_sigmask(SIG_SETMASK, &old, 0);
    errno = e;
    return n;
}

/* One write of f (to: sendto that address) without SIGPIPE: -1 and errno,
 * EINTR retried. */
WEFT_API ssize_t io_send_(io_fd_t *f, const void *buf, size_t len, const io_addr_t *to) {
    ssize_t n;
    do {
#ifdef IO_NOSIGPIPE_SEND_
        if (f->flags & IO_FD_SOCKET_)
            n = to ? sendto(f->io.fd, buf, len, IO_NOSIGPIPE_SEND_,
                            (const struct sockaddr *)(const void *)&to->ss, to->len)
                   : send(f->io.fd, buf, len, IO_NOSIGPIPE_SEND_);
        else
#endif
            n = io_write_nosigpipe_(f->io.fd, buf, len, to);
    } while (n < 0 && errno == EINTR);
    return n;
}

/* Write once: bytes written, -EAGAIN (not ready: await io_writable), or
 * -errno (-EPIPE, -ECONNRESET, ...). Never raises SIGPIPE. */
WEFT_API ssize_t io_try_write(io_fd_t *f, const void *buf, size_t len) {
    ssize_t n = io_try_begin_(f, EXEC_IO_WRITE);
    if (n < 0) return n;
    return io_try_end_(f, EXEC_IO_WRITE, io_send_(f, buf, len, 0), len);
}

/* ---- the waiting part every future shares -------------------------------- */

/* 1: the fd is ready in dir, try the call (a unit of the task's budget is
 * spent); 0: pending (cx's waker is registered, or the budget is spent and
 * the task re-queued); <0: finish with that error. */
WEFT_API int io_gate_(io_fd_t *f, future_cx_t *cx, unsigned dir, future_waker_t **waiting) {
    exec_io_t *io = &f->io;
    future_waker_t *cur;
    if (!io->ex) return future_coop_spend(cx) ? -EBADF : 0; /* ready: an error */
    if (exec_of(cx) != io->ex) { /* only io->ex's reactor would wake us */
        FUTURE_MISUSE("an io_fd_t polled on another executor than the one it was "
                      "opened on (or on none): open each fd on the executor "
                      "that awaits it");
        return -EINVAL;
    }
    cur = dir == EXEC_IO_READ ? io->reader : io->writer;
    /* Our waker was registered and is gone: only a close takes it (and
     * io_fd_open on the same io_fd_t since: another file, the same
     * struct). The wait ends as it would have on the closed fd. */
    if (*waiting && cur != *waiting) return future_coop_spend(cx) ? -EBADF : 0;
    if (io->ready & dir) return future_coop_spend(cx) ? 1 : 0;
    if (cur && cur != *waiting) {
        FUTURE_MISUSE(dir == EXEC_IO_READ
                          ? "two futures wait to read one io_fd_t at once: read "
                            "each fd from one place (or one future at a time)"
                          : "two futures wait to write one io_fd_t at once: write "
                            "each fd from one place (or one future at a time)");
        return -EBUSY;
    }
    exec_io_poll(io, cx, dir); /* not ready: registers cx->waker */
    *waiting = cx->waker;
    return 0;
}

/* Forget our waker, if it is still the one registered. */
WEFT_API void io_unwait_(io_fd_t *f, unsigned dir, future_waker_t **waiting) {
    if (*waiting) exec_io_forget(&f->io, dir, *waiting);
    *waiting = 0;
}

/* What a waiting future is doing, in words (exec_dump's async backtrace):
 * "read fd 7", "write_all fd 7 (12/100 bytes)". Each poll function keeps
 * its kind (future_kind_t) and sets it when it returns pending. The
 * descriptions read only the frame and its io_fd_t: no system call. */
WEFT_API coro_poll_t io_pending_(future_t *self, const future_kind_t *kind) {
    future_set_kind(self, kind);
    return CORO_PENDING;
}

WEFT_API void io_fmt_fd_(future_fmt_t *o, const io_fd_t *f) {
    if (f->io.fd < 0) {
        future_fmt_str(o, "(closed fd)");
        return;
    }
    future_fmt_str(o, "fd ");
    future_fmt_u64(o, (unsigned)f->io.fd);
}

/* ---- readable / writable ------------------------------------------------- */

typedef struct io_ready {
    future_t fut;
    io_fd_t *fd;
    future_waker_t *waiting;
    unsigned dir;
} io_ready_t;
typedef io_ready_t io_readable_t;
typedef io_ready_t io_writable_t;

/* "fd 7" */
WEFT_API void io_ready_describe_(const future_t *f, future_fmt_t *o) {
    io_fmt_fd_(o, ((const io_ready_t *)(const void *)f)->fd);
}

WEFT_API coro_poll_t io_ready_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kinds[2] = {
        {FUTURE_KIND_TAG_, "readable", io_ready_describe_},
        {FUTURE_KIND_TAG_, "writable", io_ready_describe_}};
    io_ready_t *r = (io_ready_t *)(void *)self;
    int g = io_gate_(r->fd, cx, r->dir, &r->waiting);
    if (g == 0) return io_pending_(self, &kinds[r->dir == EXEC_IO_WRITE]);
    io_unwait_(r->fd, r->dir, &r->waiting);
    return future_finish(self, g < 0 ? g : 0);
}

WEFT_API void io_ready_drop_(future_t *self) {
    io_ready_t *r = (io_ready_t *)(void *)self;
    io_unwait_(r->fd, r->dir, &r->waiting);
}

/* Ready when the reactor has seen f readable (data, the end, or an error). */
WEFT_API void io_readable_init(io_readable_t *r, io_fd_t *f) {
    future_init(&r->fut, io_ready_poll_, io_ready_drop_);
    r->fd = f;
    r->waiting = 0;
    r->dir = EXEC_IO_READ;
}

/* Ready when the reactor has seen f writable (or failed). */
WEFT_API void io_writable_init(io_writable_t *w, io_fd_t *f) {
    future_init(&w->fut, io_ready_poll_, io_ready_drop_);
    w->fd = f;
    w->waiting = 0;
    w->dir = EXEC_IO_WRITE;
}

/* ---- read, write, read_exact, write_all ---------------------------------- */

/* One frame serves all four: dir says which way, exact says "all of it". */
typedef struct io_rw {
    future_t fut;
    io_fd_t *fd;
    future_waker_t *waiting;
    char *buf;
    size_t len;
    FUTURE_EXT_ union {
        size_t out;  /* bytes moved: the result, and the progress on error */
        size_t n;    /* the same (its older name) */
    };
    unsigned dir;    /* EXEC_IO_READ or EXEC_IO_WRITE */
    unsigned exact;  /* read_exact / write_all */
} io_rw_t;
typedef io_rw_t io_read_t;
typedef io_rw_t io_write_t;
typedef io_rw_t io_read_exact_t;
typedef io_rw_t io_write_all_t;

/* "fd 7" (read), "fd 7 (100 bytes)" (write), "fd 7 (3/8 bytes)" (read_exact,
 * write_all: the progress so far). */
WEFT_API void io_rw_describe_(const future_t *f, future_fmt_t *o) {
    const io_rw_t *r = (const io_rw_t *)(const void *)f;
    io_fmt_fd_(o, r->fd);
    if (!r->exact && r->dir == EXEC_IO_READ) return;
    future_fmt_str(o, " (");
    if (r->exact) {
        future_fmt_u64(o, r->n);
        future_fmt_str(o, "/");
    }
    future_fmt_u64(o, r->len);
    future_fmt_str(o, " bytes)");
}

WEFT_API coro_poll_t io_rw_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kinds[4] = {
        {FUTURE_KIND_TAG_, "read", io_rw_describe_},
        {FUTURE_KIND_TAG_, "write", io_rw_describe_},
        {FUTURE_KIND_TAG_, "read_exact", io_rw_describe_},
        {FUTURE_KIND_TAG_, "write_all", io_rw_describe_}};
    io_rw_t *r = (io_rw_t *)(void *)self;
    int rc = 0;
    for (;;) {
        ssize_t n;
        int g;
        if (r->exact && r->n == r->len) break;
        g = io_gate_(r->fd, cx, r->dir, &r->waiting);
        if (g == 0) return io_pending_(self, &kinds[(r->dir == EXEC_IO_WRITE) + 2 * (r->exact != 0)]);
        if (g < 0) {
            rc = g;
            break;
        }
        if (r->dir == EXEC_IO_READ) n = io_try_read(r->fd, r->buf + r->n, r->len - r->n);
        else n = io_try_write(r->fd, r->buf + r->n, r->len - r->n);
        if (n == -EAGAIN) continue; /* the ready bit is clear now: wait */
        if (n < 0) {
            rc = (int)n;
            break;
        }
        if (n == 0 && r->dir == EXEC_IO_READ) { /* the end of the stream */
            if (r->exact && r->len) rc = IO_EOF;
            break;
        }
        r->n += (size_t)n;
        if (!r->exact) break;
    }
    io_unwait_(r->fd, r->dir, &r->waiting);
    return future_finish(self, rc);
}

WEFT_API void io_rw_drop_(future_t *self) {
    io_rw_t *r = (io_rw_t *)(void *)self;
    io_unwait_(r->fd, r->dir, &r->waiting);
}

WEFT_API void io_rw_init_(io_rw_t *r, io_fd_t *f, const void *buf, size_t len,
                               unsigned dir, unsigned exact) {
    future_init(&r->fut, io_rw_poll_, io_rw_drop_);
    r->fd = f;
    r->waiting = 0;
    r->buf = (char *)(uintptr_t)buf; /* writes never store through it */
    r->len = len;
    r->n = 0;
    r->dir = dir;
    r->exact = exact;
}

/* Read up to len bytes: r.n is 1..len, or 0 at the end of the stream. */
WEFT_API void io_read_init(io_read_t *r, io_fd_t *f, void *buf, size_t len) {
    io_rw_init_(r, f, buf, len, EXEC_IO_READ, 0);
}

/* Write up to len bytes (at least one): w.n. */
WEFT_API void io_write_init(io_write_t *w, io_fd_t *f, const void *buf, size_t len) {
    io_rw_init_(w, f, buf, len, EXEC_IO_WRITE, 0);
}

/* Read exactly len bytes; IO_EOF if the stream ends first (r.n: how many). */
WEFT_API void io_read_exact_init(io_read_exact_t *r, io_fd_t *f, void *buf, size_t len) {
    io_rw_init_(r, f, buf, len, EXEC_IO_READ, 1);
}

/* Write all len bytes; on an error, w.n says how many went. */
WEFT_API void io_write_all_init(io_write_all_t *w, io_fd_t *f, const void *buf,
                                     size_t len) {
    io_rw_init_(w, f, buf, len, EXEC_IO_WRITE, 1);
}

/* ---- accept -------------------------------------------------------------- */

typedef struct io_accept {
    future_t fut;
    io_fd_t *lis;
    future_waker_t *waiting;
    FUTURE_EXT_ union {
        int out;      /* the new connection (non-blocking, close-on-exec) */
        int fd;       /* the same (its older name) */
    };
    int backing_off;  /* waiting on `backoff` (EMFILE, no spare fd) */
    unsigned dropped; /* connections closed by the EMFILE drain */
    io_addr_t peer;   /* its address */
    timer_sleep_t backoff;
} io_accept_t;

/* EMFILE / ENFILE with a spare fd: free it, accept and close what waits,
 * take the spare back. */
WEFT_API void io_accept_drain_(io_accept_t *a) {
    io_fd_t *l = a->lis;
    int c;
    close(l->spare);
    l->spare = -1;
    while ((c = io_accept_(l->io.fd, 0, 0)) >= 0 || errno == EINTR ||
           errno == ECONNABORTED) {
        if (c >= 0) {
            close(c);
            a->dropped++;
        }
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) exec_io_clear(&l->io, EXEC_IO_READ);
    l->spare = open(IO_SPARE_PATH, O_RDONLY | O_CLOEXEC);
}

/* "fd 5", "fd 5 (out of fds: retrying in 100 ms)" */
WEFT_API void io_accept_describe_(const future_t *f, future_fmt_t *o) {
    const io_accept_t *a = (const io_accept_t *)(const void *)f;
    io_fmt_fd_(o, a->lis);
    if (a->backing_off) {
        future_fmt_str(o, " (out of fds: retrying in ");
        future_fmt_u64(o, IO_ACCEPT_BACKOFF_MS);
        future_fmt_str(o, " ms)");
    }
}

WEFT_API coro_poll_t io_accept_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "accept", io_accept_describe_};
    io_accept_t *a = (io_accept_t *)(void *)self;
    int rc;
    for (;;) {
        int g, c, e;
        if (a->backing_off) {
            if (future_poll(&a->backoff.fut, cx) == CORO_PENDING) return io_pending_(self, &kind);
            a->backing_off = 0;
        }
        g = io_gate_(a->lis, cx, EXEC_IO_READ, &a->waiting);
        if (g == 0) return io_pending_(self, &kind);
        if (g < 0) {
            rc = g;
            break;
        }
        a->peer.len = sizeof a->peer.ss;
        c = io_accept_(a->lis->io.fd, (struct sockaddr *)(void *)&a->peer.ss, &a->peer.len);
        if (c >= 0) {
            a->fd = c;
            rc = 0;
            break;
        }
        e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            exec_io_clear(&a->lis->io, EXEC_IO_READ);
            continue;
        }
        if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
            if (a->lis->spare >= 0 && (e == EMFILE || e == ENFILE)) {
                io_accept_drain_(a);
                continue;
            }
            /* No spare: wait on a timer, keep the readiness, try again. */
            io_unwait_(a->lis, EXEC_IO_READ, &a->waiting);
            timer_sleep_init(&a->backoff, (uint64_t)IO_ACCEPT_BACKOFF_MS * TIMER_MS);
            a->backing_off = 1;
            continue;
        }
        rc = -e;
        break;
    }
    io_unwait_(a->lis, EXEC_IO_READ, &a->waiting);
    return future_finish(self, rc);
}

WEFT_API void io_accept_drop_(future_t *self) {
    io_accept_t *a = (io_accept_t *)(void *)self;
    io_unwait_(a->lis, EXEC_IO_READ, &a->waiting);
    if (a->backing_off) future_drop(&a->backoff.fut);
    a->backing_off = 0;
}

/* Accept one connection on listener l: a.fd, a.peer. */
WEFT_API void io_accept_init(io_accept_t *a, io_fd_t *l) {
    future_init(&a->fut, io_accept_poll_, io_accept_drop_);
    a->lis = l;
    a->waiting = 0;
    a->fd = -1;
    a->backing_off = 0;
    a->dropped = 0;
    memset(&a->peer, 0, sizeof a->peer);
}

/* ---- connect ------------------------------------------------------------- */

typedef struct io_connect {
    future_t fut;
    io_fd_t *fd;       /* opened here; closed again on failure or drop */
    const io_addr_t *addr;
    future_waker_t *waiting;
    int started;
} io_connect_t;

/* "fd 9 to 127.0.0.1:6379", "fd 9 to [::1]:80", "fd 9 to /run/app.sock" */
WEFT_API void io_connect_describe_(const future_t *f, future_fmt_t *o) {
    const io_connect_t *c = (const io_connect_t *)(const void *)f;
    io_fmt_fd_(o, c->fd);
    future_fmt_str(o, " to ");
    io_fmt_addr_(o, c->addr);
}

WEFT_API coro_poll_t io_connect_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "connect", io_connect_describe_};
    io_connect_t *c = (io_connect_t *)(void *)self;
    int rc, g, s, err = 0;
    socklen_t len = sizeof err;
    if (!c->started) {
        exec_t *ex = exec_of(cx);
        if (!ex) {
            FUTURE_MISUSE("io_connect polled outside an executor: run it with "
                          "exec_block_on or in a spawned task");
            return future_finish(self, -EINVAL);
        }
        /* A failure at once is ready with an error: it spends the budget,
         * so a retry loop over it cannot starve the other tasks. */
        s = io_socket_(c->addr->ss.ss_family, SOCK_STREAM);
        if (s < 0) return future_leaf_ready(self, cx, s);
        if (connect(s, (const struct sockaddr *)(const void *)&c->addr->ss, c->addr->len) < 0 &&
            errno != EINPROGRESS && errno != EINTR) {
            rc = -errno;
            close(s);
            return future_leaf_ready(self, cx, rc);
        }
        /* Registered after connect: the kernel reports what it is now. */
        rc = io_fd_setup_(c->fd, ex, s, IO_FD_SOCKET_ | IO_FD_STREAM_);
        if (rc < 0) {
            close(s);
            return future_finish(self, rc);
        }
        c->started = 1;
    }
    g = io_gate_(c->fd, cx, EXEC_IO_WRITE, &c->waiting);
    if (g == 0) return io_pending_(self, &kind);
    io_unwait_(c->fd, EXEC_IO_WRITE, &c->waiting);
    if (g < 0) rc = g;
    else if (getsockopt(c->fd->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) rc = -errno;
    else rc = -err;
    c->started = 0;
    if (rc < 0) io_fd_close(c->fd);
    return future_finish(self, rc);
}

WEFT_API void io_connect_drop_(future_t *self) {
    io_connect_t *c = (io_connect_t *)(void *)self;
    if (!c->started) return;
    io_unwait_(c->fd, EXEC_IO_WRITE, &c->waiting);
    io_fd_close(c->fd);
    c->started = 0;
}

/* Connect a new stream socket to addr (TCP, or a Unix path), as f (which
 * must not be open). addr must stay valid until the future is done. A
 * Unix listener whose backlog is full refuses at once on Linux: -EAGAIN
 * (as tokio's UnixStream::connect; elsewhere it waits or -ECONNREFUSED). */
WEFT_API void io_connect_init(io_connect_t *c, io_fd_t *f, const io_addr_t *addr) {
    future_init(&c->fut, io_connect_poll_, io_connect_drop_);
    c->fd = f;
    c->addr = addr;
    c->waiting = 0;
    c->started = 0;
    io_fd_clear_(f);
}

/* ---- datagrams: send_to, recv_from, send, recv -------------------------- */

/* One frame serves all four: dir says which way, addressed says whether
 * peer is used (send_to: where to; recv_from: from whom). */
typedef struct io_msg {
    future_t fut;
    io_fd_t *fd;
    future_waker_t *waiting;
    char *buf;
    size_t len;
    FUTURE_EXT_ union {
        size_t out; /* bytes sent, or received into buf */
        size_t n;   /* the same (the name io_read_t uses) */
    };
    unsigned dir;       /* EXEC_IO_READ or EXEC_IO_WRITE */
    unsigned addressed; /* send_to / recv_from */
    unsigned truncated; /* recv: the datagram was longer than len */
    io_addr_t peer;     /* send_to: a copy of the address; recv_from: the sender */
} io_msg_t;
typedef io_msg_t io_send_to_t;
typedef io_msg_t io_recv_from_t;
typedef io_msg_t io_send_t;
typedef io_msg_t io_recv_t;

/* "fd 7" (recv, recv_from), "fd 7 (100 bytes)" (send), "fd 7 (100 bytes
 * to 127.0.0.1:53)" (send_to). */
WEFT_API void io_msg_describe_(const future_t *f, future_fmt_t *o) {
    const io_msg_t *m = (const io_msg_t *)(const void *)f;
    io_fmt_fd_(o, m->fd);
    if (m->dir == EXEC_IO_READ) return;
    future_fmt_str(o, " (");
    future_fmt_u64(o, m->len);
    future_fmt_str(o, " bytes");
    if (m->addressed) {
        future_fmt_str(o, " to ");
        io_fmt_addr_(o, &m->peer);
    }
    future_fmt_str(o, ")");
}

/* One recvmsg: -1 and errno, or the bytes stored; truncated and the
 * sender's address (recv_from) with them. */
WEFT_API ssize_t io_recv_(io_msg_t *m) {
    struct msghdr h;
    struct iovec v;
    ssize_t n;
    memset(&h, 0, sizeof h);
    v.iov_base = m->buf;
    v.iov_len = m->len;
    h.msg_iov = &v;
    h.msg_iovlen = 1;
    if (m->addressed) {
        memset(&m->peer, 0, sizeof m->peer); /* an unnamed sender fills none */
        h.msg_name = &m->peer.ss;
        h.msg_namelen = sizeof m->peer.ss;
    }
    do n = recvmsg(m->fd->io.fd, &h, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    m->truncated = (h.msg_flags & MSG_TRUNC) != 0;
    m->peer.len = m->addressed ? h.msg_namelen : 0;
    return n;
}

WEFT_API coro_poll_t io_msg_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kinds[4] = {
        {FUTURE_KIND_TAG_, "recv", io_msg_describe_},
        {FUTURE_KIND_TAG_, "send", io_msg_describe_},
        {FUTURE_KIND_TAG_, "recv_from", io_msg_describe_},
        {FUTURE_KIND_TAG_, "send_to", io_msg_describe_}};
    io_msg_t *m = (io_msg_t *)(void *)self;
    int rc = 0;
    for (;;) {
        ssize_t n;
        int g = io_gate_(m->fd, cx, m->dir, &m->waiting);
        if (g == 0) return io_pending_(self, &kinds[(m->dir == EXEC_IO_WRITE) + 2 * m->addressed]);
        if (g < 0) {
            rc = g;
            break;
        }
        /* The datagram moves whole, here or not at all: cancel-safe. */
        if (m->dir == EXEC_IO_READ) n = io_recv_(m);
        else n = io_send_(m->fd, m->buf, m->len, m->addressed ? &m->peer : 0);
        n = io_try_end_(m->fd, m->dir, n, m->len);
        if (n == -EAGAIN) continue; /* the ready bit is clear now: wait */
        if (n < 0) rc = (int)n;
        else m->n = (size_t)n;
        break;
    }
    io_unwait_(m->fd, m->dir, &m->waiting);
    return future_finish(self, rc);
}

WEFT_API void io_msg_drop_(future_t *self) {
    io_msg_t *m = (io_msg_t *)(void *)self;
    io_unwait_(m->fd, m->dir, &m->waiting);
}

WEFT_API void io_msg_init_(io_msg_t *m, io_fd_t *f, const void *buf, size_t len, unsigned dir,
                           unsigned addressed) {
    future_init(&m->fut, io_msg_poll_, io_msg_drop_);
    m->fd = f;
    m->waiting = 0;
    m->buf = (char *)(uintptr_t)buf; /* sends never store through it */
    m->len = len;
    m->n = 0;
    m->dir = dir;
    m->addressed = addressed;
    m->truncated = 0;
    memset(&m->peer, 0, sizeof m->peer);
}

/* Send one datagram of len bytes to addr (copied: it need not outlive
 * the call): s.n == len. Too big for one datagram: -EMSGSIZE. */
WEFT_API void io_send_to_init(io_send_to_t *s, io_fd_t *f, const void *buf, size_t len,
                              const io_addr_t *addr) {
    io_msg_init_(s, f, buf, len, EXEC_IO_WRITE, 1);
    s->peer = *addr;
}

/* Receive one datagram into buf: r.n bytes (0: an empty datagram), r.peer
 * its sender. A datagram longer than len fills buf and the rest is lost
 * (as recvfrom and tokio): r.n == len and r.truncated is 1. */
WEFT_API void io_recv_from_init(io_recv_from_t *r, io_fd_t *f, void *buf, size_t len) {
    io_msg_init_(r, f, buf, len, EXEC_IO_READ, 1);
}

/* io_send_to to the connected peer (io_dgram_connect, io_socketpair). */
WEFT_API void io_send_init(io_send_t *s, io_fd_t *f, const void *buf, size_t len) {
    io_msg_init_(s, f, buf, len, EXEC_IO_WRITE, 0);
}

/* io_recv_from from the connected peer (r.peer is not filled). */
WEFT_API void io_recv_init(io_recv_t *r, io_fd_t *f, void *buf, size_t len) {
    io_msg_init_(r, f, buf, len, EXEC_IO_READ, 0);
}

/* ---- buffered reading and framing ---------------------------------------
 *
 * tokio's BufReader + read_until / lines, and tokio-util's
 * LengthDelimitedCodec, over an io_fd_t and a buffer the caller owns:
 *
 *     io_reader_init(&f->rd, &f->conn, f->buf, sizeof f->buf);  // char buf[4096]
 *                                       // in the frame: it outlives the AWAITs
 *     for (;;) {
 *         io_read_line_init(&f->line, &f->rd, 1024);
 *         AWAIT_TRY(cx, &f->line);          // -EMSGSIZE: longer than 1024
 *         if (!f->line.data) break;         // the end of the stream
 *         puts(f->line.data);               // no "\n" / "\r\n"; NUL-ended
 *     }
 *
 * A result (data, len) points into the reader's buffer and is consumed
 * already: it stays valid until the next future on the same reader is
 * polled, or io_reader_try_fill / io_reader_rebuffer is called (each may
 * move the buffer's contents). Copy what you keep.
 * At most one future on a reader at a time (they share its buffer), and
 * the reader owns the fd's read side while in use: read the fd only
 * through it (bytes it buffered are not in the fd any more).
 *
 *   io_reader_t         io_reader_init(&r, &fd, buf, cap): no I/O yet
 *   io_read_until_t     io_read_until_init(&u, &r, byte, max)  u.data,
 *                       u.len: up to and including the first `byte`; the
 *                       rest of the stream if it ends first; data 0 at
 *                       the end
 *   io_read_line_t      io_read_line_init(&l, &r, max)  the same for '\n',
 *                       with the "\n" or "\r\n" cut off and a NUL after
 *                       the line (l.len excludes both); max < cap
 *   io_read_frame_t     io_read_frame_init(&fr, &r, hdr, max)  a frame
 *                       with a big-endian length prefix of hdr bytes (1,
 *                       2 or 4): fr.data, fr.len (the payload)
 *   io_write_frame_t    io_write_frame_init(&w, &fd, hdr, data, len)
 *   io_copy_t           io_copy_init(&c, &from, &to, buf, cap)  until
 *                       from's end: c.out bytes
 *   io_reader_buffered(&r, &p) bytes buffered and not consumed (p: them);
 *   io_reader_consume(&r, n) drops n of them (after -EMSGSIZE: skip).
 *   io_fill_t, io_reader_try_fill, io_reader_rebuffer: wait for more
 *                       bytes, read without waiting, move the buffer (see
 *                       "fill, try_fill, rebuffer" below)
 *
 * Errors: -EMSGSIZE (a line with no delimiter in its first max bytes, or
 * more than the buffer holds; a frame longer than max or than the buffer:
 * nothing is consumed, the next call sees the same bytes), IO_EOF (the
 * stream ended inside a frame), -EINVAL (hdr not 1, 2 or 4 or more than
 * the buffer, max 0 for read_until or read_line, max >= cap for a line, a
 * frame to write longer than hdr can say), and io_read's errors. A frame's
 * max may be 0: only empty frames then (a longer one is -EMSGSIZE).
 *
 * Cancel safety
 *   read_until, read_line, read_frame   safe: bytes are consumed only by
 *                       the poll that returns them; a dropped one leaves
 *                       everything it read buffered for the next call
 *   write_frame, copy   NOT safe: w.out / c.out bytes already went out
 *                       (counted to the byte: a write cut short by an
 *                       error or a drop counts what it wrote); copy may
 *                       also drop up to cap bytes read and not yet
 *                       written */

typedef struct io_reader {
    io_fd_t *fd;
    char *buf;
    size_t cap;
    size_t start, end; /* buffered and not consumed: buf[start..end) */
    int eof;           /* the fd returned its end: nothing more will come */
} io_reader_t;

WEFT_API void io_reader_init(io_reader_t *r, io_fd_t *fd, void *buf, size_t cap) {
    r->fd = fd;
    r->buf = (char *)buf;
    r->cap = cap;
    r->start = r->end = 0;
    r->eof = 0;
}

/* The bytes buffered and not yet consumed: how many, and where (*data). */
WEFT_API size_t io_reader_buffered(const io_reader_t *r, const char **data) {
    if (data) *data = r->buf ? r->buf + r->start : r->buf; /* (a zeroed reader) */
    return r->end - r->start;
}

/* Drop n buffered bytes (at most all of them). */
WEFT_API void io_reader_consume(io_reader_t *r, size_t n) {
    size_t have = r->end - r->start;
    r->start += n < have ? n : have;
    if (r->start == r->end) r->start = r->end = 0;
}

/* Read more into the buffer, moving what is there to its front first if
 * it is full at the back: 1 read some (or reached the end: r->eof), 0
 * pending, <0 an error. The caller checked there is room (start > 0 or
 * end < cap). */
WEFT_API int io_reader_fill_(io_reader_t *r, future_cx_t *cx, future_waker_t **waiting) {
    for (;;) {
        ssize_t n;
        int g = io_gate_(r->fd, cx, EXEC_IO_READ, waiting);
        if (g <= 0) return g;
        if (r->end == r->cap && r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        n = io_try_read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n == -EAGAIN) continue; /* not ready after all: the gate waits */
        if (n < 0) return (int)n;
        if (n == 0) r->eof = 1;
        r->end += (size_t)n;
        return 1;
    }
}

/* ---- fill, try_fill, rebuffer: the buffer itself (tokio's AsyncBufRead) ----
 *
 * For a parser of its own: wait for more bytes, look at all of them
 * (io_reader_buffered), consume what it used, and move the rest where it
 * likes. A server can keep idle connections bufferless this way: each
 * reader starts on one shared scratch buffer, and only a leftover (a
 * partial message) is rebuffered into the connection's own storage.
 *
 *   io_fill_t           io_fill_init(&f, &r)  ready when the reader holds
 *                       at least one byte more than at init, or the
 *                       stream ended: f.data, f.len = everything buffered
 *                       (data 0, len 0: the end with nothing buffered);
 *                       nothing is consumed. -EMSGSIZE: the buffer is
 *                       full (consume, or rebuffer into a bigger one)
 *   io_reader_try_fill(&r)  one io_try_read into the free space, no
 *                       waiting: bytes read, 0 at the end, -EAGAIN,
 *                       -EMSGSIZE (full), or io_try_read's errors
 *   io_reader_rebuffer(&r, buf, cap)  the buffered bytes move to the front
 *                       of buf (another buffer, bigger or not, or r's own:
 *                       that compacts it) and r reads into buf from now
 *                       on; the old buffer is the caller's again. 0, or
 *                       -EMSGSIZE (they do not fit: nothing changes)
 *
 * Cancel safety: fill is safe (what it read stays buffered; nothing is
 * consumed). try_fill and rebuffer are not futures. */

/* What every future on a reader starts with (fill, read_until / line,
 * read_frame): one describe, drop and finish serve them all. */
typedef struct io_reader_op_ {
    future_t fut;
    io_reader_t *rd;
    future_waker_t *waiting;
} io_reader_op_;

/* "fd 7 (12 bytes buffered)", after the kind's name */
WEFT_API void io_reader_op_describe_(const future_t *f, future_fmt_t *o) {
    const io_reader_t *r = ((const io_reader_op_ *)(const void *)f)->rd;
    io_fmt_fd_(o, r->fd);
    future_fmt_str(o, " (");
    future_fmt_u64(o, r->end - r->start);
    future_fmt_str(o, " bytes buffered)");
}

WEFT_API void io_reader_op_drop_(future_t *self) {
    io_reader_op_ *op = (io_reader_op_ *)(void *)self;
    io_unwait_(op->rd->fd, EXEC_IO_READ, &op->waiting);
}

/* Done, with rc: the waker goes, the future finishes. */
WEFT_API coro_poll_t io_reader_op_finish_(future_t *self, int rc) {
    io_reader_op_drop_(self);
    return future_finish(self, rc);
}

typedef struct io_fill {
    future_t fut;
    io_reader_t *rd;
    future_waker_t *waiting;
    const char *data; /* the result: everything buffered (0: the end) */
    size_t len;       /* how much */
    size_t had;       /* buffered at init: ready once there is more */
} io_fill_t;

WEFT_API coro_poll_t io_fill_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "fill", io_reader_op_describe_};
    io_fill_t *fl = (io_fill_t *)(void *)self;
    io_reader_t *r = fl->rd;
    int rc = 0;
    for (;;) {
        size_t have = r->end - r->start;
        int g;
        if (have > fl->had || r->eof) {
            fl->len = have;
            fl->data = have ? r->buf + r->start : 0;
            break;
        }
        if (have == r->cap) { /* full: no byte more can come */
            rc = -EMSGSIZE;
            break;
        }
        g = io_reader_fill_(r, cx, &fl->waiting);
        if (g == 0) return io_pending_(self, &kind);
        if (g < 0) {
            rc = g;
            break;
        }
    }
    return io_reader_op_finish_(self, rc);
}

/* More bytes than the reader holds now, or the end. */
WEFT_API void io_fill_init(io_fill_t *fl, io_reader_t *r) {
    future_init(&fl->fut, io_fill_poll_, io_reader_op_drop_);
    fl->rd = r;
    fl->waiting = 0;
    fl->data = 0;
    fl->len = 0;
    fl->had = r->end - r->start;
}

/* One non-blocking read into the free space (the buffered bytes move to
 * the front first if the back is full). */
WEFT_API ssize_t io_reader_try_fill(io_reader_t *r) {
    ssize_t n;
    if (r->end == r->cap && r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) return -EMSGSIZE;
    n = io_try_read(r->fd, r->buf + r->end, r->cap - r->end);
    if (n == 0) r->eof = 1;
    if (n > 0) r->end += (size_t)n;
    return n;
}

/* Move the buffered bytes to the front of buf[0..cap) and read into it
 * from now on (memmove: buf may be r's own buffer, or overlap it). */
WEFT_API int io_reader_rebuffer(io_reader_t *r, void *buf, size_t cap) {
    size_t have = r->end - r->start;
    if (have > cap) return -EMSGSIZE;
    if (have) memmove(buf, r->buf + r->start, have);
    r->buf = (char *)buf;
    r->cap = cap;
    r->start = 0;
    r->end = have;
    return 0;
}

/* ---- read_until, read_line ---- */

typedef struct io_read_until {
    future_t fut;
    io_reader_t *rd;
    future_waker_t *waiting;
    const char *data; /* the result: the line (0: the end of the stream) */
    size_t len;       /* its length */
    size_t max;
    size_t scanned;   /* bytes from rd->start known to hold no delimiter */
    int byte;         /* the delimiter */
    int line;         /* read_line: cut "\n" / "\r\n", add a NUL */
} io_read_until_t;
typedef io_read_until_t io_read_line_t;

/* Hand out n buffered bytes as the result (n = 0 with nothing left: the
 * end), consumed. A line loses its "\n" or "\r\n" and gains a NUL: in
 * the delimiter's place, or after the last byte when the stream ended
 * without one (moved to the front first if the buffer is full: the line
 * is shorter than the buffer). */
WEFT_API void io_read_until_take_(io_read_until_t *u, size_t n) {
    io_reader_t *r = u->rd;
    size_t at;
    if (n == 0) {
        u->data = 0;
        u->len = 0;
        return;
    }
    if (u->line && r->start + n == r->cap && r->buf[r->cap - 1] != '\n') {
        memmove(r->buf, r->buf + r->start, n);
        r->end -= r->start;
        r->start = 0;
    }
    at = r->start;
    u->data = r->buf + at;
    u->len = n;
    r->start += n;
    if (!u->line) return;
    if (u->data[n - 1] == '\n') {
        u->len--;
        if (u->len && u->data[u->len - 1] == '\r') u->len--;
    }
    r->buf[at + u->len] = '\0';
}

WEFT_API coro_poll_t io_read_until_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kinds[2] = {
        {FUTURE_KIND_TAG_, "read_until", io_reader_op_describe_},
        {FUTURE_KIND_TAG_, "read_line", io_reader_op_describe_}};
    io_read_until_t *u = (io_read_until_t *)(void *)self;
    io_reader_t *r = u->rd;
    int rc = 0;
    for (;;) {
        size_t have = r->end - r->start, look = have < u->max ? have : u->max;
        const char *hit;
        int g;
        hit = look > u->scanned ? (const char *)memchr(r->buf + r->start + u->scanned, u->byte,
                                                       look - u->scanned)
                                : 0;
        if (hit) {
            io_read_until_take_(u, (size_t)(hit - (r->buf + r->start)) + 1);
            break;
        }
        u->scanned = look;
        if (r->eof && have <= u->max) { /* the rest, or the end */
            io_read_until_take_(u, have);
            break;
        }
        if (r->eof || have >= u->max || have == r->cap) { /* too long */
            rc = -EMSGSIZE;
            break;
        }
        g = io_reader_fill_(r, cx, &u->waiting);
        if (g == 0) return io_pending_(self, &kinds[u->line]);
        if (g < 0) {
            rc = g;
            break;
        }
    }
    return io_reader_op_finish_(self, rc);
}

WEFT_API coro_poll_t io_invalid_poll_(future_t *self, future_cx_t *cx) {
    (void)cx;
    return future_finish(self, -EINVAL);
}

WEFT_API void io_read_until_setup_(io_read_until_t *u, io_reader_t *r, int byte, size_t max,
                                   int line) {
    future_init(&u->fut, io_read_until_poll_, io_reader_op_drop_);
    u->rd = r;
    u->waiting = 0;
    u->data = 0;
    u->len = 0;
    u->max = max;
    u->scanned = 0;
    u->byte = byte;
    u->line = line;
}

/* The bytes up to and including the first `byte` within max bytes. */
WEFT_API void io_read_until_init(io_read_until_t *u, io_reader_t *r, int byte, size_t max) {
    io_read_until_setup_(u, r, (unsigned char)byte, max, 0);
    if (max == 0) future_init(&u->fut, io_invalid_poll_, 0);
}

/* One line of at most max bytes (its "\n" counted): max < the buffer's
 * size, which keeps room for the NUL. */
WEFT_API void io_read_line_init(io_read_line_t *l, io_reader_t *r, size_t max) {
    io_read_until_setup_(l, r, '\n', max, 1);
    if (max == 0 || max >= r->cap) future_init(&l->fut, io_invalid_poll_, 0);
}

/* ---- length-prefixed frames ---- */

typedef struct io_read_frame {
    future_t fut;
    io_reader_t *rd;
    future_waker_t *waiting;
    const char *data; /* the payload (0: the stream ended between frames) */
    size_t len;       /* its length */
    size_t max;
    unsigned hdr;     /* bytes of length prefix: 1, 2 or 4 */
} io_read_frame_t;

/* The length a big-endian prefix of hdr bytes says. */
WEFT_API size_t io_frame_len_(const char *p, unsigned hdr) {
    size_t n = 0;
    unsigned i;
    for (i = 0; i < hdr; i++) n = (n << 8) | (unsigned char)p[i];
    return n;
}

WEFT_API coro_poll_t io_read_frame_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "read_frame", io_reader_op_describe_};
    io_read_frame_t *fr = (io_read_frame_t *)(void *)self;
    io_reader_t *r = fr->rd;
    int rc = 0;
    for (;;) {
        size_t have = r->end - r->start, need = fr->hdr;
        int g;
        if (have >= fr->hdr) {
            size_t len = io_frame_len_(r->buf + r->start, fr->hdr);
            if (len > fr->max || len > r->cap - fr->hdr) {
                rc = -EMSGSIZE; /* nothing consumed */
                break;
            }
            need += len;
            if (have >= need) {
                fr->data = r->buf + r->start + fr->hdr;
                fr->len = len;
                r->start += need;
                break;
            }
        }
        if (r->eof) { /* clean between frames; IO_EOF inside one */
            if (have) rc = IO_EOF;
            break;
        }
        g = io_reader_fill_(r, cx, &fr->waiting);
        if (g == 0) return io_pending_(self, &kind);
        if (g < 0) {
            rc = g;
            break;
        }
    }
    return io_reader_op_finish_(self, rc);
}

/* Is hdr a prefix width frames support (1, 2 or 4)? */
WEFT_API int io_frame_hdr_ok_(unsigned hdr) { return hdr == 1 || hdr == 2 || hdr == 4; }

/* A frame of at most max payload bytes, after a hdr-byte length. */
WEFT_API void io_read_frame_init(io_read_frame_t *fr, io_reader_t *r, unsigned hdr, size_t max) {
    future_init(&fr->fut,
                io_frame_hdr_ok_(hdr) && r->cap >= hdr ? io_read_frame_poll_ : io_invalid_poll_,
                io_reader_op_drop_);
    fr->rd = r;
    fr->waiting = 0;
    fr->data = 0;
    fr->len = 0;
    fr->max = max;
    fr->hdr = hdr;
}

/* Writing one: the prefix, then the payload (write_all twice). */
typedef struct io_write_frame {
    future_t fut;
    io_fd_t *fd;
    const char *data;
    size_t len;
    size_t out;        /* bytes written, prefix included */
    unsigned hdr;
    char prefix[4];
    io_write_all_t wr;
} io_write_frame_t;

/* w.out after the write in flight ended (done, failed or dropped): what
 * went of the prefix, or all of it and what went of the payload. */
WEFT_API void io_write_frame_count_(io_write_frame_t *w) {
    w->out = (w->wr.buf == w->prefix ? 0 : w->hdr) + w->wr.out;
}

WEFT_API coro_poll_t io_write_frame_poll_(future_t *self, future_cx_t *cx) {
    io_write_frame_t *w = (io_write_frame_t *)(void *)self;
    ASYNC_BEGIN(w);
    AWAIT(cx, &w->wr); /* the prefix (set up by the init) */
    io_write_frame_count_(w);
    if (future_err(&w->wr) < 0) ASYNC_RETURN(future_err(&w->wr));
    if (w->len) {
        io_write_all_init(&w->wr, w->fd, w->data, w->len);
        AWAIT(cx, &w->wr);
        io_write_frame_count_(w);
        if (future_err(&w->wr) < 0) ASYNC_RETURN(future_err(&w->wr));
    }
    ASYNC_END();
}

/* Dropped: the write in flight (dropped before us) counts what it wrote. */
WEFT_API void io_write_frame_drop_(future_t *self) {
    io_write_frame_t *w = (io_write_frame_t *)(void *)self;
    if (future_err(&w->wr) == FUTURE_ECANCELED) io_write_frame_count_(w);
}

/* Write len bytes of data as one frame with a hdr-byte big-endian length
 * (-EINVAL: hdr not 1, 2 or 4, or len too long for it). */
WEFT_API void io_write_frame_init(io_write_frame_t *w, io_fd_t *fd, unsigned hdr, const void *data,
                                  size_t len) {
    unsigned i;
    int ok = io_frame_hdr_ok_(hdr) && (hdr == sizeof(size_t) || (len >> (8 * hdr)) == 0);
    future_init(&w->fut, ok ? io_write_frame_poll_ : io_invalid_poll_,
                ok ? io_write_frame_drop_ : 0);
    w->fd = fd;
    w->data = (const char *)data;
    w->len = len;
    w->out = 0;
    w->hdr = hdr;
    for (i = 0; i < 4 && i < hdr; i++) w->prefix[i] = (char)(len >> (8 * (hdr - 1 - i)));
    io_write_all_init(&w->wr, fd, w->prefix, ok ? hdr : 0);
}

/* ---- copy ---- */

typedef struct io_copy {
    future_t fut;
    io_fd_t *from, *to;
    char *buf;
    size_t cap;
    size_t out;  /* bytes written to `to` */
    io_read_t rd;
    io_write_all_t wr;
} io_copy_t;

WEFT_API coro_poll_t io_copy_poll_(future_t *self, future_cx_t *cx) {
    io_copy_t *c = (io_copy_t *)(void *)self;
    ASYNC_BEGIN(c);
    for (;;) {
        io_read_init(&c->rd, c->from, c->buf, c->cap);
        AWAIT_TRY(cx, &c->rd);
        if (c->rd.n == 0) break;
        io_write_all_init(&c->wr, c->to, c->buf, c->rd.n);
        AWAIT(cx, &c->wr);
        c->out += c->wr.n;
        if (future_err(&c->wr)) ASYNC_RETURN(future_err(&c->wr));
    }
    ASYNC_END();
}

/* Dropped while it wrote (the write, dropped first, is cancelled): what
 * that write got out counts too. */
WEFT_API void io_copy_drop_(future_t *self) {
    io_copy_t *c = (io_copy_t *)(void *)self;
    if (future_err(&c->wr) == FUTURE_ECANCELED) c->out += c->wr.n;
}

/* Copy everything from `from` to `to`, through buf, until from's end. */
WEFT_API void io_copy_init(io_copy_t *c, io_fd_t *from, io_fd_t *to, void *buf, size_t cap) {
    future_init(&c->fut, cap ? io_copy_poll_ : io_invalid_poll_, cap ? io_copy_drop_ : 0);
    c->from = from;
    c->to = to;
    c->buf = (char *)buf;
    c->cap = cap;
    c->out = 0;
    io_write_all_init(&c->wr, to, buf, 0); /* no write yet (for the drop) */
}

/* ---- names: resolve, connect by name ------------------------------------
 *
 * tokio's lookup_host and TcpStream::connect(("example.com", 443)), with
 * RFC 8305 "happy eyeballs" for the connect:
 *
 *     io_resolve_init(&f->res, &pool, "example.com", 443, f->addrs, 8);
 *     AWAIT_TRY(cx, &f->res);            // -ENOENT: no such name
 *     ...                                // f->addrs[0..f->res.n): an
 *                                        // io_addr_t addrs[8] in the frame
 *     io_connect_name_init(&f->cn, &f->conn, &pool, "example.com", 443);
 *     timer_timeout_init(&f->limit, &f->cn, 10 * TIMER_SEC);
 *     AWAIT_TRY(cx, &f->limit);          // -ETIMEDOUT, -ECONNREFUSED, ...
 *     ...                                // f->conn is open; f->cn.addr won
 *
 *   io_resolve_t   io_resolve_init(&r, &pool, host, port, out, cap): the
 *                  addresses of host (port set in each) into out[0..cap),
 *                  how many in r.n (1..cap; more are left out, but
 *                  neither family is crowded out: each keeps up to half
 *                  of cap), in the resolver's order (getaddrinfo's: RFC
 *                  6724's preference).
 *                  A numeric host ("10.0.0.1", "::1"; 0: 127.0.0.1) is
 *                  io_addr_parse's, at the first poll: no pool job, no
 *                  allocation, r.n == 1. A name runs the resolver as a job
 *                  on pool (blocking.h): the executor never blocks on DNS.
 *   io_connect_name_t  io_connect_name_init(&c, &f, &pool, host, port):
 *                  resolve host (up to IO_CONNECT_MAX_ADDRS addresses),
 *                  then connect f to one of them (f as io_connect's: init
 *                  marks it closed, it is opened only by a win). c.addr is
 *                  the address that won; c.attempts how many were started.
 *   io_resolver_fn the resolver: fn(ctx, host, port, out, cap) writes up to
 *                  cap addresses and returns how many (0 counts as
 *                  -ENOENT), or a negative error. Set r.resolver /
 *                  r.resolver_ctx (or c.resolver / c.resolver_ctx) after
 *                  init, before the first poll; 0 is io_resolver_getaddrinfo
 *                  (SOCK_STREAM, AF_UNSPEC, no AI_ADDRCONFIG: as Rust's
 *                  std, IPv6 answers come even without an IPv6 route, and
 *                  happy eyeballs moves past them). A stub maps test names to
 *                  loopback addresses, a cache answers without the network.
 *                  It runs on a pool thread, maybe after the future is gone
 *                  (see below): ctx must outlive the pool's jobs.
 *
 * Happy eyeballs (RFC 8305, section 4 and 5): the addresses are taken IPv6
 * first, then the families alternate (v6, v4, v6, v4, ..., the rest of the
 * longer list last), each family in the resolver's order. (The lookup
 * gives both families at once, so RFC 8305's resolution delay has nothing
 * to wait for.) The first attempt (an io_connect_t) starts at once; the
 * next starts c.delay_ns after the latest one started (the "connection
 * attempt delay": IO_CONNECT_DELAY_MS, 250 ms, by default; set it before
 * the first poll; 0 starts them all at once), or as soon as an attempt
 * fails, whichever is first. Attempts already
 * started keep going: the first to connect wins, and the others are
 * dropped (their sockets closed). At most IO_CONNECT_MAX_ATTEMPTS are in
 * flight at once: with every slot taken, the next address waits for one
 * to fail. When every address has failed, the error is the last failure's
 * (the one to fail last in time). There is no deadline of its own (a
 * connect that hangs waits for the kernel's SYN retries, about two
 * minutes on Linux): put it under timer_timeout, as io_connect.
 *
 * Errors: the resolver's, as negative errno values. getaddrinfo's EAI_*
 * codes map through io_eai_errno: EAI_NONAME (and glibc's EAI_NODATA,
 * EAI_ADDRFAMILY) -ENOENT: no such name, or no address for it;
 * EAI_AGAIN -EAGAIN: the name server did not answer, try again later;
 * EAI_FAIL -EIO: it failed for good; EAI_MEMORY -ENOMEM; EAI_SYSTEM
 * -errno; EAI_FAMILY, EAI_SOCKTYPE, EAI_BADFLAGS, EAI_SERVICE -EINVAL;
 * anything else -EIO. Also -EINVAL (a port outside 0..65535; out 0 or cap
 * 0, or a name with no pool: misuse, reported), -ENOMEM (the request
 * below), the pool's -EAGAIN (queue full) and -ECANCELED (shut down), and
 * io_connect's errors for the attempts.
 *
 * The lookup's job is *detached* (blocking_init), not scoped: getaddrinfo
 * cannot be interrupted and may take the resolver's whole timeout
 * (seconds), and a scoped drop would block the executor that long. So the
 * job must not write into the future: at its first poll a name's lookup
 * allocates one request (malloc: the host copied, cap result slots), the
 * job's own memory. The resolver writes into it; the poll that finds the
 * job done copies the addresses into out and frees it. A drop while the
 * job runs returns at once and leaves the request to the job: whichever
 * of the two lets go last (an atomic exchange) frees it, so a late result
 * is discarded and nothing is written into the dropped frame or out.
 * That malloc is the one allocation (getaddrinfo makes its own); a numeric
 * host and the connect attempts allocate nothing.
 *
 * Cancel safety
 *   resolve          safe: nothing is written into out or the frame after
 *                    a drop; a job still running finishes on its pool
 *                    thread, its result discarded (the pool's shutdown
 *                    joins it). A queued job never runs.
 *   connect_name     safe: the lookup as above; every attempt's socket is
 *                    closed, f stays closed. A peer may have seen a
 *                    connection open and close (as with io_connect).
 *
 * While one waits, exec_dump says "resolve example.com:443" over its
 * spawn_blocking job, and "connect_name example.com:443 (resolving)" or
 * "(2 attempts in flight, 3 of 4 addresses tried)" over the attempts
 * ("connect fd 9 to [2001:db8::1]:443") and the delay's sleep.
 *
 * Memory (x86-64): io_resolve_t 288 bytes (a blocking_t in it);
 * io_connect_name_t 2312 with the defaults (2376 under the poll
 * backend): IO_CONNECT_MAX_ADDRS addresses of 136 bytes, and
 * IO_CONNECT_MAX_ATTEMPTS io_connect_t and io_fd_t. The request of a
 * name's lookup: about 60 bytes, cap * 136, and the name. */

#ifndef IO_CONNECT_MAX_ATTEMPTS
#define IO_CONNECT_MAX_ATTEMPTS 4 /* connect attempts in flight at once */
#endif
#ifndef IO_CONNECT_MAX_ADDRS
#define IO_CONNECT_MAX_ADDRS 8 /* addresses io_connect_name keeps and tries */
#endif
#ifndef IO_CONNECT_DELAY_MS
#define IO_CONNECT_DELAY_MS 250 /* RFC 8305's connection attempt delay */
#endif
#if IO_CONNECT_MAX_ATTEMPTS < 1 || IO_CONNECT_MAX_ATTEMPTS > 255 ||                \
    IO_CONNECT_MAX_ADDRS < 1 || IO_CONNECT_MAX_ADDRS > 255
#error "IO_CONNECT_MAX_ATTEMPTS and IO_CONNECT_MAX_ADDRS must be 1 to 255"
#endif

/* Names to addresses: write up to cap addresses of host, with port set,
 * into out; return how many, or a negative errno value. Runs on a pool
 * thread. */
typedef int (*io_resolver_fn)(void *ctx, const char *host, int port, io_addr_t *out,
                              size_t cap);

/* getaddrinfo's EAI_* code as a negative errno value (see above). */
WEFT_API int io_eai_errno(int eai) {
    switch (eai) {
    case 0:
        return 0;
    case EAI_NONAME:
#if defined(EAI_NODATA) && EAI_NODATA != EAI_NONAME
    case EAI_NODATA:
#endif
#if defined(EAI_ADDRFAMILY) && EAI_ADDRFAMILY != EAI_NONAME
    case EAI_ADDRFAMILY:
#endif
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return errno > 0 ? -errno : -EIO;
    case EAI_FAMILY:
    case EAI_SOCKTYPE:
    case EAI_BADFLAGS:
    case EAI_SERVICE:
        return -EINVAL;
    default: /* EAI_FAIL, and what a system adds */
        return -EIO;
    }
}

/* The default resolver: getaddrinfo(host) for stream sockets of any
 * family, IPv4 and IPv6 addresses only, port set here (no service name
 * is looked up). ctx is unused. */
/* getaddrinfo's list into out[0..cap), port set, in the list's order: how
 * many. When there are more than cap, neither family is crowded out: each
 * keeps up to half of cap (more if the other has fewer), so that happy
 * eyeballs still has an IPv4 address to fall back on after ten AAAA
 * records (and the reverse). */
WEFT_API size_t io_addrinfo_take_(const struct addrinfo *res, int port, io_addr_t *out,
                                  size_t cap) {
    const struct addrinfo *ai;
    size_t n = 0, n4 = 0, n6 = 0, keep4, keep6;
    for (ai = res; ai; ai = ai->ai_next) {
        n4 += ai->ai_family == AF_INET;
        n6 += ai->ai_family == AF_INET6;
    }
    keep4 = n6 < cap - cap / 2 ? cap - n6 : cap / 2; /* the room v6 leaves, */
    if (keep4 > n4) keep4 = n4;                      /* at least half */
    keep6 = cap - keep4;
    for (ai = res; ai && n < cap; ai = ai->ai_next) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&out[n].ss;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&out[n].ss;
        if (ai->ai_family == AF_INET ? keep4 == 0 : ai->ai_family != AF_INET6 || keep6 == 0)
            continue;
        if (ai->ai_family == AF_INET) keep4--;
        else keep6--;
        memset(&out[n], 0, sizeof out[n]);
        memcpy(&out[n].ss, ai->ai_addr, ai->ai_addrlen);
        out[n].len = (socklen_t)ai->ai_addrlen;
        if (ai->ai_family == AF_INET) v4->sin_port = io_port_to_net_(port);
        else v6->sin6_port = io_port_to_net_(port);
        n++;
    }
    return n;
}

WEFT_API int io_resolver_getaddrinfo(void *ctx, const char *host, int port, io_addr_t *out,
                                     size_t cap) {
    struct addrinfo hints, *res = 0;
    size_t n;
    int rc;
    (void)ctx;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, 0, &hints, &res);
    if (rc) return io_eai_errno(rc);
    n = io_addrinfo_take_(res, port, out, cap);
    freeaddrinfo(res);
    return n ? (int)n : -ENOENT;
}

/* The lookup's own memory (see above): the job's while it runs, freed by
 * whichever of the job and the future lets go last. */
typedef struct io_resolve_req_ {
    io_resolver_fn fn;
    void *ctx;
    char *host;  /* a copy, after the result slots */
    size_t cap;
    int port;
    int rc;      /* the resolver's: how many, or the error */
    int gone;    /* atomic: the first of the two to let go sets it */
    io_addr_t first; /* the first of cap result slots */
} io_resolve_req_t_;

typedef struct io_resolve {
    future_t fut;
    size_t n;                 /* addresses in out[0..n), once ready */
    io_resolver_fn resolver;  /* 0: io_resolver_getaddrinfo; set before */
    void *resolver_ctx;       /* the first poll */
    /* private */
    blocking_pool_t *pool;
    const char *host;
    int port;
    io_addr_t *out;
    size_t cap;
    io_resolve_req_t_ *req;   /* while the job is submitted */
    blocking_t job;
} io_resolve_t;

/* The job: resolve into the request, then let go of it. */
WEFT_API int64_t io_resolve_job_(void *arg, blocking_job_t *job) {
    io_resolve_req_t_ *q = (io_resolve_req_t_ *)arg;
    int rc = q->fn(q->ctx, q->host, q->port, &q->first, q->cap);
    (void)job;
    q->rc = rc == 0 ? -ENOENT : rc > (int)q->cap ? (int)q->cap : rc;
    if (EXEC_XCHG_(&q->gone, 1)) free(q); /* the future was dropped first */
    return 0; /* q is not touched after the exchange */
}

/* "example.com:443" (only while it waits: the request is there) */
WEFT_API void io_resolve_describe_(const future_t *f, future_fmt_t *o) {
    const io_resolve_t *r = (const io_resolve_t *)(const void *)f;
    future_fmt_str(o, r->req->host);
    future_fmt_str(o, ":");
    future_fmt_u64(o, (unsigned)r->port);
}

/* First poll of a name: the request and its job. 0, or -ENOMEM. */
WEFT_API int io_resolve_start_(io_resolve_t *r) {
    size_t hl = strlen(r->host);
    io_resolve_req_t_ *q = (io_resolve_req_t_ *)malloc(sizeof *q + (r->cap - 1) * sizeof(io_addr_t) + hl + 1);
    if (!q) return -ENOMEM;
    q->fn = r->resolver ? r->resolver : io_resolver_getaddrinfo;
    q->ctx = r->resolver_ctx;
    q->cap = r->cap;
    q->port = r->port;
    q->rc = 0;
    q->gone = 0;
    q->host = (char *)(&q->first + r->cap);
    memcpy(q->host, r->host, hl + 1);
    r->req = q;
    blocking_init(&r->job, r->pool, io_resolve_job_, q);
    return 0;
}

WEFT_API coro_poll_t io_resolve_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "resolve", io_resolve_describe_};
    io_resolve_t *r = (io_resolve_t *)(void *)self;
    io_resolve_req_t_ *q = r->req;
    int rc;
    if (!q) {
        if (!r->out || !r->cap) {
            FUTURE_MISUSE("io_resolve with no room for an address: give it an "
                          "io_addr_t array and its length (cap >= 1)");
            return future_finish(self, -EINVAL);
        }
        if (r->port < 0 || r->port > 65535) return future_leaf_ready(self, cx, -EINVAL);
        if (io_addr_parse(&r->out[0], r->host, r->port) == 0) { /* numeric: no job */
            r->n = 1;
            return future_leaf_ready(self, cx, 0);
        }
        if (!r->pool) {
            FUTURE_MISUSE("io_resolve of a host name without a blocking_pool_t: "
                          "give it a pool (only a numeric host needs none)");
            return future_finish(self, -EINVAL);
        }
        if ((rc = io_resolve_start_(r)) < 0) return future_leaf_ready(self, cx, rc);
        q = r->req;
        self->child = &r->job.fut;
        r->job.fut.sibling = 0;
    }
    if (future_poll(&r->job.fut, cx) == CORO_PENDING) return io_pending_(self, &kind);
    self->child = 0;
    rc = future_err(&r->job.fut) < 0 ? future_err(&r->job.fut) : q->rc;
    if (rc > 0) {
        memcpy(r->out, &q->first, (size_t)rc * sizeof *r->out);
        r->n = (size_t)rc;
        rc = 0;
    }
    r->req = 0;
    free(q); /* the job has let go (it ran), or never ran */
    return future_finish(self, rc);
}

#ifndef IO_RESOLVE_LETGO_HOOK_
#define IO_RESOLVE_LETGO_HOOK_(r) ((void)0) /* a test hook: the job ends here */
#endif

/* The job's drop came first (it is our child): it is unlinked, done, or
 * left running detached. Only a detached one may still hold q. */
WEFT_API void io_resolve_drop_(future_t *self) {
    io_resolve_t *r = (io_resolve_t *)(void *)self;
    io_resolve_req_t_ *q = r->req;
    if (!q) return;
    r->req = 0;
    future_drop(&r->job.fut); /* done already when it was our child */
    IO_RESOLVE_LETGO_HOOK_(r);
    if (!r->job.detached || EXEC_XCHG_(&q->gone, 1)) free(q);
}

/* Resolve host into out[0..cap) (r.n of them), port set in each. A numeric
 * host needs no pool (pool may be 0); a name runs r.resolver on pool.
 * host must stay valid until the first poll (a name is copied there). */
WEFT_API void io_resolve_init(io_resolve_t *r, blocking_pool_t *pool, const char *host,
                              int port, io_addr_t *out, size_t cap) {
    future_init(&r->fut, io_resolve_poll_, io_resolve_drop_);
    r->n = 0;
    r->resolver = 0;
    r->resolver_ctx = 0;
    r->pool = pool;
    r->host = host;
    r->port = port;
    r->out = out;
    r->cap = cap;
    r->req = 0;
}

/* ---- connect by name: happy eyeballs ---- */

typedef struct io_connect_name {
    future_t fut;
    io_addr_t addr;           /* the address that won, once ready */
    unsigned attempts;        /* attempts started */
    uint64_t delay_ns;        /* connection attempt delay (before the */
    io_resolver_fn resolver;  /* first poll), and the resolver, as */
    void *resolver_ctx;       /* io_resolve_t's */
    /* private */
    io_fd_t *fd;
    blocking_pool_t *pool;
    const char *host;
    int port;
    int last_err;             /* the latest attempt's failure */
    unsigned char state;      /* 0 not started, 1 resolving, 2 connecting */
    unsigned char armed;      /* delay is polled and not done */
    unsigned char due;        /* start the next attempt: the lookup done, a
                                 failure, or the delay ran out */
    unsigned char nlive;      /* attempts in flight */
    unsigned char naddr, next; /* addresses; the next to try (in order) */
    unsigned char order[IO_CONNECT_MAX_ADDRS];    /* happy eyeballs order */
    unsigned char live[IO_CONNECT_MAX_ATTEMPTS];  /* slot in flight */
    unsigned char which[IO_CONNECT_MAX_ATTEMPTS]; /* its address (addrs[]) */
    io_resolve_t res;
    timer_sleep_t delay;
    io_addr_t addrs[IO_CONNECT_MAX_ADDRS];
    io_connect_t att[IO_CONNECT_MAX_ATTEMPTS];
    io_fd_t afd[IO_CONNECT_MAX_ATTEMPTS]; /* slot 0 connects the caller's f */
} io_connect_name_t;

/* RFC 8305's order: IPv6 first, then the families alternate; each family
 * keeps the resolver's order, the longer list's rest comes last. */
WEFT_API void io_connect_name_order_(io_connect_name_t *c) {
    unsigned k = 0, v6 = 0, v4 = 0, n = c->naddr;
    int want6 = 1;
    while (k < n) {
        unsigned *at = want6 ? &v6 : &v4;
        while (*at < n && (c->addrs[*at].ss.ss_family == AF_INET6) != want6) (*at)++;
        if (*at < n) c->order[k++] = (unsigned char)(*at)++;
        want6 = !want6;
    }
}

/* "example.com:443 (resolving)", "(2 attempts in flight, 3 of 4 addresses
 * tried)" */
WEFT_API void io_connect_name_describe_(const future_t *f, future_fmt_t *o) {
    const io_connect_name_t *c = (const io_connect_name_t *)(const void *)f;
    future_fmt_str(o, c->host ? c->host : "127.0.0.1");
    future_fmt_str(o, ":");
    future_fmt_u64(o, (unsigned)c->port);
    if (c->state == 1) {
        future_fmt_str(o, " (resolving)");
        return;
    }
    future_fmt_str(o, " (");
    future_fmt_u64(o, c->nlive);
    future_fmt_str(o, c->nlive == 1 ? " attempt in flight, " : " attempts in flight, ");
    future_fmt_u64(o, c->next);
    future_fmt_str(o, " of ");
    future_fmt_u64(o, c->naddr);
    future_fmt_str(o, " addresses tried)");
}

/* Start the next address in a free slot, and the delay for the one after. */
WEFT_API void io_connect_name_start_(io_connect_name_t *c) {
    unsigned s = 0;
    while (c->live[s]) s++; /* the caller saw a free one */
    c->which[s] = c->order[c->next++];
    io_connect_init(&c->att[s], s ? &c->afd[s] : c->fd, &c->addrs[c->which[s]]);
    c->live[s] = 1;
    c->nlive++;
    c->attempts++;
    c->due = 0;
    if (c->armed) future_drop(&c->delay.fut); /* the delay restarts from now */
    c->armed = 0;
    if (c->next < c->naddr) {
        timer_sleep_init(&c->delay, c->delay_ns);
        c->armed = 1;
    }
}

/* Poll every attempt in flight: 1 slot *won connected, 0 none yet (the
 * failed ones are out of flight, and `due` asks for the next). */
WEFT_API int io_connect_name_poll_attempts_(io_connect_name_t *c, future_cx_t *cx,
                                             unsigned *won) {
    unsigned s;
    for (s = 0; s < IO_CONNECT_MAX_ATTEMPTS; s++) {
        if (!c->live[s] || future_poll(&c->att[s].fut, cx) == CORO_PENDING) continue;
        c->live[s] = 0;
        c->nlive--;
        if (future_err(&c->att[s].fut) == 0) {
            *won = s;
            return 1;
        }
        c->last_err = future_err(&c->att[s].fut);
        c->due = 1;
    }
    return 0;
}

/* Drop whatever is in flight: the lookup, the attempts, the delay. */
WEFT_API void io_connect_name_drop_(future_t *self) {
    io_connect_name_t *c = (io_connect_name_t *)(void *)self;
    unsigned s;
    self->child = 0;
    if (c->state == 1) future_drop(&c->res.fut);
    for (s = 0; s < IO_CONNECT_MAX_ATTEMPTS; s++)
        if (c->live[s]) future_drop(&c->att[s].fut); /* closes its socket */
    memset(c->live, 0, sizeof c->live);
    c->nlive = 0;
    if (c->armed) future_drop(&c->delay.fut);
    c->armed = 0;
    c->state = 0;
}

/* The winner in slot s: the others dropped; a winner outside slot 0 moves
 * to the caller's f (registered again: its fd in the frame must go). */
WEFT_API coro_poll_t io_connect_name_win_(io_connect_name_t *c, future_cx_t *cx, unsigned s) {
    int rc = 0;
    c->addr = c->addrs[c->which[s]];
    io_connect_name_drop_(&c->fut);
    if (s) {
        int fd = io_fd_detach(&c->afd[s]);
        rc = io_fd_setup_(c->fd, exec_of(cx), fd, IO_FD_SOCKET_ | IO_FD_STREAM_);
        if (rc < 0) close(fd);
    }
    return future_finish(&c->fut, rc);
}

/* Link what is in flight as our children: drop and the backtrace. */
WEFT_API coro_poll_t io_connect_name_pending_(io_connect_name_t *c) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "connect_name",
                                       io_connect_name_describe_};
    future_t *kids[IO_CONNECT_MAX_ATTEMPTS + 1];
    size_t n = 0;
    unsigned s;
    if (c->state == 1) kids[n++] = &c->res.fut;
    for (s = 0; s < IO_CONNECT_MAX_ATTEMPTS; s++)
        if (c->live[s]) kids[n++] = &c->att[s].fut;
    if (c->armed) kids[n++] = &c->delay.fut;
    future_adopt_list_(&c->fut, kids, n);
    return io_pending_(&c->fut, &kind);
}

WEFT_API coro_poll_t io_connect_name_poll_(future_t *self, future_cx_t *cx) {
    io_connect_name_t *c = (io_connect_name_t *)(void *)self;
    unsigned won;
    self->child = 0; /* relinked before a pending return */
    if (c->state == 0) {
        io_resolve_init(&c->res, c->pool, c->host, c->port, c->addrs, IO_CONNECT_MAX_ADDRS);
        c->res.resolver = c->resolver;
        c->res.resolver_ctx = c->resolver_ctx;
        c->state = 1;
    }
    if (c->state == 1) {
        if (future_poll(&c->res.fut, cx) == CORO_PENDING) return io_connect_name_pending_(c);
        c->state = 2;
        if (future_err(&c->res.fut) < 0) return future_finish(self, future_err(&c->res.fut));
        c->naddr = (unsigned char)c->res.n;
        io_connect_name_order_(c);
        c->due = 1;
    }
    for (;;) {
        if (io_connect_name_poll_attempts_(c, cx, &won)) return io_connect_name_win_(c, cx, won);
        if (c->due && c->next < c->naddr && c->nlive < IO_CONNECT_MAX_ATTEMPTS) {
            io_connect_name_start_(c);
            continue; /* poll it now: it may fail at once */
        }
        if (!c->nlive) return future_finish(self, c->last_err); /* every one failed */
        if (c->armed && future_poll(&c->delay.fut, cx) == CORO_READY) {
            c->armed = 0;
            c->due = 1;
            continue;
        }
        return io_connect_name_pending_(c);
    }
}

/* Connect f to host:port (see above): resolve on pool (a numeric host
 * needs no pool), then happy eyeballs over the addresses. f is marked
 * closed here and opened only by a win. host must stay valid until c is
 * done (exec_dump shows it). */
WEFT_API void io_connect_name_init(io_connect_name_t *c, io_fd_t *f, blocking_pool_t *pool,
                                   const char *host, int port) {
    future_init(&c->fut, io_connect_name_poll_, io_connect_name_drop_);
    memset(&c->addr, 0, sizeof c->addr);
    c->attempts = 0;
    c->delay_ns = (uint64_t)IO_CONNECT_DELAY_MS * TIMER_MS;
    c->resolver = 0;
    c->resolver_ctx = 0;
    c->fd = f;
    c->pool = pool;
    c->host = host;
    c->port = port;
    c->last_err = -ENOENT;
    c->state = c->armed = c->due = c->nlive = c->naddr = c->next = 0;
    memset(c->live, 0, sizeof c->live);
    io_fd_clear_(f);
}

/* ---- signals ------------------------------------------------------------- */

typedef struct io_signal {
    io_fd_t fd;    /* the signalfd, or the self-pipe's read end */
    sigset_t set;  /* the signals received */
#ifdef IO_SIGNALFD_
    sigset_t old;  /* the thread's mask before open */
#else
    struct io_signal *next; /* in io_signal_global_.list (atomic) */
    int wfd;                /* the self-pipe's write end */
    int nsaved;
    struct {
        int signo;
        struct sigaction act; /* its action before the first handle on it */
    } saved[IO_SIGNAL_MAX];   /* one per signal of set */
#endif
} io_signal_t;

/* s closed, set (0: SIGINT and SIGTERM) stored. */
WEFT_API void io_signal_clear_(io_signal_t *s, const sigset_t *set) {
    io_fd_clear_(&s->fd);
    if (set) s->set = *set;
    else {
        sigemptyset(&s->set);
        sigaddset(&s->set, SIGINT);
        sigaddset(&s->set, SIGTERM);
    }
}

#ifdef IO_SIGNALFD_
typedef struct signalfd_siginfo io_signal_msg_; /* what one read gives */
#define IO_SIGNAL_NO_(m) ((int)(m).ssi_signo)

/* Block set's signals in this thread (0: SIGINT and SIGTERM) and receive
 * them as io_signal_recv futures: tokio::signal::ctrl_c, for graceful
 * shutdown. 0 or -errno. Children inherit the blocked mask: spawn them
 * with exec_spawnattr_init, or exec_child_sigreset() after fork(). */
WEFT_API int io_signal_open(io_signal_t *s, exec_t *ex, const sigset_t *set) {
    int fd, rc;
    io_signal_clear_(s, set);
    rc = pthread_sigmask(SIG_BLOCK, &s->set, &s->old);
    if (rc) return -rc;
    fd = signalfd(-1, &s->set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        pthread_sigmask(SIG_SETMASK, &s->old, 0);
        return rc;
    }
    rc = io_fd_setup_(&s->fd, ex, fd, 0);
    if (rc < 0) {
        close(fd);
        pthread_sigmask(SIG_SETMASK, &s->old, 0);
    }
    return rc;
}

/* Discard the signals still pending, close, unblock what open blocked. */
WEFT_API int io_signal_close(io_signal_t *s) {
    struct signalfd_siginfo si;
    sigset_t unblock;
    int fd = s->fd.io.fd, rc, sig;
    if (fd < 0) return 0;
    while (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {}
    rc = io_fd_close(&s->fd);
    /* Unblock only what open blocked: restoring the whole old mask would
     * unblock another open handle's signals (or the app's since). */
    sigemptyset(&unblock);
    for (sig = 1; sig < NSIG; sig++)
        if (sigismember(&s->set, sig) == 1 && sigismember(&s->old, sig) != 1)
            sigaddset(&unblock, sig);
    pthread_sigmask(SIG_UNBLOCK, &unblock, 0);
    return rc;
}

#else /* no signalfd: a handler and a self-pipe ("Signals without signalfd") */
typedef unsigned char io_signal_msg_; /* the handler writes the number */
#define IO_SIGNAL_NO_(m) ((int)(m))

/* What the handler needs to find the pipes, and nothing else: every open
 * io_signal_t. Weak, so that one copy serves the whole process (every
 * file that includes io.h, static or extern inline builds alike). */
typedef struct io_signal_state_ {
    io_signal_t *list; /* the open handles, newest first (atomic) */
    int walking;       /* handlers walking the list now (atomic) */
    int lock;          /* held by open and close while they change it */
} io_signal_state_t_;
/* (visibility default: a shared library built with -fvisibility=hidden
 * must still share the one copy with the program and other libraries) */
__attribute__((weak, visibility("default"))) io_signal_state_t_ io_signal_global_;

/* Async-signal-safe: atomic loads, sigismember and write(2) on a
 * non-blocking pipe. A full pipe (the loop thousands behind) loses this
 * delivery, for that handle. */
WEFT_API void io_signal_handler_(int sig) {
    int e = errno;
    unsigned char b = (unsigned char)sig;
    io_signal_t *s;
    EXEC_ADD_(&io_signal_global_.walking, 1);
    for (s = EXEC_LOAD_(&io_signal_global_.list); s; s = EXEC_LOAD_(&s->next))
        if (sigismember(&s->set, sig) == 1) {
            ssize_t n = write(s->wfd, &b, 1);
            (void)n;
        }
    EXEC_ADD_(&io_signal_global_.walking, -1);
    errno = e;
}

/* A spin lock: open and close are rare and short, and a handler never
 * takes it (it would deadlock against the code it interrupted). */
WEFT_API void io_signal_lock_(int lock) {
    if (!lock) EXEC_STORE_(&io_signal_global_.lock, 0);
    else
        while (EXEC_XCHG_(&io_signal_global_.lock, 1)) sched_yield();
}

/* Another open handle's copy of sig's action from before the first
 * handle, or 0: no other handle watches sig. Under the lock. */
WEFT_API const struct sigaction *io_signal_other_(const io_signal_t *s, int sig) {
    const io_signal_t *o;
    int i;
    for (o = io_signal_global_.list; o; o = o->next)
        for (i = 0; o != s && i < o->nsaved; i++)
            if (o->saved[i].signo == sig) return &o->saved[i].act;
    return 0;
}

/* Let go of s's first n signals: the last handle on one puts its old
 * action back. Under the lock. */
WEFT_API void io_signal_restore_(io_signal_t *s, int n) {
    int i;
    for (i = 0; i < n; i++)
        if (!io_signal_other_(s, s->saved[i].signo))
            sigaction(s->saved[i].signo, &s->saved[i].act, 0);
}

/* Take s out of the list (under the lock), wait until no handler can
 * still be about to write to its pipe, close both ends. */
WEFT_API int io_signal_finish_(io_signal_t *s) {
    io_signal_t **pp = &io_signal_global_.list;
    while (*pp && *pp != s) pp = &(*pp)->next;
    if (*pp) EXEC_STORE_(pp, s->next);
    io_signal_lock_(0);
    /* A handler that loaded s before the store may still write to wfd:
     * wait for it. One on this thread has returned already. */
    while (EXEC_LOAD_(&io_signal_global_.walking)) sched_yield();
    close(s->wfd);
    s->wfd = -1;
    return io_fd_close(&s->fd);
}

/* Catch set's signals (0: SIGINT and SIGTERM) and receive them as
 * io_signal_recv futures. 0, -ENOSPC (more than IO_SIGNAL_MAX signals:
 * also a report), -EINVAL (SIGKILL, SIGSTOP), or -errno; on failure
 * every action is as it was and nothing is left open. */
WEFT_API int io_signal_open(io_signal_t *s, exec_t *ex, const sigset_t *set) {
    struct sigaction act;
    const struct sigaction *other;
    io_signal_t *o;
    int p[2], rc = 0, sig, i;
    io_signal_lock_(1); /* s in the list already: it is open (compares addresses only) */
    for (o = io_signal_global_.list; o && o != s; o = o->next) {}
    io_signal_lock_(0);
    if (o) {
        FUTURE_MISUSE("io_signal_open: this io_signal_t is open already; io_signal_close "
                      "it before opening it again");
        return -EBUSY;
    }
    io_signal_clear_(s, set);
    s->next = 0;
    s->wfd = -1;
    s->nsaved = 0;
    for (sig = 1; sig < IO_NSIG_; sig++) {
        if (sigismember(&s->set, sig) != 1) continue;
        if (s->nsaved == IO_SIGNAL_MAX) {
            FUTURE_MISUSE("io_signal_open: more signals in the set than IO_SIGNAL_MAX "
                          "(a saved action each, without signalfd): define "
                          "IO_SIGNAL_MAX larger before including io.h");
            return -ENOSPC;
        }
        s->saved[s->nsaved++].signo = sig;
    }
    if (pipe(p) < 0) return -errno;
    if ((rc = io_fd_flags_(p[0])) < 0 || (rc = io_fd_flags_(p[1])) < 0 ||
        (rc = io_fd_setup_(&s->fd, ex, p[0], 0)) < 0) {
        close(p[0]);
        close(p[1]);
        return rc;
    }
    s->wfd = p[1];
    memset(&act, 0, sizeof act);
    act.sa_handler = io_signal_handler_;
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_RESTART;
    io_signal_lock_(1);
    s->next = io_signal_global_.list;
    EXEC_STORE_(&io_signal_global_.list, s); /* in before the handler is */
    for (i = 0; i < s->nsaved; i++) {
        if ((other = io_signal_other_(s, s->saved[i].signo))) {
            s->saved[i].act = *other; /* the handler is in: keep the old one */
        } else if (sigaction(s->saved[i].signo, &act, &s->saved[i].act) < 0) {
            rc = -errno;
            io_signal_restore_(s, i);
            io_signal_finish_(s); /* unlocks */
            return rc;
        }
    }
    io_signal_lock_(0);
    return 0;
}

/* Discard the signals not yet received, close, and give each signal its
 * old action back if no other handle watches it. */
WEFT_API int io_signal_close(io_signal_t *s) {
    if (s->fd.io.fd < 0) return 0;
    io_signal_lock_(1);
    io_signal_restore_(s, s->nsaved);
    return io_signal_finish_(s); /* unlocks */
}
#endif /* IO_SIGNALFD_ */

typedef struct io_signal_recv {
    future_t fut;
    io_signal_t *sig;
    future_waker_t *waiting;
    FUTURE_EXT_ union {
        int out;   /* the signal received */
        int signo; /* the same (its older name) */
    };
} io_signal_recv_t;

/* "(SIGINT, SIGTERM)": the signals of the set, by name where it is a
 * common one, else by number. */
WEFT_API void io_signal_recv_describe_(const future_t *f, future_fmt_t *o) {
    static const struct {
        int signo;
        const char *name;
    } names[] = {{SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},     {SIGQUIT, "SIGQUIT"},
                 {SIGTERM, "SIGTERM"}, {SIGUSR1, "SIGUSR1"},   {SIGUSR2, "SIGUSR2"},
                 {SIGCHLD, "SIGCHLD"}, {SIGWINCH, "SIGWINCH"}, {SIGALRM, "SIGALRM"},
                 {SIGPIPE, "SIGPIPE"}};
    const sigset_t *set = &((const io_signal_recv_t *)(const void *)f)->sig->set;
    const char *sep = "(";
    int sig;
    for (sig = 1; sig < IO_NSIG_; sig++) {
        size_t i = 0;
        if (sigismember(set, sig) != 1) continue;
        while (i < sizeof names / sizeof names[0] && names[i].signo != sig) i++;
        future_fmt_str(o, sep);
        if (i < sizeof names / sizeof names[0]) future_fmt_str(o, names[i].name);
        else future_fmt_u64(o, (unsigned)sig);
        sep = ", ";
    }
    future_fmt_str(o, *sep == '(' ? "(no signal)" : ")");
}

WEFT_API coro_poll_t io_signal_recv_poll_(future_t *self, future_cx_t *cx) {
    static const future_kind_t kind = {FUTURE_KIND_TAG_, "signal wait", io_signal_recv_describe_};
    io_signal_recv_t *r = (io_signal_recv_t *)(void *)self;
    io_signal_msg_ m;
    int rc = 0;
    for (;;) {
        ssize_t n;
        int g = io_gate_(&r->sig->fd, cx, EXEC_IO_READ, &r->waiting);
        if (g == 0) return io_pending_(self, &kind);
        if (g < 0) {
            rc = g;
            break;
        }
        n = io_try_read(&r->sig->fd, &m, sizeof m);
        if (n == -EAGAIN) continue;
        if (n < 0) rc = (int)n;
        else if (n != (ssize_t)sizeof m) rc = -EIO;
        else r->signo = IO_SIGNAL_NO_(m);
        break;
    }
    io_unwait_(&r->sig->fd, EXEC_IO_READ, &r->waiting);
    return future_finish(self, rc);
}

WEFT_API void io_signal_recv_drop_(future_t *self) {
    io_signal_recv_t *r = (io_signal_recv_t *)(void *)self;
    io_unwait_(&r->sig->fd, EXEC_IO_READ, &r->waiting);
}

/* Wait for the next signal of s's set: r.signo. */
WEFT_API void io_signal_recv_init(io_signal_recv_t *r, io_signal_t *s) {
    future_init(&r->fut, io_signal_recv_poll_, io_signal_recv_drop_);
    r->sig = s;
    r->waiting = 0;
    r->signo = 0;
}

#endif /* EXEC_HAVE_FDS_ */
#endif /* IO_H */
