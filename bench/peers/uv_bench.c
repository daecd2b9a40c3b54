/* libuv peer for `make bench`.   Build: cc -O2 uv_bench.c -luv
 *
 * Prints "# libuv <version>", then one "name value" line per workload: ns
 * per operation unless the name says otherwise (_ms, _bytes).  Each value is
 * the median of 5 runs (--runs N: of N, 1..5; bench/run.sh passes --runs 1
 * and takes the median over its rounds); --quick uses tiny sizes and one run.  Every run gets
 * its own freshly initialised uv_loop_t, closed again afterwards.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define RUNS_MAX 5
static int runs = RUNS_MAX;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long rss_bytes(void) /* resident set size, from /proc/self/statm */
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2)
		abort();
	fclose(f);
	return res * sysconf(_SC_PAGESIZE);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return v[n / 2];
}

static void check(int r, const char *what)
{
	if (r != 0) {
		fprintf(stderr, "uv_bench: %s: %s\n", what, uv_strerror(r));
		exit(1);
	}
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Close every handle still open on the loop, let the close callbacks run,
 * and close the loop. */
static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}
static void loop_done(uv_loop_t *loop)
{
	uv_walk(loop, close_walk, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	check(uv_loop_close(loop), "uv_loop_close");
}

static void never_cb(uv_timer_t *t) { (void)t; abort(); }
/* The idle timers are due 1 s after their start: on a loaded machine the
 * setup can take longer than that, and they fire. Harmless there. */
static void idle_fired_cb(uv_timer_t *t) { (void)t; }

/* ---- timer_reg_cancel(_1m): start a 1 s timer and stop it again, n times,
 * with `others` other timers (10 s) started on the same loop.  libuv keeps
 * timers in a binary min-heap, and uv_timer_start uses the loop's cached
 * time (no clock read per start).  The other timers are set up once; the
 * measured loop runs `runs` times against them and the median is returned. */
static double timer_reg_cancel(long n, long others)
{
	uv_loop_t loop;
	uv_timer_t t, *o = calloc(others ? others : 1, sizeof *o);
	double v[RUNS_MAX];
	check(uv_loop_init(&loop), "uv_loop_init");
	for (long i = 0; i < others; i++) {
		uv_timer_init(&loop, &o[i]);
		uv_timer_start(&o[i], never_cb, 10000, 0);
	}
	uv_timer_init(&loop, &t);
	for (int r = 0; r < runs; r++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++) {
			uv_timer_start(&t, never_cb, 1000, 0);
			uv_timer_stop(&t);
		}
		v[r] = (now_ns() - t0) / n;
	}
	loop_done(&loop);
	free(o);
	return median(v, runs);
}

/* ---- timers_fire_1m_late_ms: n timers, timeouts uniform in 0..span ms
 * (fixed-seed xorshift), run the loop until all fired; wall time minus span. */
static long fired;
static void count_cb(uv_timer_t *t) { (void)t; fired++; }

static double timers_fire(long n, long span_ms)
{
	uv_loop_t loop;
	uv_timer_t *ts = calloc(n, sizeof *ts);
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	check(uv_loop_init(&loop), "uv_loop_init");
	fired = 0;
	double t0 = now_ns();
	uv_update_time(&loop); /* timeouts are relative to the loop's clock */
	for (long i = 0; i < n; i++) {
		uv_timer_init(&loop, &ts[i]);
		uv_timer_start(&ts[i], count_cb, xorshift(&seed) % span_ms, 0);
	}
	uv_run(&loop, UV_RUN_DEFAULT); /* returns once no timer is left active */
	double r = (now_ns() - t0) / 1e6 - span_ms;
	if (fired != n)
		abort();
	loop_done(&loop);
	free(ts);
	return r;
}

/* ---- idle_task_bytes / idle_setup_teardown_ms: n started 1 s timers in one
 * calloc'd array (a uv_timer_t is the whole per-"task" state).  Setup =
 * allocate, init, start, one non-blocking loop turn; teardown = close all,
 * run the close callbacks, close the loop, free.  Handles are closed in
 * uv_walk order (= start order), the generic "close everything" idiom; each
 * close then removes the heap's root and sifts its replacement down, which is
 * most of the teardown time (closing in reverse array order would be ~20x
 * cheaper, but needs knowledge of the heap's layout). */
static void idle_run(long n, double *bytes, double *ms)
{
	uv_loop_t loop;
	malloc_trim(0);
	long before = rss_bytes();
	double t0 = now_ns();
	uv_timer_t *ts = calloc(n, sizeof *ts);
	check(uv_loop_init(&loop), "uv_loop_init");
	for (long i = 0; i < n; i++) {
		uv_timer_init(&loop, &ts[i]);
		uv_timer_start(&ts[i], idle_fired_cb, 1000, 0);
	}
	uv_run(&loop, UV_RUN_NOWAIT);
	long after = rss_bytes();
	loop_done(&loop);
	free(ts);
	*ms = (now_ns() - t0) / 1e6;
	*bytes = (double)(after - before) / n;
}

/* ---- spawn_blocking_100k: n trivial uv_queue_work jobs on libuv's thread
 * pool (default 4 threads, UV_THREADPOOL_SIZE; created on first use, so the
 * first run pays for it), timed until every after_work callback has run. */
static long works_done;
static void work_cb(uv_work_t *w) { *(volatile long *)w->data = 1; }
static void after_work_cb(uv_work_t *w, int status)
{
	(void)w;
	check(status, "after_work");
	works_done++;
}

static double spawn_blocking(long n)
{
	uv_loop_t loop;
	uv_work_t *ws = calloc(n, sizeof *ws);
	long *slots = calloc(n, sizeof *slots);
	check(uv_loop_init(&loop), "uv_loop_init");
	works_done = 0;
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		ws[i].data = &slots[i];
		check(uv_queue_work(&loop, &ws[i], work_cb, after_work_cb), "uv_queue_work");
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	double r = (now_ns() - t0) / n;
	if (works_done != n)
		abort();
	loop_done(&loop);
	free(ws);
	free(slots);
	return r;
}

/* ---- yield_rt: libuv has no coroutine yield; its closest analogue is one
 * full turn of the event loop.  A uv_idle_t callback counts n loop
 * iterations (an active idle handle makes each turn poll for I/O with a zero
 * timeout, so every turn includes an epoll_wait(..., 0) on the loop's
 * internal async wake-up fd). */
static long idle_left;
static void idle_cb(uv_idle_t *h)
{
	if (--idle_left == 0)
		uv_idle_stop(h);
}

static double yield_rt(long n)
{
	uv_loop_t loop;
	uv_idle_t idle;
	check(uv_loop_init(&loop), "uv_loop_init");
	uv_idle_init(&loop, &idle);
	idle_left = n;
	double t0 = now_ns();
	uv_idle_start(&idle, idle_cb);
	uv_run(&loop, UV_RUN_DEFAULT);
	double r = (now_ns() - t0) / n;
	loop_done(&loop);
	return r;
}

int main(int argc, char **argv)
{
	int quick = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = 1, runs = 1;
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else
			runs = 0;
	}
	if (runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: %s [--quick] [--runs 1..%d]\n", argv[0], RUNS_MAX);
		return 2;
	}
	long M = quick ? 10000 : 1000000;          /* the "1m" sizes */
	long span = quick ? 100 : 1000;            /* timers_fire deadline span, ms */
	long jobs = quick ? 1000 : 100000;
	double a[RUNS_MAX], b[RUNS_MAX];

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# libuv %s\n", uv_version_string());
	if (quick)
		printf("# quick mode: tiny sizes, one run each (numbers not meaningful)\n");

#define BENCH(name, expr)                              \
	do {                                           \
		for (int r_ = 0; r_ < runs; r_++)      \
			a[r_] = (expr);                \
		printf("%s %.2f\n", name, median(a, runs)); \
	} while (0)

	BENCH("yield_rt", yield_rt(M));
	for (int r = 0; r < runs; r++)
		idle_run(M, &a[r], &b[r]);
	printf("idle_task_bytes %.2f\n", median(a, runs));
	printf("idle_setup_teardown_ms %.2f\n", median(b, runs));
	printf("timer_reg_cancel %.2f\n", timer_reg_cancel(M, 0));
	printf("timer_reg_cancel_1m %.2f\n", timer_reg_cancel(M, M));
	BENCH("timers_fire_1m_late_ms", timers_fire(M, span));
	BENCH("spawn_blocking_100k", spawn_blocking(jobs));
	return 0;
}
