/* spawn_n: spawn N tasks, N known only at run time, and collect their
 * results in the order they finish (tokio's JoinSet: spawn in a loop, then
 * join_next until the set is empty).
 *
 *     build/spawn_n [N]          (default 5, at most 100000)
 *
 * Job i sleeps 10 * (1 + 2i mod N) ms and returns i * i; job 3 fails with
 * EIO, to show the error path. join_next hands out each task as it
 * finishes, with its result. The clock is paused (tokio's time::pause):
 * the run is instant, the output always the same, and the elapsed time
 * is the longest job's, not the sum: the jobs ran side by side. */
#include "../exec.h"

enum { FAILING_JOB = 3, MAX_JOBS = 100000 };

/* async fn job(id, ms) -> id * id */
typedef struct {
    future_t fut;
    int id, result;
    uint64_t ms;
    char name[16]; /* "job 12": the task's name in reports */
    timer_sleep_t nap;
} job_t;

static coro_poll_t job_poll(future_t *self, future_cx_t *cx) {
    job_t *j = (job_t *)self;
    ASYNC_BEGIN(j);
    timer_sleep_init(&j->nap, j->ms * TIMER_MS);
    AWAIT(cx, &j->nap);
    if (j->id == FAILING_JOB) ASYNC_RETURN(-EIO);
    j->result = j->id * j->id;
    ASYNC_END();
}

static unsigned long long ms_since(future_cx_t *cx, uint64_t t0) {
    return (unsigned long long)((exec_now(exec_of(cx)) - t0) / TIMER_MS);
}

/* async fn run_all(n): the jobs and their task records are main's memory */
typedef struct {
    future_t fut;
    int n, i, ok, failed;
    job_t *jobs;
    exec_task_t *tasks;
    exec_scope_t scope;
    exec_scope_next_t next;
    uint64_t start, sum;
} all_t;

static coro_poll_t all_poll(future_t *self, future_cx_t *cx) {
    all_t *f = (all_t *)self;
    job_t *j;
    ASYNC_BEGIN(f);
    f->start = exec_now(exec_of(cx));
    EXEC_SCOPE_INIT(cx, &f->scope); /* this frame's: its tasks cannot outlive it */
    for (f->i = 0; f->i < f->n; f->i++) {
        j = &f->jobs[f->i];
        future_init(&j->fut, job_poll, 0);
        j->id = f->i;
        j->ms = 10 * (uint64_t)(1 + 2 * f->i % f->n);
        f->sum += j->ms;
        snprintf(j->name, sizeof j->name, "job %d", f->i);
        exec_scope_spawn(&f->scope, &f->tasks[f->i], j);
        exec_task_set_name(&f->tasks[f->i], j->name);
    }
    for (;;) { /* while let Some(res) = set.join_next().await */
        exec_scope_next_init(&f->next, &f->scope);
        AWAIT(cx, &f->next);
        if (!f->next.task) break; /* the scope is empty */
        j = &f->jobs[f->next.task - f->tasks];
        if (f->next.err) {
            f->failed++;
            printf("%4llu ms  %s failed: %s\n", ms_since(cx, f->start), j->name,
                   strerror(-f->next.err));
        } else {
            f->ok++;
            printf("%4llu ms  %s finished: %d\n", ms_since(cx, f->start), j->name, j->result);
        }
    }
    printf("%d jobs: %d ok, %d failed\n", f->n, f->ok, f->failed);
    printf("elapsed: %llu ms (one after another: %llu ms)\n", ms_since(cx, f->start),
           (unsigned long long)f->sum);
    ASYNC_END();
}

int main(int argc, char **argv) {
    exec_t ex;
    all_t all = {0};
    int err;
    all.n = argc > 1 ? atoi(argv[1]) : 5;
    if (all.n < 1 || all.n > MAX_JOBS)
        return fprintf(stderr, "usage: %s [N (1..%d)]\n", argv[0], MAX_JOBS), 2;
    /* N frames and N task records, in memory that stays put until every
     * task is over: not the frame's own (its size is fixed at compile
     * time), not a VLA (N frames on main's stack could overflow it), so
     * one calloc each (zeroed: fresh task records), freed after the
     * executor is gone. */
    all.jobs = (job_t *)calloc((size_t)all.n, sizeof *all.jobs);
    all.tasks = (exec_task_t *)calloc((size_t)all.n, sizeof *all.tasks);
    if (!all.jobs || !all.tasks) return fprintf(stderr, "out of memory\n"), 1;
    if ((err = exec_init(&ex))) return fprintf(stderr, "exec_init: %s\n", strerror(-err)), 1;
    exec_clock_pause(&ex);
    future_init(&all.fut, all_poll, 0);
    err = exec_block_on(&ex, &all);
    exec_destroy(&ex);
    free(all.jobs);
    free(all.tasks);
    return err ? 1 : 0;
}
