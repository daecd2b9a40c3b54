/* workers: a pool of three worker tasks shares one job channel. Each
 * worker SELECTs between the next job and a shutdown notify. Finished jobs
 * are counted in a tally guarded by an async mutex, which a worker holds
 * across an AWAIT (writing the tally out takes 1 ms): with a pthread mutex
 * that would block the whole executor; with sync_mutex_t the others keep
 * working and queue for the lock in order. When the last job is counted,
 * the main task is told through a oneshot, and it shuts the pool down. The
 * clock is paused (tokio's time::pause), so the run is instant and the
 * output always the same. */
#include "../exec.h"
#include "../sync.h"

enum { WORKERS = 3, JOBS = 8 };

typedef struct {
    int id;
    uint64_t ms; /* how long the job takes */
} job_t;

/* Shared state, owned by main's frame. */
typedef struct {
    sync_chan_t jobs;
    sync_notify_t shutdown;
    sync_mutex_t lock; /* guards done and by_worker */
    int done, by_worker[WORKERS];
    int stopping; /* set before the notify: a worker busy at that moment sees it */
    sync_oneshot_t all_done; /* the worker counting the last job says so */
    int total;
    uint64_t start; /* for printing times from 0 */
} pool_t;

/* async fn worker(id, pool) */
ASYNC_FN(worker, int id, which; pool_t *pool; job_t job; sync_chan_recv_t next;
         sync_notified_t stop; timer_sleep_t work; sync_mutex_lock_t lock;) {
    pool_t *p = f->pool;
    ASYNC_BEGIN(f);
    while (!p->stopping) {
        sync_chan_recv_init(&f->next, &p->jobs, &f->job);
        sync_notified_init(&f->stop, &p->shutdown);
        SELECT(cx, f->which, &f->next, &f->stop); /* the loser is dropped */
        if (f->which == 1 || future_err(&f->next) == -EPIPE) break;
        timer_sleep_init(&f->work, f->job.ms * TIMER_MS);
        AWAIT(cx, &f->work);
        sync_mutex_lock_init(&f->lock, &p->lock);
        AWAIT(cx, &f->lock);
        p->done++;
        p->by_worker[f->id]++;
        printf("%4llu ms  worker %d finished job %d (%d done)\n",
               (unsigned long long)((exec_now(exec_of(cx)) - p->start) / TIMER_MS), f->id, f->job.id,
               p->done);
        timer_sleep_init(&f->work, 1 * TIMER_MS); /* "write the tally out", */
        AWAIT(cx, &f->work);                      /* lock held: fine here */
        if (p->done == JOBS) sync_oneshot_send(&p->all_done, &p->done);
        sync_mutex_unlock(&f->lock);
    }
    printf("%4llu ms  worker %d shuts down\n",
           (unsigned long long)((exec_now(exec_of(cx)) - p->start) / TIMER_MS), f->id);
    ASYNC_END();
}

/* #[tokio::main(start_paused = true)] async fn main() */
ASYNC_FN(app, pool_t pool; job_t buf[2], job; int i; worker_t w[WORKERS];
         exec_task_t task[WORKERS]; exec_join_t join[WORKERS]; sync_chan_send_t send;
         sync_oneshot_recv_t finished;) {
    static const uint64_t cost[JOBS] = {30, 10, 20, 10, 40, 10, 20, 30};
    pool_t *p = &f->pool;
    ASYNC_BEGIN(f);
    exec_clock_pause(exec_of(cx));
    p->start = exec_now(exec_of(cx));
    sync_chan_init(&p->jobs, f->buf, 2, sizeof(job_t));
    sync_notify_init(&p->shutdown);
    sync_mutex_init(&p->lock);
    sync_oneshot_init(&p->all_done, &p->total, sizeof p->total);
    for (f->i = 0; f->i < WORKERS; f->i++) {
        f->w[f->i] = ASYNC_NEW(worker, .id = f->i, .pool = p);
        SPAWN(cx, &f->task[f->i], &f->w[f->i]);
    }
    for (f->i = 0; f->i < JOBS; f->i++) { /* waits while 2 jobs are queued */
        f->job.id = f->i;
        f->job.ms = cost[f->i];
        sync_chan_send_init(&f->send, &p->jobs, &f->job);
        AWAIT_TRY(cx, &f->send);
    }
    printf("main: all %d jobs handed out; the producer waited %zu times\n", JOBS,
           p->jobs.send_waits);
    sync_oneshot_recv_init(&f->finished, &p->all_done, 0);
    AWAIT(cx, &f->finished);
    printf("main: %d jobs done; shutting the pool down\n", p->total);
    p->stopping = 1;
    sync_notify_waiters(&p->shutdown); /* wakes every worker in its SELECT */
    for (f->i = 0; f->i < WORKERS; f->i++) {
        exec_join_init(&f->join[f->i], &f->task[f->i]);
        AWAIT(cx, &f->join[f->i]);
    }
    for (f->i = 0; f->i < WORKERS; f->i++)
        printf("worker %d did %d jobs\n", f->i, p->by_worker[f->i]);
    printf("elapsed: %llu ms\n",
           (unsigned long long)((exec_now(exec_of(cx)) - p->start) / TIMER_MS));
    ASYNC_END();
}

EXEC_MAIN(app)
