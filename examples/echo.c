/* echo: a TCP echo server that shuts down gracefully.
 *
 *     build/echo [--port N] [--idle-ms MS] [--grace-ms MS] [--max-conns N]
 *                (7007, 0 picks a free port; 10000; 2000; 64 at most)
 *
 * Who owns what: main's frame owns the root cancellation token, the signal
 * task and the server; the server's frame owns a task scope, and the scope
 * owns one task per connection; each connection's frame owns its socket.
 * Every frame and task record is caller storage: a fixed array of slots,
 * and a full server says so and closes the new connection. A connection
 * silent for --idle-ms is told so and closed.
 *
 * Shutdown: SIGINT / SIGTERM -> the signal task cancels the root token ->
 * the accept loop stops accepting, and each connection stops at its next
 * read, once the echo of what it read is written -> the server waits for
 * its scope for up to --grace-ms, then aborts what is left (a client that
 * does not read its echo) -> exec_block_on returns. One line per event on
 * stdout: listening, full, the signal, and the shutdown's count. */
#include "../io.h"
#include "../sync.h"

enum { MAX_CONNS = 64 };

/* async fn connection(sock): echo until the end, the idle timeout or the
 * shutdown */
typedef struct {
    future_t fut;
    io_fd_t sock;
    future_owned_t owns_sock; /* closes it when the frame ends, however */
    sync_token_t *shutdown;
    uint64_t idle_ns;
    io_read_t rd;
    timer_timeout_t limit; /* the read, or -ETIMEDOUT */
    sync_cancelled_t stop;
    io_write_all_t wr;
    int which;
    char buf[4096];
} conn_t;

static void say(io_fd_t *sock, const char *msg) {
    io_try_write(sock, msg, strlen(msg)); /* best effort */
}

static coro_poll_t conn_poll(future_t *self, future_cx_t *cx) {
    conn_t *c = (conn_t *)self;
    ASYNC_BEGIN(c);
    for (;;) {
        io_read_init(&c->rd, &c->sock, c->buf, sizeof c->buf);
        timer_timeout_init(&c->limit, &c->rd, c->idle_ns);
        sync_cancelled_init(&c->stop, c->shutdown);
        SELECT_BIASED(cx, c->which, &c->stop, &c->limit); /* a dropped read read nothing */
        if (c->which == 0) {
            say(&c->sock, "server shutting down, bye\n");
            break;
        }
        if (future_err(&c->limit) == -ETIMEDOUT) {
            say(&c->sock, "idle timeout, bye\n");
            ASYNC_RETURN(-ETIMEDOUT);
        }
        if (future_err(&c->limit) < 0) ASYNC_RETURN(future_err(&c->limit));
        if (c->rd.n == 0) break; /* the client is done */
        io_write_all_init(&c->wr, &c->sock, c->buf, c->rd.n);
        AWAIT_TRY(cx, &c->wr); /* not raced: what was read is echoed */
    }
    ASYNC_END();
}

static void conn_close(future_owned_t *n) {
    io_fd_close(&FUTURE_CONTAINER_OF(n, conn_t, owns_sock)->sock);
}

typedef struct {
    conn_t conn;
    exec_task_t task;
    int busy; /* from its spawn until join_next hands its task back */
} slot_t;

enum { STOP, ENDED, ACCEPTED }; /* the accept loop's SELECT branches */

/* async fn server(listener, token) */
typedef struct {
    future_t fut;
    io_fd_t *lis;
    sync_token_t *shutdown;
    uint64_t idle_ns, grace_ns;
    int max_conns, which;
    size_t open, aborted;
    io_accept_t acc;
    sync_cancelled_t stop;
    exec_scope_t conns;
    exec_scope_next_t ended;
    exec_scope_wait_t drained;
    timer_timeout_t grace;
    slot_t slot[MAX_CONNS];
} server_t;

/* A new connection: a free slot's task in the scope, or a polite no. */
static void conn_start(server_t *s, exec_t *ex, int fd) {
    static const char full[] = "server full, try again later\n";
    slot_t *sl = 0;
    int i;
    for (i = 0; i < s->max_conns && !sl; i++)
        if (!s->slot[i].busy) sl = &s->slot[i];
    if (!sl) {
        printf("echo: full (%d connections), refused one\n", s->max_conns);
        send(fd, full, sizeof full - 1, MSG_NOSIGNAL); /* best effort */
        close(fd);
        return;
    }
    if (io_fd_open(&sl->conn.sock, ex, fd) < 0) {
        close(fd);
        return;
    }
    future_init(&sl->conn.fut, conn_poll, 0);
    future_own(&sl->conn.fut, &sl->conn.owns_sock, conn_close);
    sl->conn.shutdown = s->shutdown;
    sl->conn.idle_ns = s->idle_ns;
    exec_scope_spawn(&s->conns, &sl->task, &sl->conn); /* open scope, free slot: 0 */
    exec_task_set_name(&sl->task, "connection");
    sl->busy = 1;
}

static coro_poll_t server_poll(future_t *self, future_cx_t *cx) {
    server_t *s = (server_t *)self;
    ASYNC_BEGIN(s);
    EXEC_SCOPE_INIT(cx, &s->conns); /* its tasks cannot outlive this frame */
    exec_scope_set_name(&s->conns, "connections");
    for (;;) {
        /* select! { biased; _ = shutdown.cancelled() => break, Some(end) =
         * join_next() => free its slot, conn = accept() => spawn it } */
        sync_cancelled_init(&s->stop, s->shutdown);
        exec_scope_next_init(&s->ended, &s->conns);
        io_accept_init(&s->acc, s->lis);
        if (exec_scope_len(&s->conns)) {
            SELECT_BIASED(cx, s->which, &s->stop, &s->ended, &s->acc);
        } else { /* join_next of an empty scope is ready at once: left out */
            SELECT_BIASED(cx, s->which, &s->stop, &s->acc);
            if (s->which == 1) s->which = ACCEPTED;
        }
        if (s->which == STOP) break;
        if (s->which == ENDED) FUTURE_CONTAINER_OF(s->ended.task, slot_t, task)->busy = 0;
        else if (future_err(&s->acc) == 0) conn_start(s, exec_of(cx), s->acc.fd);
    }
    io_fd_close(s->lis); /* new clients are refused from now on */
    exec_scope_close(&s->conns);
    s->open = exec_scope_len(&s->conns); /* (some may have ended just now) */
    exec_scope_wait_init(&s->drained, &s->conns);
    timer_timeout_init(&s->grace, &s->drained, s->grace_ns);
    AWAIT(cx, &s->grace); /* every connection ended, or -ETIMEDOUT */
    s->aborted = exec_scope_running(&s->conns);
    exec_scope_abort(&s->conns); /* past the deadline: drop the rest */
    printf("echo: shutdown: %zu connection(s) finished, %zu aborted\n", s->open - s->aborted,
           s->aborted);
    ASYNC_END();
}

/* async fn on_signal(): the first SIGINT / SIGTERM cancels the token */
typedef struct {
    future_t fut;
    io_signal_t *sig;
    sync_token_t *shutdown;
    io_signal_recv_t got;
} on_signal_t;

static coro_poll_t on_signal_poll(future_t *self, future_cx_t *cx) {
    on_signal_t *f = (on_signal_t *)self;
    ASYNC_BEGIN(f);
    io_signal_recv_init(&f->got, f->sig);
    AWAIT_TRY(cx, &f->got);
    printf("echo: %s, shutting down\n", strsignal(f->got.signo));
    sync_token_cancel(f->shutdown);
    ASYNC_END();
}

/* async fn main(): the token, the signal task, the server */
typedef struct {
    future_t fut;
    sync_token_t shutdown;
    on_signal_t on_signal;
    exec_task_t signal_task;
    server_t server;
} main_t;

static coro_poll_t main_poll(future_t *self, future_cx_t *cx) {
    main_t *m = (main_t *)self;
    ASYNC_BEGIN(m);
    SYNC_TOKEN_INIT(&m->shutdown); /* the root token, owned by this frame */
    EXEC_SPAWN(cx, &m->signal_task, &m->on_signal); /* ours: ends with us */
    exec_task_set_name(&m->signal_task, "signals");
    AWAIT(cx, &m->server);
    ASYNC_END();
}

int main(int argc, char **argv) {
    static main_t m; /* ~300 KiB of slots: static, not on the stack */
    exec_t ex;
    io_fd_t lis;
    io_signal_t sig;
    io_addr_t addr;
    long port = 7007, idle_ms = 10000, grace_ms = 2000, max_conns = MAX_CONNS;
    int i, rc;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--idle-ms")) idle_ms = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--grace-ms")) grace_ms = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-conns")) max_conns = atol(argv[i + 1]);
        else break;
    }
    if (i < argc || port < 0 || port > 65535 || idle_ms < 1 || grace_ms < 0 || max_conns < 1 ||
        max_conns > MAX_CONNS)
        return fprintf(stderr, "usage: %s [--port N] [--idle-ms MS] [--grace-ms MS] "
                               "[--max-conns 1..%d]\n", argv[0], MAX_CONNS), 2;
    setvbuf(stdout, 0, _IOLBF, 0); /* one event, one line, at once */
    if ((rc = exec_init(&ex))) return fprintf(stderr, "exec_init: %s\n", strerror(-rc)), 1;
    if ((rc = io_signal_open(&sig, &ex, 0)))
        return fprintf(stderr, "signals: %s\n", strerror(-rc)), 1;
    io_addr_parse(&addr, "127.0.0.1", (int)port);
    if ((rc = io_listen(&lis, &ex, &addr, 1024, 0)))
        return fprintf(stderr, "listen: %s\n", strerror(-rc)), 1;
    io_local_addr(&lis, &addr);
    printf("echo: listening on 127.0.0.1 port %d\n", io_addr_port(&addr));

    future_init(&m.on_signal.fut, on_signal_poll, 0);
    m.on_signal.sig = &sig;
    m.on_signal.shutdown = &m.shutdown;
    future_init(&m.server.fut, server_poll, 0);
    m.server.lis = &lis;
    m.server.shutdown = &m.shutdown;
    m.server.idle_ns = (uint64_t)idle_ms * TIMER_MS;
    m.server.grace_ns = (uint64_t)grace_ms * TIMER_MS;
    m.server.max_conns = (int)max_conns;
    future_init(&m.fut, main_poll, 0);
    rc = exec_block_on(&ex, &m);

    io_fd_close(&lis);
    io_signal_close(&sig);
    exec_destroy(&ex);
    return rc ? 1 : 0;
}
