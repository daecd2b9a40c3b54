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
 * does not read its echo) -> main's frame finishes. One line per event on
 * stdout: listening, full, the signal, and the shutdown's count. */
#include "../io.h"
#include "../sync.h"

enum { MAX_CONNS = 64 };

typedef struct {
    long port, idle_ms, grace_ms, max_conns;
} opts_t;

/* The flags, in any order, over their defaults: 1, or 0 for a usage error. */
static int parse_args(opts_t *o, int argc, char **argv) {
    int i;
    *o = (opts_t){.port = 7007, .idle_ms = 10000, .grace_ms = 2000, .max_conns = MAX_CONNS};
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) o->port = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--idle-ms")) o->idle_ms = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--grace-ms")) o->grace_ms = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-conns")) o->max_conns = atol(argv[i + 1]);
        else break;
    }
    return i == argc && o->port >= 0 && o->port <= 65535 && o->idle_ms >= 1 && o->grace_ms >= 0 &&
           o->max_conns >= 1 && o->max_conns <= MAX_CONNS;
}

static void say(io_fd_t *sock, const char *msg) {
    io_try_write(sock, msg, strlen(msg)); /* best effort */
}

/* async fn connection(sock): echo until the end, the idle timeout or the
 * shutdown */
ASYNC_FN(conn, io_fd_t sock; future_owned_t owns_sock; /* closes it when the frame ends, however */
         sync_token_t *shutdown; uint64_t idle_ns; io_read_t rd;
         timer_timeout_t limit; /* the read, or -ETIMEDOUT */
         sync_cancelled_t stop; io_write_all_t wr; int which; char buf[4096];) {
    ASYNC_BEGIN(f);
    for (;;) {
        io_read_init(&f->rd, &f->sock, f->buf, sizeof f->buf);
        timer_timeout_init(&f->limit, &f->rd, f->idle_ns);
        sync_cancelled_init(&f->stop, f->shutdown);
        SELECT_BIASED(cx, f->which, &f->stop, &f->limit); /* a dropped read read nothing */
        if (f->which == 0) {
            say(&f->sock, "server shutting down, bye\n");
            break;
        }
        if (future_err(&f->limit) == -ETIMEDOUT) {
            say(&f->sock, "idle timeout, bye\n");
            ASYNC_RETURN(-ETIMEDOUT);
        }
        if (future_err(&f->limit) < 0) ASYNC_RETURN(future_err(&f->limit));
        if (f->rd.n == 0) break; /* the client is done */
        io_write_all_init(&f->wr, &f->sock, f->buf, f->rd.n);
        AWAIT_TRY(cx, &f->wr); /* not raced: what was read is echoed */
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

typedef struct server server_t; /* declared in full by ASYNC_FN below */
static void conn_start(server_t *s, exec_t *ex, int fd);

enum { STOP, ENDED, ACCEPTED }; /* the accept loop's SELECT branches */

/* async fn server(listener, opts, token) */
ASYNC_FN(server, io_fd_t *lis; const opts_t *o; sync_token_t *shutdown; size_t open, aborted;
         future_select_t sel; sync_cancelled_t stop; exec_scope_next_t ended; io_accept_t acc;
         exec_scope_t conns; exec_scope_wait_t drained; timer_timeout_t grace;
         slot_t slot[MAX_CONNS];) {
    ASYNC_BEGIN(f);
    EXEC_SCOPE_INIT(cx, &f->conns); /* its tasks cannot outlive this frame */
    exec_scope_set_name(&f->conns, "connections");
    sync_cancelled_init(&f->stop, f->shutdown);
    exec_scope_next_init(&f->ended, &f->conns);
    io_accept_init(&f->acc, f->lis);
    for (;;) {
        /* select! { biased; _ = shutdown.cancelled() => break, Some(end) =
         * join_next(), if !empty => free its slot, conn = accept() => spawn
         * it }: the losers stay in flight, the winner is made fresh */
        SELECT_KEEP_BIASED(cx, &f->sel, &f->stop, SELECT_IF(exec_scope_len(&f->conns), &f->ended),
                           &f->acc);
        if (f->sel.which == STOP) break;
        if (f->sel.which == ENDED) {
            FUTURE_CONTAINER_OF(f->ended.task, slot_t, task)->busy = 0;
            exec_scope_next_init(&f->ended, &f->conns);
        } else {
            if (future_err(&f->acc) == 0) conn_start(f, exec_of(cx), f->acc.fd);
            io_accept_init(&f->acc, f->lis);
        }
    }
    future_select_drop(&f->sel); /* the accept and join_next still in flight */
    io_fd_close(f->lis); /* new clients are refused from now on */
    exec_scope_close(&f->conns);
    f->open = exec_scope_len(&f->conns); /* (some may have ended just now) */
    exec_scope_wait_init(&f->drained, &f->conns);
    timer_timeout_init(&f->grace, &f->drained, (uint64_t)f->o->grace_ms * TIMER_MS);
    AWAIT(cx, &f->grace); /* every connection ended, or -ETIMEDOUT */
    f->aborted = exec_scope_running(&f->conns);
    exec_scope_abort(&f->conns); /* past the deadline: drop the rest */
    printf("echo: shutdown: %zu connection(s) finished, %zu aborted\n", f->open - f->aborted,
           f->aborted);
    ASYNC_END();
}

/* A new connection: a free slot's task in the scope, or a polite no. */
static void conn_start(server_t *s, exec_t *ex, int fd) {
    static const char full[] = "server full, try again later\n";
    slot_t *sl = 0;
    int i;
    for (i = 0; i < s->o->max_conns && !sl; i++)
        if (!s->slot[i].busy) sl = &s->slot[i];
    if (!sl) {
        printf("echo: full (%ld connections), refused one\n", s->o->max_conns);
        send(fd, full, sizeof full - 1, MSG_NOSIGNAL); /* best effort */
        close(fd);
        return;
    }
    sl->conn = ASYNC_NEW(conn, .shutdown = s->shutdown,
                         .idle_ns = (uint64_t)s->o->idle_ms * TIMER_MS);
    if (io_fd_open(&sl->conn.sock, ex, fd) < 0) {
        close(fd);
        return;
    }
    future_own(&sl->conn, &sl->conn.owns_sock, conn_close);
    exec_scope_spawn(&s->conns, &sl->task, &sl->conn); /* open scope, free slot: 0 */
    exec_task_set_name(&sl->task, "connection");
    sl->busy = 1;
}

/* async fn on_signal(): the first SIGINT / SIGTERM cancels the token */
ASYNC_FN(on_signal, io_signal_t *sig; sync_token_t *shutdown; io_signal_recv_t got;) {
    ASYNC_BEGIN(f);
    io_signal_recv_init(&f->got, f->sig);
    AWAIT_TRY(cx, &f->got);
    printf("echo: %s, shutting down\n", strsignal(f->got.signo));
    sync_token_cancel(f->shutdown);
    ASYNC_END();
}

/* async fn main(): the flags, the signals and the listener, the token, the
 * signal task, the server */
ASYNC_FN(app, int argc; char **argv; int err; opts_t o; io_signal_t sig; io_fd_t lis;
         io_addr_t addr; sync_token_t shutdown; on_signal_t on_signal; exec_task_t signal_task;
         server_t server;) {
    ASYNC_BEGIN(f);
    if (!parse_args(&f->o, f->argc, f->argv)) {
        fprintf(stderr, "usage: %s [--port N] [--idle-ms MS] [--grace-ms MS] [--max-conns 1..%d]\n",
                f->argv[0], MAX_CONNS);
        exit(2);
    }
    setvbuf(stdout, 0, _IOLBF, 0); /* one event, one line, at once */
    if ((f->err = io_signal_open(&f->sig, exec_of(cx), 0)) != 0) ASYNC_RETURN(f->err);
    io_addr_parse(&f->addr, "127.0.0.1", (int)f->o.port);
    if ((f->err = io_listen(&f->lis, exec_of(cx), &f->addr, 1024, 0)) != 0) {
        io_signal_close(&f->sig);
        ASYNC_RETURN(f->err);
    }
    io_local_addr(&f->lis, &f->addr);
    printf("echo: listening on 127.0.0.1 port %d\n", io_addr_port(&f->addr));

    SYNC_TOKEN_INIT(&f->shutdown); /* the root token, owned by this frame */
    f->on_signal = ASYNC_NEW(on_signal, .sig = &f->sig, .shutdown = &f->shutdown);
    SPAWN(cx, &f->signal_task, &f->on_signal); /* ours: ends with us */
    exec_task_set_name(&f->signal_task, "signals");
    f->server = ASYNC_NEW(server, .lis = &f->lis, .o = &f->o, .shutdown = &f->shutdown);
    AWAIT(cx, &f->server); /* it closes the listener */
    io_signal_close(&f->sig);
    ASYNC_END();
}

EXEC_MAIN(app, .argc = argc, .argv = argv)
