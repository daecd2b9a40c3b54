/* echo: a TCP echo server with a per-connection idle timeout.
 *
 *     build/echo [--port N] [--idle-ms MS]        (7007, 10000 ms)
 *
 * Each connection is a heap-backed task: read (under a timeout), write it
 * all back, again. A connection silent for --idle-ms is told so and closed.
 * SIGINT / SIGTERM stop the server: the accept loop races the signal with
 * SELECT, and exec_destroy drops the connections still open. */
#include "../io.h"

typedef struct {
    future_t fut;
    io_fd_t sock;
    uint64_t idle_ns;
    io_read_t rd;
    timer_timeout_t limit; /* the read, or -ETIMEDOUT */
    io_write_all_t wr;
    char buf[4096];
} conn_t;

static coro_poll_t conn_poll(future_t *self, future_cx_t *cx) {
    conn_t *c = (conn_t *)self;
    ASYNC_BEGIN(c);
    for (;;) {
        io_read_init(&c->rd, &c->sock, c->buf, sizeof c->buf);
        timer_timeout_init(&c->limit, &c->rd.fut, c->idle_ns);
        AWAIT(cx, &c->limit);
        if (future_err(&c->limit.fut) == -ETIMEDOUT) {
            static const char bye[] = "idle timeout, bye\n";
            io_try_write(&c->sock, bye, sizeof bye - 1); /* best effort */
            ASYNC_RETURN(-ETIMEDOUT);
        }
        if (future_err(&c->limit.fut) < 0) ASYNC_RETURN(future_err(&c->limit.fut));
        if (c->rd.n == 0) break; /* the client is done */
        io_write_all_init(&c->wr, &c->sock, c->buf, c->rd.n);
        AWAIT_TRY(cx, &c->wr);
    }
    ASYNC_END();
}

static void conn_done(future_t *fut, int err, void *arg) {
    conn_t *c = (conn_t *)(void *)fut;
    (void)err;
    (void)arg;
    io_fd_close(&c->sock);
    free(c);
}

typedef struct {
    future_t fut;
    io_fd_t lis;
    io_signal_t sig;
    io_accept_t acc;
    io_signal_recv_t got;
    uint64_t idle_ns;
    int which;
} server_t;

static coro_poll_t server_poll(future_t *self, future_cx_t *cx) {
    server_t *s = (server_t *)self;
    conn_t *c;
    ASYNC_BEGIN(s);
    for (;;) {
        io_accept_init(&s->acc, &s->lis);
        io_signal_recv_init(&s->got, &s->sig);
        SELECT(cx, s->which, &s->acc, &s->got);
        if (s->which == 1) break;
        if (future_err(&s->acc.fut) < 0) continue;
        c = (conn_t *)calloc(1, sizeof *c);
        if (!c || io_fd_open(&c->sock, exec_of(cx), s->acc.fd) < 0) {
            close(s->acc.fd);
            free(c);
            continue;
        }
        c->idle_ns = s->idle_ns;
        future_init(&c->fut, conn_poll, 0);
        if (exec_spawn_detached(&c->fut, exec_of(cx), conn_done, 0) == -ENOMEM)
            conn_done(&c->fut, -ENOMEM, 0);
    }
    fprintf(stderr, "echo: %s, bye\n", strsignal(s->got.signo));
    ASYNC_END();
}

int main(int argc, char **argv) {
    exec_t ex;
    static server_t s;
    io_addr_t addr;
    int port = 7007, i, rc;
    long idle_ms = 10000;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--idle-ms")) idle_ms = atol(argv[i + 1]);
    }
    if ((rc = exec_init(&ex))) return fprintf(stderr, "exec_init: %s\n", strerror(-rc)), 1;
    if ((rc = io_signal_open(&s.sig, &ex, 0)))
        return fprintf(stderr, "signals: %s\n", strerror(-rc)), 1;
    io_addr_parse(&addr, "127.0.0.1", port);
    if ((rc = io_listen(&s.lis, &ex, &addr, 1024, 0)))
        return fprintf(stderr, "listen: %s\n", strerror(-rc)), 1;
    io_local_addr(&s.lis, &addr);
    printf("echo: ready on 127.0.0.1 port %d, idle timeout %ld ms\n", io_addr_port(&addr), idle_ms);
    fflush(stdout);
    s.idle_ns = (uint64_t)idle_ms * TIMER_MS;
    future_init(&s.fut, server_poll, 0);
    rc = exec_block_on(&ex, &s.fut);
    io_fd_close(&s.lis);
    io_signal_close(&s.sig);
    exec_destroy(&ex); /* drops open connections: conn_done frees each */
    return rc ? 1 : 0;
}
