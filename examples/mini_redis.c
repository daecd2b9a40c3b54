/* mini_redis: a Redis-compatible (RESP2) server on one executor thread.
 *
 *     build/mini_redis [--port N] [--bind ADDR] [--max-query BYTES] [--grace-ms MS]
 *                      (defaults: 6379, 127.0.0.1, 1 GiB, 10000)
 *     redis-cli -p N set k v ex 10 ; redis-benchmark -p N -t ping,set,get
 *
 * Commands: PING [msg], ECHO msg, SET k v [EX s | PX ms] [NX | XX] [KEEPTTL],
 * GET k, DEL k..., EXISTS k..., INCR k, DECR k, EXPIRE k s, TTL k, PTTL k,
 * plus what the redis tools send on their own: CONFIG GET, COMMAND, QUIT.
 * Requests may be pipelined, in RESP multibulk or inline ("PING\r\n") form.
 *
 * How it works: one task per connection, its frame (task record included)
 * malloc'd, in a task scope that the accept loop owns; the loop also takes
 * each ended connection out of the scope (join_next) and frees its frame.
 * An idle connection waits in io_readable and holds no buffer: its
 * io_reader_t points at one shared 64 KiB scratch buffer, bytes are read
 * into it (io_reader_try_fill), every complete command is executed and
 * its reply appended to one shared output buffer, and the replies go out
 * in one write. Only what is left over moves to the connection's own
 * heap: a partial command (io_reader_rebuffer into in, grown the same
 * way), or replies the socket would not take (pend; the connection stops
 * reading until they are written: backpressure). A key with a TTL carries a
 * timer_entry_t: the executor's timer wheel calls the key's waker at its
 * deadline, and the waker deletes the key (lookups also check the deadline,
 * so an expired key is never seen). Bytes in, replies out is one pure step
 * (conn_room, then the read, then conn_run), which tests/fuzz/ drives
 * directly, putting the bytes in with conn_input instead of a read: no
 * socket involved (build with -DMINI_REDIS_NO_MAIN to include this file).
 *
 * Integers are read as Redis reads them (no "+", "-0", leading zeros or
 * spaces), and expire times are refused exactly where Redis refuses them
 * (where the deadline in Unix ms would pass LLONG_MAX). A deadline past
 * the executor's nanosecond clock (584 years from boot) is never due: the
 * key gets no timer, and TTL / PTTL count down to it all the same.
 *
 * Limits: a bulk string up to MR_MAX_BULK (8 MiB), up to MR_MAX_ARGS (4096)
 * arguments per command, an inline command line up to 64 KiB. Going over
 * one, or any malformed RESP, gets "-ERR Protocol error: ..." and the
 * connection is closed (as redis-server does); other clients are not
 * affected. One unfinished command held between reads may not pass
 * --max-query bytes (Redis' client-query-buffer-limit, 1 GiB by default):
 * past it the client gets "-ERR query buffer limit reached" and is closed.
 * Output per connection is flushed every 64 KiB of replies. Error replies
 * that echo client bytes turn CR and LF into spaces, as Redis does, so no
 * client can add replies of its own.
 *
 * Shutdown: SIGINT or SIGTERM cancels the server's token (a signal task
 * does that); the accept loop stops accepting; idle connections are closed
 * at once (each waits for its next bytes or the token, whichever comes
 * first); a connection busy with requests it has already read answers all
 * of them, then closes; after --grace-ms (10 s) the scope aborts the rest.
 * Then the process exits 0.
 */
#include "../io.h"
#include "../sync.h"
#include <limits.h>
#include <stddef.h>
#include <strings.h>

#define MR_MAX_BULK (8u << 20)
#define MR_MAX_ARGS 4096
#define MR_MAX_INLINE (64u << 10)
#define MR_SCRATCH (64u << 10)
#define MR_OUT_SOFT (64u << 10)
#define MR_GRACE_MS 10000             /* default of --grace-ms */
#define MR_MAX_QUERY ((size_t)1 << 30) /* default of --max-query */

typedef struct server server_t;

/* ---- the key table -------------------------------------------------------- */

typedef struct entry {
    struct entry *next;     /* in its bucket */
    uint64_t hash;
    uint64_t expires;       /* deadline (exec clock, ns), 0: none, TIMER_NEVER:
                               past the clock's range (no timer) */
    uint64_t expires_ms;    /* the deadline in ms of the exec clock, for TTL */
    timer_entry_t timer;    /* linked in the wheel while expires != 0 */
    future_waker_t expire;  /* what the wheel calls at the deadline */
    server_t *srv;
    char *val;
    size_t vlen, vcap;
    size_t klen;
    char key[];
} entry_t;

typedef struct conn conn_t;

struct server {
    exec_t *ex;
    entry_t **tab;
    size_t nbuckets, nkeys;
    char *scratch;              /* shared input buffer */
    char *out;                  /* shared output buffer */
    size_t out_len, out_cap;
    const char *argv[MR_MAX_ARGS];
    size_t argl[MR_MAX_ARGS];
    int argc;
    const char *proto_err;      /* the parser's complaint */
    char proto_buf[64];
    uint64_t served;            /* connections accepted */
    size_t max_query;           /* cap on one client's unfinished command */
    uint64_t grace_ms;          /* how long busy connections may finish */
    sync_token_t shutdown;      /* cancelled by SIGINT / SIGTERM */
    int signo;                  /* the signal that did it */
    io_fd_t lis;
    io_signal_t sig;
};

static uint64_t hash_key(const char *k, size_t n) { /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h;
}

static void table_unlink(server_t *s, entry_t *e) {
    entry_t **p = &s->tab[e->hash & (s->nbuckets - 1)];
    while (*p != e) p = &(*p)->next;
    *p = e->next;
    s->nkeys--;
}

static void entry_delete(server_t *s, entry_t *e) {
    table_unlink(s, e);
    timer_wheel_cancel(&s->ex->timers, &e->timer);
    free(e->val);
    free(e);
}

/* The timer wheel calls this at the key's deadline: the key goes. */
static void entry_expire_wake(future_waker_t *w) {
    entry_t *e = (entry_t *)(void *)((char *)w - offsetof(entry_t, expire));
    entry_delete(e->srv, e);
}

/* Give e a deadline ms (> 0) milliseconds from now, or none (ms 0). One
 * past the exec clock's range is never due: no timer, but expires_ms keeps
 * it for TTL. */
static void entry_set_expiry(server_t *s, entry_t *e, long long ms) {
    uint64_t now = exec_now(s->ex);
    timer_wheel_cancel(&s->ex->timers, &e->timer);
    e->expires = 0;
    if (ms <= 0) return;
    e->expires_ms = now / TIMER_MS + (uint64_t)ms; /* < 2^63 + 2^54: no wrap */
    if ((uint64_t)ms > (TIMER_NEVER - 1 - now) / TIMER_MS) {
        e->expires = TIMER_NEVER;
        return;
    }
    e->expires = now + (uint64_t)ms * TIMER_MS;
    /* (a deadline after now is never already due; were it so, lookup would
     * delete the key at the next look, as for any due key) */
    timer_wheel_insert(&s->ex->timers, &e->timer, e->expires, &e->expire);
}

/* Milliseconds since the Unix epoch: Redis keeps deadlines on this clock
 * and refuses one that would pass LLONG_MAX, so the same check is made
 * against it (only the check: our deadlines are on the exec clock). */
static long long unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static entry_t *lookup(server_t *s, const char *k, size_t n) {
    uint64_t h = hash_key(k, n);
    entry_t *e;
    for (e = s->tab[h & (s->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && e->klen == n && (!n || memcmp(e->key, k, n) == 0)) break;
    if (e && e->expires && e->expires <= exec_now(s->ex)) { /* due, not yet fired */
        entry_delete(s, e);
        e = 0;
    }
    return e;
}

static void table_grow(server_t *s) {
    size_t nb = s->nbuckets * 2, i;
    entry_t **t = (entry_t **)calloc(nb, sizeof *t);
    if (!t) return; /* stay at this size: longer chains, still correct */
    for (i = 0; i < s->nbuckets; i++) {
        entry_t *e = s->tab[i];
        while (e) {
            entry_t *next = e->next;
            e->next = t[e->hash & (nb - 1)];
            t[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(s->tab);
    s->tab = t;
    s->nbuckets = nb;
}

static entry_t *entry_create(server_t *s, const char *k, size_t n) {
    entry_t *e = (entry_t *)calloc(1, sizeof *e + n);
    if (!e) return 0;
    if (n) memcpy(e->key, k, n);
    e->klen = n;
    e->hash = hash_key(k, n);
    e->srv = s;
    e->expire.wake = entry_expire_wake;
    if (s->nkeys >= s->nbuckets) table_grow(s);
    e->next = s->tab[e->hash & (s->nbuckets - 1)];
    s->tab[e->hash & (s->nbuckets - 1)] = e;
    s->nkeys++;
    return e;
}

static int entry_set_value(entry_t *e, const char *v, size_t n) {
    if (!e->val || n > e->vcap || (e->vcap > 4096 && n < e->vcap / 4)) {
        char *nv = (char *)malloc(n ? n : 1);
        if (!nv) return -ENOMEM;
        free(e->val);
        e->val = nv;
        e->vcap = n ? n : 1;
    }
    if (n) memcpy(e->val, v, n); /* (v may be NULL when n is 0) */
    e->vlen = n;
    return 0;
}

/* ---- replies (appended to the shared output buffer) ---------------------- */

static int out_reserve(server_t *s, size_t n) {
    if (s->out_len + n > s->out_cap) {
        size_t cap = s->out_cap * 2;
        char *o;
        while (cap < s->out_len + n) cap *= 2;
        o = (char *)realloc(s->out, cap);
        if (!o) return -ENOMEM;
        s->out = o;
        s->out_cap = cap;
    }
    return 0;
}

static void add_raw(server_t *s, const char *p, size_t n) {
    if (!n || out_reserve(s, n)) return;
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
}

#define ADD_LIT(s, lit) add_raw((s), lit, sizeof lit - 1)

static size_t fmt_ll(char *buf, long long v) { /* decimal, no terminator */
    char tmp[24];
    size_t n = 0, i;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    i = 0;
    if (v < 0) buf[i++] = '-';
    while (n) buf[i++] = tmp[--n];
    return i;
}

static void add_prefixed(server_t *s, char c, long long v) {
    char buf[32];
    size_t n;
    buf[0] = c;
    n = 1 + fmt_ll(buf + 1, v);
    buf[n++] = '\r';
    buf[n++] = '\n';
    add_raw(s, buf, n);
}

static void add_int(server_t *s, long long v) { add_prefixed(s, ':', v); }

static void add_bulk(server_t *s, const char *p, size_t n) {
    add_prefixed(s, '$', (long long)n);
    if (out_reserve(s, n + 2)) return;
    if (n) memcpy(s->out + s->out_len, p, n);
    s->out[s->out_len + n] = '\r';
    s->out[s->out_len + n + 1] = '\n';
    s->out_len += n + 2;
}

/* An error reply. msg may hold client bytes: a CR or LF among them would
 * end the reply early and make the rest look like replies of our own, so
 * they become spaces (as in Redis). */
static void add_err(server_t *s, const char *msg) {
    size_t n = strlen(msg), i;
    char *o;
    if (out_reserve(s, n + 3)) return;
    o = s->out + s->out_len;
    *o++ = '-';
    for (i = 0; i < n; i++) *o++ = msg[i] == '\r' || msg[i] == '\n' ? ' ' : msg[i];
    *o++ = '\r';
    *o++ = '\n';
    s->out_len += n + 3;
}

/* ---- the RESP parser ------------------------------------------------------ */

/* A strict integer, as redis' string2ll: no '+', no spaces, no leading
 * zeros, no "-0", no overflow. */
static int parse_ll(const char *p, size_t n, long long *out) {
    unsigned long long v = 0, lim;
    size_t i = 0;
    int neg = 0;
    if (n == 0 || n > 20) return -1;
    if (n == 1 && p[0] == '0') return *out = 0, 0; /* the only one starting with 0 */
    if (p[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || p[i] < '1' || p[i] > '9') return -1;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        if (v > (ULLONG_MAX - 9) / 10) return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    if (v > lim) return -1;
    *out = neg ? (long long)(0ull - v) : (long long)v;
    return 0;
}

/* Parse one command from buf[0..len). 1: s->argv holds it and *used says
 * how many bytes it took; 0: incomplete (*need: at least this many bytes
 * are wanted, when known); -1: protocol error (s->proto_err). */
static int parse_command(server_t *s, const char *buf, size_t len, size_t *used, size_t *need) {
    const char *end = buf + len, *p, *nl;
    long long count, blen;
    int i;
    *need = 0;
    if (buf[0] != '*') { /* inline: "PING\r\n", space separated */
        const char *q, *lend;
        nl = (const char *)memchr(buf, '\n', len);
        if (!nl) {
            if (len > MR_MAX_INLINE) return s->proto_err = "Protocol error: too big inline request", -1;
            return 0;
        }
        lend = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
        s->argc = 0;
        for (q = buf; q < lend;) {
            const char *w;
            while (q < lend && (*q == ' ' || *q == '\t')) q++;
            if (q == lend) break;
            w = q;
            while (q < lend && *q != ' ' && *q != '\t') q++;
            if (s->argc == MR_MAX_ARGS) return s->proto_err = "Protocol error: too many arguments", -1;
            s->argv[s->argc] = w;
            s->argl[s->argc++] = (size_t)(q - w);
        }
        *used = (size_t)(nl + 1 - buf);
        return 1;
    }
    nl = (const char *)memchr(buf, '\r', len < 32 ? len : 32);
    if (!nl || nl + 1 >= end) {
        if (len >= 32) return s->proto_err = "Protocol error: invalid multibulk length", -1;
        return 0;
    }
    if (nl[1] != '\n' || parse_ll(buf + 1, (size_t)(nl - buf - 1), &count) ||
        count > MR_MAX_ARGS)
        return s->proto_err = "Protocol error: invalid multibulk length", -1;
    p = nl + 2;
    s->argc = 0;
    for (i = 0; i < count; i++) {
        size_t avail = (size_t)(end - p);
        if (avail == 0) return 0;
        if (*p != '$') {
            snprintf(s->proto_buf, sizeof s->proto_buf, "Protocol error: expected '$', got '%c'",
                     *p >= 32 && *p < 127 ? *p : '?');
            return s->proto_err = s->proto_buf, -1;
        }
        nl = (const char *)memchr(p, '\r', avail < 32 ? avail : 32);
        if (!nl || nl + 1 >= end) {
            if (avail >= 32) return s->proto_err = "Protocol error: invalid bulk length", -1;
            return 0;
        }
        if (nl[1] != '\n' || parse_ll(p + 1, (size_t)(nl - p - 1), &blen) || blen < 0 ||
            blen > (long long)MR_MAX_BULK)
            return s->proto_err = "Protocol error: invalid bulk length", -1;
        p = nl + 2;
        if ((size_t)(end - p) < (size_t)blen + 2) {
            *need = (size_t)(p - buf) + (size_t)blen + 2;
            return 0;
        }
        if (p[blen] != '\r' || p[blen + 1] != '\n')
            return s->proto_err = "Protocol error: bulk string not followed by CRLF", -1;
        s->argv[i] = p;
        s->argl[i] = (size_t)blen;
        s->argc++;
        p += blen + 2;
    }
    *used = (size_t)(p - buf);
    return 1;
}

/* ---- commands ------------------------------------------------------------- */

/* a[0..n) is name, case-insensitively. The lengths first: a may hold NULs,
 * and name is read only up to its own. */
static int is_cmd(const char *a, size_t n, const char *name) {
    size_t i;
    if (strlen(name) != n) return 0;
    for (i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'a' && c <= 'z') c = (char)(c - 32);
        if (c != name[i]) return 0;
    }
    return 1;
}

static void arity_err(server_t *s, const char *name) {
    char msg[96];
    snprintf(msg, sizeof msg, "ERR wrong number of arguments for '%s' command", name);
    add_err(s, msg);
}

#define NOT_INT "ERR value is not an integer or out of range"

static void cmd_set(server_t *s) {
    int nx = 0, xx = 0, keepttl = 0, i;
    long long t = 0, unit = 0, ms = 0;
    entry_t *e;
    for (i = 3; i < s->argc; i++) {
        const char *a = s->argv[i];
        size_t n = s->argl[i];
        if (is_cmd(a, n, "NX")) nx = 1;
        else if (is_cmd(a, n, "XX")) xx = 1;
        else if (is_cmd(a, n, "KEEPTTL")) keepttl = 1;
        else if ((is_cmd(a, n, "EX") || is_cmd(a, n, "PX")) && !unit && i + 1 < s->argc) {
            unit = (a[0] | 32) == 'e' ? 1000 : 1; /* ms per unit */
            if (parse_ll(s->argv[i + 1], s->argl[i + 1], &t)) { add_err(s, NOT_INT); return; }
            i++;
        } else { add_err(s, "ERR syntax error"); return; }
    }
    if ((nx && xx) || (unit && keepttl)) { add_err(s, "ERR syntax error"); return; }
    if (unit) { /* Redis' limits: ms and the Unix-ms deadline fit a long long */
        if (t <= 0 || t > LLONG_MAX / unit || t * unit > LLONG_MAX - unix_ms())
            { add_err(s, "ERR invalid expire time in 'set' command"); return; }
        ms = t * unit;
    }
    e = lookup(s, s->argv[1], s->argl[1]);
    if ((nx && e) || (xx && !e)) { ADD_LIT(s, "$-1\r\n"); return; }
    if (!e && !(e = entry_create(s, s->argv[1], s->argl[1]))) { add_err(s, "ERR out of memory"); return; }
    if (entry_set_value(e, s->argv[2], s->argl[2])) { add_err(s, "ERR out of memory"); return; }
    if (unit || (!keepttl && e->expires)) entry_set_expiry(s, e, ms);
    ADD_LIT(s, "+OK\r\n");
}

static void cmd_incr(server_t *s, long long by) {
    entry_t *e = lookup(s, s->argv[1], s->argl[1]);
    long long v = 0;
    char buf[24];
    size_t n;
    if (e && parse_ll(e->val, e->vlen, &v)) { add_err(s, NOT_INT); return; }
    if ((by > 0 && v > LLONG_MAX - by) || (by < 0 && v < LLONG_MIN - by))
        { add_err(s, "ERR increment or decrement would overflow"); return; }
    v += by;
    if (!e && !(e = entry_create(s, s->argv[1], s->argl[1]))) { add_err(s, "ERR out of memory"); return; }
    n = fmt_ll(buf, v);
    if (entry_set_value(e, buf, n)) { add_err(s, "ERR out of memory"); return; }
    add_int(s, v); /* the TTL stays, as in Redis */
}

static void cmd_expire(server_t *s) {
    long long t;
    entry_t *e;
    if (parse_ll(s->argv[2], s->argl[2], &t)) { add_err(s, NOT_INT); return; }
    /* Redis' limits: t * 1000 and the deadline in Unix ms fit a long long */
    if (t > LLONG_MAX / 1000 || t < LLONG_MIN / 1000 || t * 1000 > LLONG_MAX - unix_ms())
        { add_err(s, "ERR invalid expire time in 'expire' command"); return; }
    e = lookup(s, s->argv[1], s->argl[1]);
    if (!e) { add_int(s, 0); return; }
    if (t <= 0) entry_delete(s, e); /* a deadline now or past */
    else entry_set_expiry(s, e, t * 1000);
    add_int(s, 1);
}

static void cmd_ttl(server_t *s, int ms) {
    entry_t *e = lookup(s, s->argv[1], s->argl[1]);
    uint64_t left;
    if (!e) { add_int(s, -2); return; }
    if (!e->expires) { add_int(s, -1); return; }
    if (e->expires == TIMER_NEVER) { /* counted in ms: ns would not fit */
        left = e->expires_ms - exec_now(s->ex) / TIMER_MS;
        add_int(s, ms ? (long long)left : (long long)((left + 500) / 1000));
        return;
    }
    left = e->expires - exec_now(s->ex); /* > 0: lookup dropped it otherwise */
    add_int(s, ms ? (long long)((left + 500000) / TIMER_MS) : (long long)((left + 500 * TIMER_MS) / TIMER_SEC));
}

static void cmd_config(server_t *s) { /* CONFIG GET: what redis-benchmark asks */
    static const char *const kv[] = {"save", "", "appendonly", "no"};
    int i, n = 0, match[2];
    if (s->argc != 3 || !is_cmd(s->argv[1], s->argl[1], "GET"))
        { add_err(s, "ERR only CONFIG GET is supported"); return; }
    for (i = 0; i < 2; i++) {
        size_t kl = strlen(kv[2 * i]);
        match[i] = (s->argl[2] == 1 && s->argv[2][0] == '*') ||
                   (s->argl[2] == kl && strncasecmp(s->argv[2], kv[2 * i], kl) == 0);
        n += match[i];
    }
    add_prefixed(s, '*', 2 * n);
    for (i = 0; i < 2; i++)
        if (match[i]) {
            add_bulk(s, kv[2 * i], strlen(kv[2 * i]));
            add_bulk(s, kv[2 * i + 1], strlen(kv[2 * i + 1]));
        }
}

/* Run the command in s->argv. Returns 1 if the connection should close. */
static int execute(server_t *s) {
    const char *c = s->argv[0];
    size_t n = s->argl[0];
    int argc = s->argc, i;
    long long count = 0;
    if (is_cmd(c, n, "GET")) {
        entry_t *e;
        if (argc != 2) return arity_err(s, "get"), 0;
        e = lookup(s, s->argv[1], s->argl[1]);
        if (e) add_bulk(s, e->val, e->vlen);
        else ADD_LIT(s, "$-1\r\n");
    } else if (is_cmd(c, n, "SET")) {
        if (argc < 3) return arity_err(s, "set"), 0;
        cmd_set(s);
    } else if (is_cmd(c, n, "PING")) {
        if (argc > 2) return arity_err(s, "ping"), 0;
        if (argc == 2) add_bulk(s, s->argv[1], s->argl[1]);
        else ADD_LIT(s, "+PONG\r\n");
    } else if (is_cmd(c, n, "ECHO")) {
        if (argc != 2) return arity_err(s, "echo"), 0;
        add_bulk(s, s->argv[1], s->argl[1]);
    } else if (is_cmd(c, n, "DEL") || is_cmd(c, n, "EXISTS")) {
        int del = (c[0] | 32) == 'd';
        if (argc < 2) return arity_err(s, del ? "del" : "exists"), 0;
        for (i = 1; i < argc; i++) {
            entry_t *e = lookup(s, s->argv[i], s->argl[i]);
            if (!e) continue;
            count++;
            if (del) entry_delete(s, e);
        }
        add_int(s, count);
    } else if (is_cmd(c, n, "INCR") || is_cmd(c, n, "DECR")) {
        int incr = (c[0] | 32) == 'i';
        if (argc != 2) return arity_err(s, incr ? "incr" : "decr"), 0;
        cmd_incr(s, incr ? 1 : -1);
    } else if (is_cmd(c, n, "EXPIRE")) {
        if (argc != 3) return arity_err(s, "expire"), 0;
        cmd_expire(s);
    } else if (is_cmd(c, n, "TTL") || is_cmd(c, n, "PTTL")) {
        int ms = (c[0] | 32) == 'p';
        if (argc != 2) return arity_err(s, ms ? "pttl" : "ttl"), 0;
        cmd_ttl(s, ms);
    } else if (is_cmd(c, n, "CONFIG")) {
        cmd_config(s);
    } else if (is_cmd(c, n, "COMMAND")) {
        ADD_LIT(s, "*0\r\n");
    } else if (is_cmd(c, n, "QUIT")) {
        ADD_LIT(s, "+OK\r\n");
        return 1;
    } else { /* Redis' text: the name up to 128 bytes, args while under 128 */
        char msg[512];
        size_t len = (size_t)snprintf(msg, sizeof msg,
                                      "ERR unknown command '%.*s', with args beginning with: ",
                                      (int)(n > 128 ? 128 : n), c), start = len;
        for (i = 1; i < argc && len - start < 128; i++) {
            size_t w = 128 - (len - start);
            if (w > s->argl[i]) w = s->argl[i];
            len += (size_t)snprintf(msg + len, sizeof msg - len, "'%.*s' ", (int)w, s->argv[i]);
        }
        add_err(s, msg); /* (%.*s stops at a NUL, as Redis' C strings do) */
    }
    return 0;
}

/* ---- connections ---------------------------------------------------------- */

struct conn {
    future_t fut;
    exec_task_t task;    /* in the serve loop's scope, until join_next */
    future_owned_t owns; /* the socket and buffers: released when the task ends */
    server_t *srv;
    io_fd_t sock;
    union {
        struct {
            io_readable_t rd;
            sync_cancelled_t stop;
        } wait;          /* the next bytes, or the shutdown */
        io_write_all_t wa;
        struct {
            io_read_t rd;
            timer_timeout_t limit;
        } linger;        /* after an error reply: drain until the peer closes */
    } op;
    io_reader_t rd;      /* the input: on the shared scratch while it holds
                            nothing, else on in */
    char *in;            /* own buffer: a partial command (or commands not
                            yet run); 0 while idle */
    size_t in_cap, need; /* in's size; what the partial command needs */
    char *pend;          /* replies the socket has not taken yet */
    size_t pend_len;
    unsigned char more, quit, linger;
    int which;
};

/* Execute every complete command the reader holds (on the shared
 * scratch buffer, or on c->in), replies into s->out, and consume them;
 * a leftover moves to c->in, and c->in goes when nothing is left.
 * No socket here: bytes in, replies out. */
static void conn_run(conn_t *c) {
    server_t *s = c->srv;
    const char *buf;
    size_t len = io_reader_buffered(&c->rd, &buf), pos = 0, left;
    c->more = 0;
    c->need = 0;
    while (pos < len && !c->quit) {
        size_t used = 0;
        int r;
        if (s->out_len >= MR_OUT_SOFT) { /* flush first, run the rest after */
            c->more = 1;
            break;
        }
        r = parse_command(s, buf + pos, len - pos, &used, &c->need);
        if (r == 0) break;
        if (r < 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "ERR %s", s->proto_err);
            add_err(s, msg);
            c->quit = c->linger = 1;
            pos = len;
            break;
        }
        pos += used;
        if (s->argc > 0 && execute(s)) c->quit = 1;
    }
    left = len - pos;
    if (left > s->max_query && !c->more && !c->quit) { /* one unfinished command */
        add_err(s, "ERR query buffer limit reached (--max-query)");
        c->quit = c->linger = 1;
        pos = len;
        left = 0;
    }
    io_reader_consume(&c->rd, pos);
    if (left && !c->in) { /* on the shared scratch: the leftover moves home */
        size_t cap = left < 1024 ? 1024 : left;
        c->in = (char *)malloc(cap);
        if (!c->in) {
            c->quit = 1;
            io_reader_consume(&c->rd, left);
        } else {
            io_reader_rebuffer(&c->rd, c->in, cap); /* (fits: 0) */
            c->in_cap = cap;
        }
    }
    if (c->in && !left) { /* idle connections hold no buffer */
        io_reader_rebuffer(&c->rd, s->scratch, MR_SCRATCH); /* (empty: 0) */
        free(c->in);
        c->in = 0;
        c->in_cap = 0;
    }
}

/* Write the replies in s->out (or keep what did not go in c->pend). */
static void conn_flush(conn_t *c) {
    server_t *s = c->srv;
    if (s->out_len) {
        ssize_t n = io_try_write(&c->sock, s->out, s->out_len);
        if (n == -EAGAIN) n = 0;
        if (n < 0) {
            c->quit = 1;
        } else if ((size_t)n < s->out_len) {
            c->pend_len = s->out_len - (size_t)n;
            c->pend = (char *)malloc(c->pend_len);
            if (c->pend) memcpy(c->pend, s->out + n, c->pend_len);
            else c->quit = 1, c->pend_len = 0;
        }
        s->out_len = 0;
        if (s->out_cap > 4 * MR_OUT_SOFT) { /* one huge reply: give it back */
            char *o = (char *)realloc(s->out, MR_OUT_SOFT * 2);
            if (o) s->out = o, s->out_cap = MR_OUT_SOFT * 2;
        }
    }
}

/* Make room for the next bytes, and say where they go and how many fit:
 * the scratch buffer, or after a partial command in c->in (compacted or
 * grown by rebuffer; never more than one byte past --max-query: enough to
 * know the cap is passed). NULL when out of memory. */
static char *conn_room(conn_t *c, size_t *room) {
    server_t *s = c->srv;
    const char *p;
    size_t have = io_reader_buffered(&c->rd, 0), end;
    if (!have) { /* (c->in is 0 then: conn_run let it go) */
        io_reader_rebuffer(&c->rd, s->scratch, MR_SCRATCH);
        *room = MR_SCRATCH;
        return s->scratch;
    }
    io_reader_buffered(&c->rd, &p);
    if (c->in_cap - have < 4096 || c->need > c->in_cap) {
        size_t cap = c->in_cap * 2;
        if (cap < c->need) cap = c->need;
        if (cap < have + 16384) cap = have + 16384;
        if (cap > s->max_query + 1) cap = s->max_query + 1;
        if (cap > c->in_cap) {
            char *q = (char *)malloc(cap);
            if (!q) return 0;
            io_reader_rebuffer(&c->rd, q, cap); /* (have <= max_query < cap) */
            free(c->in);
            c->in = q;
            c->in_cap = cap;
            p = q;
        }
    }
    end = (size_t)(p - c->in) + have;
    if (c->in_cap - end < 4096 && p != c->in) { /* room at the front: compact */
        io_reader_rebuffer(&c->rd, c->in, c->in_cap);
        end = have;
    }
    *room = c->in_cap - end; /* >= 1: have <= max_query < in_cap */
    return c->in + end;
}

#ifdef MINI_REDIS_NO_MAIN
/* n bytes were put where conn_room said, as io_reader_try_fill puts what
 * it reads there (for tests/fuzz/, which has no socket): run what is
 * complete. */
static void conn_input(conn_t *c, size_t n) {
    c->rd.end += n;
    conn_run(c);
}
#endif

/* Read what is there, run it, write the replies. */
static ssize_t conn_read(conn_t *c) {
    size_t room;
    ssize_t n;
    if (!conn_room(c, &room)) return -ENOMEM;
    n = io_reader_try_fill(&c->rd); /* into exactly that room */
    if (n > 0) {
        conn_run(c);
        conn_flush(c);
    }
    return n;
}

static coro_poll_t conn_poll(future_t *self, future_cx_t *cx) {
    conn_t *c = (conn_t *)self;
    ssize_t n;
    ASYNC_BEGIN(c);
    for (;;) {
        if (c->more) {
            conn_run(c);
            conn_flush(c);
        } else {
            if (c->quit) break;
            sync_cancelled_init(&c->op.wait.stop, &c->srv->shutdown);
            io_readable_init(&c->op.wait.rd, &c->sock);
            SELECT_BIASED(cx, c->which, &c->op.wait.stop, &c->op.wait.rd);
            if (c->which == 0) break; /* shutting down: all read is answered */
            if (future_err(&c->op.wait.rd.fut) < 0) break;
            n = conn_read(c);
            if (n == -EAGAIN) continue;
            if (n <= 0) break; /* the end, or an error: either way, done */
        }
        if (c->pend_len) {
            io_write_all_init(&c->op.wa, &c->sock, c->pend, c->pend_len);
            AWAIT(cx, &c->op.wa);
            free(c->pend);
            c->pend = 0;
            c->pend_len = 0;
            if (future_err(&c->op.wa.fut) < 0) break; /* -EPIPE, -ECONNRESET */
        }
        if (c->quit) break;
    }
    /* Closed on the client after an error reply, with its input still
     * coming: closing now would answer that input with a reset, which can
     * destroy the reply before the client reads it. Say "no more" (FIN),
     * then read and drop what comes until the client closes, for at most a
     * second (a lingering close, as HTTP servers do). It is read into the
     * shared scratch: no one needs its bytes, and the scratch holds
     * nothing between polls (conn_run moves every leftover home). */
    if (c->linger && shutdown(c->sock.io.fd, SHUT_WR) == 0) {
        do {
            io_read_init(&c->op.linger.rd, &c->sock, c->srv->scratch, MR_SCRATCH);
            timer_timeout_init(&c->op.linger.limit, &c->op.linger.rd, TIMER_SEC);
            AWAIT(cx, &c->op.linger.limit);
        } while (future_err(&c->op.linger.limit) == 0 && c->op.linger.rd.n > 0);
    }
    ASYNC_END();
}

/* The connection's task is over (finished or aborted): the frame owns the
 * socket and the buffers, and lets them go at once, so the peer sees the
 * close now. The frame itself is freed when join_next hands its task out. */
static void conn_release(future_owned_t *n) {
    conn_t *c = FUTURE_CONTAINER_OF(n, conn_t, owns);
    io_fd_close(&c->sock);
    free(c->in);
    free(c->pend);
    c->in = c->pend = 0;
}

/* A new connection: a task in the scope. */
static void conn_start(server_t *s, exec_scope_t *conns, int fd) {
    conn_t *c = (conn_t *)calloc(1, sizeof *c); /* (a zeroed task record) */
    if (!c) {
        close(fd);
        return;
    }
    if (io_fd_open(&c->sock, s->ex, fd) < 0) {
        close(fd);
        free(c);
        return;
    }
    io_tcp_nodelay(&c->sock, 1);
    io_reader_init(&c->rd, &c->sock, s->scratch, MR_SCRATCH);
    future_init(&c->fut, conn_poll, 0);
    future_own(&c->fut, &c->owns, conn_release);
    c->srv = s;
    s->served++;
    if (exec_scope_spawn(conns, &c->task, c) < 0) { /* (the scope is open: never) */
        conn_release(&c->owns);
        free(c);
    }
}

/* ---- the server: accept until a signal, then shut down gracefully -------- */

/* async fn on_signal(): the first SIGINT / SIGTERM cancels the token */
typedef struct {
    future_t fut;
    server_t *srv;
    io_signal_recv_t got;
} on_signal_t;

static coro_poll_t on_signal_poll(future_t *self, future_cx_t *cx) {
    on_signal_t *f = (on_signal_t *)self;
    ASYNC_BEGIN(f);
    io_signal_recv_init(&f->got, &f->srv->sig);
    AWAIT_TRY(cx, &f->got);
    f->srv->signo = f->got.signo;
    sync_token_cancel(&f->srv->shutdown);
    ASYNC_END();
}

enum { STOP, ENDED, ACCEPTED }; /* the accept loop's SELECT branches */

typedef struct {
    future_t fut;
    server_t *srv;
    exec_scope_t conns;       /* a task per connection */
    on_signal_t on_signal;
    exec_task_t signal_task;
    sync_cancelled_t stop;
    exec_scope_next_t ended;
    io_accept_t acc;
    exec_scope_wait_t drained;
    timer_timeout_t grace;
    int which;
} serve_t;

static coro_poll_t serve_poll(future_t *self, future_cx_t *cx) {
    serve_t *f = (serve_t *)self;
    server_t *s = f->srv;
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->conns);
    exec_scope_set_name(&f->conns, "connections");
    future_init(&f->on_signal.fut, on_signal_poll, 0);
    f->on_signal.srv = s;
    EXEC_SPAWN(cx, &f->signal_task, &f->on_signal);
    exec_task_set_name(&f->signal_task, "signals");
    for (;;) {
        /* select! { biased; _ = shutdown.cancelled() => break, Some(end) =
         * conns.join_next() => free it, conn = accept() => spawn it } */
        sync_cancelled_init(&f->stop, &s->shutdown);
        exec_scope_next_init(&f->ended, &f->conns);
        io_accept_init(&f->acc, &s->lis);
        if (exec_scope_len(&f->conns)) {
            SELECT_BIASED(cx, f->which, &f->stop, &f->ended, &f->acc);
        } else { /* join_next of an empty scope is ready at once: left out */
            SELECT_BIASED(cx, f->which, &f->stop, &f->acc);
            if (f->which == 1) f->which = ACCEPTED;
        }
        if (f->which == STOP) break;
        if (f->which == ENDED) free(FUTURE_CONTAINER_OF(f->ended.task, conn_t, task));
        else if (future_err(&f->acc.fut) == 0) conn_start(s, &f->conns, f->acc.fd);
        else if (future_err(&f->acc.fut) == -EBADF) break;
    }
    fprintf(stderr, "mini_redis: %s, shutting down (%zu connections open)\n",
            s->signo ? strsignal(s->signo) : "listener closed", exec_scope_len(&f->conns));
    io_fd_close(&s->lis);
    sync_token_cancel(&s->shutdown); /* (the listener may have gone first) */
    exec_scope_close(&f->conns);     /* idle ones end now; busy ones finish */
    exec_scope_wait_init(&f->drained, &f->conns);
    /* (main keeps grace_ms * TIMER_MS in range) */
    timer_timeout_init(&f->grace, &f->drained, s->grace_ms * TIMER_MS);
    AWAIT(cx, &f->grace);        /* all ended, or -ETIMEDOUT */
    exec_scope_abort(&f->conns); /* past the grace: drop the rest */
    for (;;) {                   /* and free every frame */
        exec_scope_next_init(&f->ended, &f->conns);
        AWAIT(cx, &f->ended);
        if (!f->ended.task) break;
        free(FUTURE_CONTAINER_OF(f->ended.task, conn_t, task));
    }
    ASYNC_END();
}

/* The key table and the shared buffers. 0, or -ENOMEM. */
static int server_init(server_t *s, exec_t *ex) {
    s->ex = ex;
    s->nbuckets = 1024;
    s->tab = (entry_t **)calloc(s->nbuckets, sizeof *s->tab);
    s->scratch = (char *)malloc(MR_SCRATCH);
    s->out_cap = 2 * MR_OUT_SOFT;
    s->out = (char *)malloc(s->out_cap);
    s->max_query = MR_MAX_QUERY;
    s->grace_ms = MR_GRACE_MS;
    sync_token_init(&s->shutdown); /* a root in long-lived memory: no drop */
    return s->tab && s->scratch && s->out ? 0 : -ENOMEM;
}

/* Every key goes. */
static void server_clear(server_t *s) {
    size_t b;
    for (b = 0; b < s->nbuckets; b++)
        while (s->tab[b]) entry_delete(s, s->tab[b]);
}

static void server_free(server_t *s) {
    server_clear(s);
    free(s->tab);
    free(s->scratch);
    free(s->out);
}

/* A decimal count in 1..max, digits only. 0, or -1. */
static int parse_count(const char *a, unsigned long long max, unsigned long long *out) {
    unsigned long long v = 0;
    if (!*a) return -1;
    for (; *a; a++) {
        if (*a < '0' || *a > '9' || v > (max - (unsigned)(*a - '0')) / 10) return -1;
        v = v * 10 + (unsigned)(*a - '0');
    }
    if (!v) return -1;
    *out = v;
    return 0;
}

#ifndef MINI_REDIS_NO_MAIN
int main(int argc, char **argv) {
    static server_t srv;
    exec_t ex;
    serve_t sv = {0}; /* (zeroed task records) */
    io_addr_t addr;
    const char *bind_to = "127.0.0.1";
    int port = 6379, i, rc;
    unsigned long long max_query = MR_MAX_QUERY, grace_ms = MR_GRACE_MS;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bind") && i + 1 < argc) bind_to = argv[++i];
        else if (!strcmp(argv[i], "--max-query") && i + 1 < argc &&
                 !parse_count(argv[i + 1], SIZE_MAX / 2, &max_query)) i++;
        else if (!strcmp(argv[i], "--grace-ms") && i + 1 < argc &&
                 !parse_count(argv[i + 1], UINT64_MAX / TIMER_MS, &grace_ms)) i++;
        else {
            fprintf(stderr, "usage: %s [--port N] [--bind ADDR] [--max-query BYTES (1..%zu)] "
                            "[--grace-ms MS]\n", argv[0], (size_t)(SIZE_MAX / 2));
            return 2;
        }
    }
    if ((rc = exec_init(&ex))) return fprintf(stderr, "exec_init: %s\n", strerror(-rc)), 1;
    if (server_init(&srv, &ex)) return fprintf(stderr, "out of memory\n"), 1;
    srv.max_query = (size_t)max_query;
    srv.grace_ms = grace_ms;
    /* Signals first: from here SIGINT / SIGTERM arrive through the signalfd. */
    if ((rc = io_signal_open(&srv.sig, &ex, 0)))
        return fprintf(stderr, "signals: %s\n", strerror(-rc)), 1;
    if (io_addr_parse(&addr, bind_to, port))
        return fprintf(stderr, "--bind wants a numeric IPv4 or IPv6 address\n"), 2;
    if ((rc = io_listen(&srv.lis, &ex, &addr, 4096, 0)))
        return fprintf(stderr, "listen %s:%d: %s\n", bind_to, port, strerror(-rc)), 1;
    io_local_addr(&srv.lis, &addr);
    printf("mini_redis: ready on %s port %d\n", bind_to, io_addr_port(&addr));
    fflush(stdout);
    future_init(&sv.fut, serve_poll, 0);
    sv.srv = &srv;
    rc = exec_block_on(&ex, &sv.fut);
    fprintf(stderr, "mini_redis: bye (%llu connections served, %zu keys)\n",
            (unsigned long long)srv.served, srv.nkeys);
    server_clear(&srv);
    io_signal_close(&srv.sig);
    exec_destroy(&ex);
    server_free(&srv);
    return rc ? 1 : 0;
}
#endif
