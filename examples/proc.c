/* proc: run a child process, stream its output line by line, and kill it
 * when a deadline passes (tokio's process::Command, with a BufReader's
 * lines and a timeout).
 *
 * The child prints three lines, then hangs (sleep 10). Each line is shown
 * as it comes; at the 500 ms deadline the child is killed, and its wait
 * says how it ended. The frame owns the child: however the frame ends
 * (an error, a drop), proc_close kills it if it still runs and reaps it,
 * so no zombie is left. read_line is cancel-safe: the deadline dropping
 * it loses no byte. */
#include "../proc.h"

static void child_close(future_owned_t *n);

ASYNC_FN(app, proc_t child; future_owned_t owns_child; io_reader_t rd; io_read_line_t line;
         timer_sleep_t deadline; proc_wait_t wait; uint64_t end; int which; char buf[256];) {
    static char *argv[] = {"/bin/sh", "-c",
                           "for i in 1 2 3; do echo \"line $i\"; done; exec sleep 10", 0};
    proc_opts_t o = {0};
    int rc;
    ASYNC_BEGIN(f);
    o.argv = argv;
    o.out.how = PROC_PIPE; /* f->child.out: its stdout */
    rc = proc_spawn(&f->child, exec_of(cx), &o);
    if (rc < 0) ASYNC_RETURN(rc);
    future_own(f, &f->owns_child, child_close);
    io_reader_init(&f->rd, &f->child.out, f->buf, sizeof f->buf);
    f->end = exec_now(exec_of(cx)) + 500 * TIMER_MS;
    for (;;) {
        io_read_line_init(&f->line, &f->rd, sizeof f->buf - 1);
        timer_sleep_until_init(&f->deadline, f->end);
        SELECT(cx, f->which, &f->line, &f->deadline);
        if (f->which == 1) {
            printf("deadline: killing the child\n");
            proc_kill(&f->child, SIGKILL);
            break;
        }
        if (future_err(&f->line) < 0) ASYNC_RETURN(future_err(&f->line));
        if (!f->line.data) break; /* the end of its output */
        printf("child says: %s\n", f->line.data);
    }
    proc_wait_init(&f->wait, &f->child);
    AWAIT_TRY(cx, &f->wait);
    if (f->wait.out.signal) printf("child ended by signal %d\n", f->wait.out.signal);
    else printf("child exited with code %d\n", f->wait.out.code);
    ASYNC_END();
}

static void child_close(future_owned_t *n) {
    proc_close(&FUTURE_CONTAINER_OF(n, app_t, owns_child)->child);
}

EXEC_MAIN(app)
