/* fetch_by_name: a client that finds its server by name, in one program.
 *
 * The server listens on 127.0.0.1 (a free port) and speaks a line
 * protocol: "ADD a b" is answered "= a+b", "BYE" with "BYE" and the end of
 * the connection. The client connects to "localhost" by name: the name is
 * resolved on the blocking pool (getaddrinfo), and happy eyeballs tries
 * the addresses, IPv6 first; "::1" (if localhost has it) refuses, so the
 * next attempt starts at once and 127.0.0.1 wins. Both sides read lines
 * through io.h's buffered reader. The whole exchange runs under a 5 s
 * timeout, and ends with every socket closed and the pool joined.
 *
 * Output:
 *     connected to localhost (127.0.0.1)
 *     ADD 2 3 -> = 5
 *     ADD 40 2 -> = 42
 *     BYE -> BYE
 *     server: 3 requests, client closed cleanly */
#include "../io.h"

/* async fn serve(listener): one connection, a line at a time */
ASYNC_FN(serve, io_fd_t *lis; int requests; io_accept_t acc; io_fd_t conn; io_reader_t rd;
         char buf[256]; io_read_line_t line; char reply[64]; io_write_all_t wr;) {
    ASYNC_BEGIN(f);
    io_accept_init(&f->acc, f->lis);
    AWAIT_TRY(cx, &f->acc);
    io_fd_open(&f->conn, exec_of(cx), f->acc.fd);
    io_reader_init(&f->rd, &f->conn, f->buf, sizeof f->buf);
    for (;;) {
        io_read_line_init(&f->line, &f->rd, 128);
        AWAIT(cx, &f->line);
        if (future_err(&f->line) || !f->line.data) break; /* error, or the client left */
        {
            long a, b;
            if (sscanf(f->line.data, "ADD %ld %ld", &a, &b) == 2)
                snprintf(f->reply, sizeof f->reply, "= %ld\n", a + b);
            else if (!strcmp(f->line.data, "BYE")) snprintf(f->reply, sizeof f->reply, "BYE\n");
            else snprintf(f->reply, sizeof f->reply, "ERR unknown command\n");
        }
        f->requests++;
        io_write_all_init(&f->wr, &f->conn, f->reply, strlen(f->reply));
        AWAIT_TRY(cx, &f->wr);
        if (!strcmp(f->reply, "BYE\n")) break;
    }
    io_fd_close(&f->conn); /* the client reads the end of the stream */
    ASYNC_END();
}

/* async fn talk(pool, port): connect by name, ask, read the answers */
ASYNC_FN(talk, blocking_pool_t *pool; int port; int i; io_connect_name_t connect; io_fd_t conn;
         io_reader_t rd; char buf[256]; io_write_all_t wr; io_read_line_t line;) {
    static const char *const asks[] = {"ADD 2 3\n", "ADD 40 2\n", "BYE\n"};
    ASYNC_BEGIN(f);
    io_connect_name_init(&f->connect, &f->conn, f->pool, "localhost", f->port);
    AWAIT_TRY(cx, &f->connect);
    printf("connected to localhost (%s)\n",
           f->connect.addr.ss.ss_family == AF_INET6 ? "::1" : "127.0.0.1");
    io_reader_init(&f->rd, &f->conn, f->buf, sizeof f->buf);
    for (f->i = 0; f->i < 3; f->i++) {
        io_write_all_init(&f->wr, &f->conn, asks[f->i], strlen(asks[f->i]));
        AWAIT_TRY(cx, &f->wr);
        io_read_line_init(&f->line, &f->rd, 128);
        AWAIT_TRY(cx, &f->line);
        if (!f->line.data) break; /* the server left early */
        printf("%.*s -> %s\n", (int)strlen(asks[f->i]) - 1, asks[f->i], f->line.data);
    }
    io_read_line_init(&f->line, &f->rd, 128); /* then the end of the stream */
    AWAIT_TRY(cx, &f->line);
    io_fd_close(&f->conn);
    if (f->line.data) ASYNC_RETURN(-EPROTO);
    ASYNC_END();
}

/* The two sides joined: the first error ends both. */
ASYNC_FN(both, serve_t *server; talk_t *client;) {
    ASYNC_BEGIN(f);
    TRY_JOIN(cx, f->server, f->client);
    ASYNC_END();
}

/* async fn app(pool, listener): both sides, under a 5 s timeout */
ASYNC_FN(app, blocking_pool_t *pool; io_fd_t *lis; serve_t server; talk_t client; both_t pair;
         timer_timeout_t limit; io_addr_t where;) {
    ASYNC_BEGIN(f);
    io_local_addr(f->lis, &f->where); /* the port the system picked */
    f->server = ASYNC_NEW(serve, .lis = f->lis);
    f->client = ASYNC_NEW(talk, .pool = f->pool, .port = io_addr_port(&f->where));
    f->pair = ASYNC_NEW(both, .server = &f->server, .client = &f->client);
    timer_timeout_init(&f->limit, &f->pair, 5 * TIMER_SEC);
    AWAIT_TRY(cx, &f->limit); /* -ETIMEDOUT if they never finish */
    printf("server: %d requests, client closed cleanly\n", f->server.requests);
    ASYNC_END();
}

int main(void) {
    exec_t ex;
    blocking_pool_t pool;
    io_fd_t lis;
    io_addr_t any;
    app_t app;
    int rc;
    if (exec_init(&ex)) return 1;
    if (blocking_pool_init(&pool, &ex, 0)) return 1;
    io_addr_parse(&any, "127.0.0.1", 0);
    rc = io_listen(&lis, &ex, &any, 16, 0);
    if (rc < 0) {
        fprintf(stderr, "listen: %s\n", strerror(-rc));
        return 1;
    }
    app = ASYNC_NEW(app, .pool = &pool, .lis = &lis);
    rc = exec_block_on(&ex, &app);
    if (rc) fprintf(stderr, "fetch_by_name: %s\n", strerror(-rc));
    io_fd_close(&lis);
    blocking_pool_destroy(&pool);
    exec_destroy(&ex);
    return rc != 0;
}
