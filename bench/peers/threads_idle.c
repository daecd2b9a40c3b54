/* pthread peer for the idle-task memory case of `make bench`.
 * Build: cc -O2 threads_idle.c -pthread
 *
 * One OS thread per "task": N threads (default 10,000; --quick 100; or a
 * number given as argument) are created with the default attributes and each
 * blocks on a condition variable.  Once all are blocked we read RSS and
 * virtual size, then wake and join them all.  Prints, median of 5 runs
 * (--runs N: of N, 1..5, as bench/run.sh passes --runs 1; --quick: 1):
 *   idle_task_bytes        RSS delta per thread (user-space pages only: the
 *                          kernel's per-thread stack and task_struct are not
 *                          in RSS)
 *   idle_task_virt_bytes   address-space delta per thread (= the default
 *                          stack size plus its guard page)
 *   idle_setup_teardown_ms create all, wait until all blocked, wake, join
 */
#define _GNU_SOURCE /* pthread_getattr_default_np */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUNS_MAX 5

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER;
static long ready;
static int go;
static long nthreads;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void statm(long *virt, long *res) /* bytes, from /proc/self/statm */
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld %ld", virt, res) != 2)
		abort();
	fclose(f);
	*virt *= sysconf(_SC_PAGESIZE);
	*res *= sysconf(_SC_PAGESIZE);
}

static void *idle_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	if (++ready == nthreads)
		pthread_cond_signal(&all_ready);
	while (!go) /* blocked here: the "idle task" */
		pthread_cond_wait(&go_cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void one_run(pthread_t *ts, double *rss_per, double *virt_per, double *ms)
{
	long v0, r0, v1, r1;
	ready = 0;
	go = 0;
	statm(&v0, &r0);
	double t0 = now_ms();
	for (long i = 0; i < nthreads; i++) {
		int e = pthread_create(&ts[i], NULL, idle_thread, NULL);
		if (e) {
			fprintf(stderr, "threads_idle: pthread_create #%ld: %s\n", i, strerror(e));
			exit(1);
		}
	}
	pthread_mutex_lock(&mu);
	while (ready < nthreads)
		pthread_cond_wait(&all_ready, &mu);
	pthread_mutex_unlock(&mu);
	statm(&v1, &r1); /* every thread is now blocked in pthread_cond_wait */
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&go_cv);
	pthread_mutex_unlock(&mu);
	for (long i = 0; i < nthreads; i++)
		pthread_join(ts[i], NULL);
	*ms = now_ms() - t0;
	*rss_per = (double)(r1 - r0) / nthreads;
	*virt_per = (double)(v1 - v0) / nthreads;
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

int main(int argc, char **argv)
{
	int quick = 0, runs = RUNS_MAX;
	nthreads = 10000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = 1, nthreads = 100, runs = 1;
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (argv[i][0] == '-')
			runs = 0; /* an unknown option: the usage line */
		else
			nthreads = atol(argv[i]);
	}
	if (runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: %s [--quick] [--runs 1..%d] [THREADS]\n", argv[0], RUNS_MAX);
		return 2;
	}
	if (nthreads < 1)
		nthreads = 1;

	pthread_attr_t attr;
	size_t stack = 0;
	pthread_getattr_default_np(&attr);
	pthread_attr_getstacksize(&attr, &stack);
	pthread_attr_destroy(&attr);

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# pthreads, one thread per task\n");
	printf("# %ld threads, default stack size %zu bytes%s\n", nthreads, stack,
	       quick ? ", quick mode (one run)" : "");

	pthread_t *ts = calloc(nthreads, sizeof *ts);
	double rss[RUNS_MAX], virt[RUNS_MAX], ms[RUNS_MAX];
	for (int r = 0; r < runs; r++)
		one_run(ts, &rss[r], &virt[r], &ms[r]);
	printf("idle_task_bytes %.2f\n", median(rss, runs));
	printf("idle_task_virt_bytes %.2f\n", median(virt, runs));
	printf("idle_setup_teardown_ms %.2f\n", median(ms, runs));
	free(ts);
	return 0;
}
