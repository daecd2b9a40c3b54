//! tokio peer for `make bench`.
//!
//! Prints `# tokio 1.24 current_thread`, then one `name value` line per
//! workload: ns per operation unless the name says otherwise (`_ms`,
//! `_bytes`).  Each value is the median of 5 in-process runs (`--runs N`: of
//! N, 1..5; bench/run.sh passes `--runs 1` and takes the median over its
//! rounds; `--quick`: tiny sizes, one run).  Every workload runs on a current-thread runtime, inside
//! a spawned task (not the `block_on` future), one runtime per workload.
//! PEER_DEBUG=1 in the environment adds progress/timing lines on stderr.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Runtime};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::{sleep, sleep_until, Sleep};

/// Problem sizes: full mode, or `--quick` (tiny, smoke-test only).
struct Sizes {
    runs: usize,
    awaits: u64,
    yields: u64,
    spawns: u64,
    idle: usize,
    timers: u64,       // reg/cancel iterations
    others: usize,     // live timers for timer_reg_cancel_1m
    fire: usize,       // timers_fire count
    fire_span: u64,    // deadlines uniform in 0..fire_span ms
    join_wakes: usize, // wakes per join_wake run (split into rounds)
    selects: u64,
    blocking: usize,
    pingpong: u64,
}

#[rustfmt::skip]
const FULL: Sizes = Sizes {
    runs: 5, awaits: 10_000_000, yields: 1_000_000, spawns: 1_000_000, idle: 1_000_000,
    timers: 1_000_000, others: 1_000_000, fire: 1_000_000, fire_span: 1000,
    join_wakes: 500_000, selects: 1_000_000, blocking: 100_000, pingpong: 1_000_000,
};
#[rustfmt::skip]
const QUICK: Sizes = Sizes {
    runs: 1, awaits: 100_000, yields: 10_000, spawns: 10_000, idle: 10_000,
    timers: 10_000, others: 10_000, fire: 10_000, fire_span: 100,
    join_wakes: 100_000, selects: 10_000, blocking: 1_000, pingpong: 10_000,
};

// glibc, for the RSS measurements (no libc crate needed).
extern "C" {
    fn sysconf(name: i32) -> i64;
    fn malloc_trim(pad: usize) -> i32;
}
const SC_PAGESIZE: i32 = 30; // _SC_PAGESIZE on Linux

/// Resident set size in bytes, from /proc/self/statm (2nd field, in pages).
fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * unsafe { sysconf(SC_PAGESIZE) } as usize
}

fn runtime() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn ns_per(t: Instant, n: u64) -> f64 {
    t.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Fresh runtime; run the async workload `runs` times, each inside a
/// spawned task; median of the results.
fn bench<F, Fut>(runs: usize, f: F) -> f64
where
    F: Fn() -> Fut,
    Fut: Future<Output = f64> + Send + 'static,
{
    let rt = runtime();
    let v = (0..runs)
        .map(|_| rt.block_on(async { tokio::spawn(f()).await.unwrap() }))
        .collect();
    median(v)
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

// ---- await_ready_d1 / _d10: awaiting async fns that complete at once ----
async fn l1(x: u64) -> u64 {
    black_box(x)
}
macro_rules! chain {
    ($($name:ident => $inner:ident),*) => {
        $(async fn $name(x: u64) -> u64 { $inner(x).await })*
    };
}
chain!(l2 => l1, l3 => l2, l4 => l3, l5 => l4, l6 => l5, l7 => l6, l8 => l7, l9 => l8, l10 => l9);

async fn await_ready<F: Fn(u64) -> Fut, Fut: Future<Output = u64>>(n: u64, f: F) -> f64 {
    let t = Instant::now();
    let mut acc = 0u64;
    for i in 0..n {
        acc = acc.wrapping_add(f(black_box(i)).await);
    }
    black_box(acc);
    ns_per(t, n)
}

// ---- yield_rt ----
async fn yield_rt(n: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
    ns_per(t, n)
}

// ---- spawn_join: spawn n trivial tasks, then await every handle ----
async fn spawn_join(n: u64) -> f64 {
    let mut hs = Vec::with_capacity(n as usize);
    let t = Instant::now();
    for i in 0..n {
        hs.push(tokio::spawn(async move { black_box(i) }));
    }
    for h in hs {
        black_box(h.await.unwrap());
    }
    ns_per(t, n)
}

// ---- idle_task_bytes / idle_setup_teardown_ms ----
static POLLED: AtomicUsize = AtomicUsize::new(0);

/// One run: returns (RSS bytes per idle task, setup+teardown ms).
/// Tasks are detached (JoinHandles dropped at once), so only the task
/// itself (header + future holding a registered Sleep) and the scheduler's
/// run-queue slot are counted.
fn idle_run(n: usize) -> (f64, f64) {
    unsafe { malloc_trim(0) }; // hand the previous run's freed pages back
    let rt = runtime();
    POLLED.store(0, SeqCst);
    let before = rss();
    let t = Instant::now();
    let after = rt.block_on(async move {
        for _ in 0..n {
            tokio::spawn(async {
                POLLED.fetch_add(1, Relaxed);
                sleep(Duration::from_secs(1)).await; // registers on first poll
            });
        }
        while POLLED.load(Relaxed) < n {
            tokio::task::yield_now().await;
        }
        rss()
    });
    drop(rt); // cancels all n tasks
    let ms = t.elapsed().as_secs_f64() * 1e3;
    if std::env::var_os("PEER_DEBUG").is_some() {
        eprintln!(
            "  idle run: rss before {before} after {after}, {ms:.1} ms (size_of Sleep = {})",
            std::mem::size_of::<Sleep>()
        );
    }
    ((after as f64 - before as f64) / n as f64, ms)
}

// ---- timer_reg_cancel(_1m): create a 1 s Sleep, poll it once (which
// inserts it into the timer wheel), drop it (which removes it) ----
async fn reg_cancel(n: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        let s = sleep(Duration::from_secs(1));
        tokio::pin!(s);
        // A pending Sleep does not use up the coop budget, so every poll
        // really registers.
        black_box(futures::poll!(s.as_mut()).is_pending());
    }
    ns_per(t, n)
}

/// The `others` live sleeps are set up once; the measured loop then runs
/// `runs` times against them (median returned).
async fn reg_cancel_with_others(n: u64, others: usize, runs: usize) -> f64 {
    let mut live: Vec<Pin<Box<Sleep>>> = (0..others)
        .map(|_| Box::pin(sleep(Duration::from_secs(10))))
        .collect();
    for s in live.iter_mut() {
        assert!(futures::poll!(s.as_mut()).is_pending());
    }
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        v.push(reg_cancel(n).await);
    }
    drop(live);
    median(v)
}

// ---- timers_fire_1m_late_ms: n tasks sleep until start + U(0..span) ms;
// wall time until the last one has woken, minus span ----
async fn timers_fire(n: usize, span_ms: u64) -> f64 {
    static LEFT: AtomicUsize = AtomicUsize::new(0);
    let done = Arc::new(Notify::new());
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    LEFT.store(n, SeqCst);
    let start = Instant::now();
    let base = tokio::time::Instant::from_std(start);
    for _ in 0..n {
        let at = base + Duration::from_millis(xorshift(&mut seed) % span_ms);
        let done = done.clone();
        tokio::spawn(async move {
            sleep_until(at).await;
            if LEFT.fetch_sub(1, AcqRel) == 1 {
                done.notify_one(); // stores a permit if we are not waiting yet
            }
        });
    }
    done.notified().await;
    start.elapsed().as_secs_f64() * 1e3 - span_ms as f64
}

// ---- join_wake_n*: per-wake cost of a join over n children ----
// Join primitive: futures::future::join_all (futures-util 0.3.21).  For
// n <= 30 (n10) it is a boxed slice of MaybeDone that is polled in full on
// every wake; for larger n (n1000, n100000) it is FuturesOrdered over
// FuturesUnordered (a waker per child plus a ready queue, so a wake costs
// O(1)).  Each child awaits its own tokio oneshot.  The driver, in the same
// task, sends on child i's oneshot (waking it) and polls the join once so it
// processes that wake, for i = 0..n.  Only that loop is timed (building the
// n children and the first poll that parks them all are not); it is repeated
// in rounds until ~join_wakes wakes have been timed.  Wrapped in
// `unconstrained` so tokio's coop budget doesn't make ready children fake
// Pending after 128 wakes within a single task poll.
async fn join_wake(n: usize, total_wakes: usize) -> f64 {
    tokio::task::unconstrained(async move {
        let rounds = (total_wakes / n).max(1);
        let mut timed = Duration::ZERO;
        for _ in 0..rounds {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| oneshot::channel::<u32>()).unzip();
            let join = futures::future::join_all(
                rxs.into_iter().map(|rx| async move { rx.await.unwrap() }),
            );
            tokio::pin!(join);
            assert!(futures::poll!(join.as_mut()).is_pending());
            let t = Instant::now();
            for (i, tx) in txs.into_iter().enumerate() {
                tx.send(i as u32).unwrap();
                let p = futures::poll!(join.as_mut());
                // Only the last wake may (and must) complete the join.
                assert_eq!(black_box(p.is_ready()), i + 1 == n);
            }
            timed += t.elapsed();
        }
        timed.as_nanos() as f64 / (rounds * n) as f64
    })
    .await
}

// ---- select2: select! between a 1 s sleep (polled first via `biased`, so it
// registers, then dropped as the loser) and an immediately ready future ----
async fn select2(n: u64) -> f64 {
    let t = Instant::now();
    let mut acc = 0u64;
    for i in 0..n {
        acc = acc.wrapping_add(tokio::select! {
            biased;
            _ = sleep(Duration::from_secs(1)) => 0,
            v = std::future::ready(black_box(i)) => v,
        });
    }
    black_box(acc);
    ns_per(t, n)
}

// ---- spawn_blocking_100k: the runtime's own blocking pool (tokio default:
// up to 512 threads, kept alive 10 s, so runs 2..5 reuse them) ----
async fn spawn_blocking(n: usize) -> f64 {
    let mut hs = Vec::with_capacity(n);
    let t = Instant::now();
    for i in 0..n {
        hs.push(tokio::task::spawn_blocking(move || black_box(i)));
    }
    for h in hs {
        black_box(h.await.unwrap());
    }
    ns_per(t, n as u64)
}

// ---- chan_pingpong: two tasks, two mpsc channels of capacity 1 ----
async fn chan_pingpong(n: u64) -> f64 {
    let (to_echo, mut echo_rx) = mpsc::channel::<u64>(1);
    let (to_main, mut main_rx) = mpsc::channel::<u64>(1);
    let echo = tokio::spawn(async move {
        while let Some(v) = echo_rx.recv().await {
            if to_main.send(v).await.is_err() {
                break;
            }
        }
    });
    let t = Instant::now();
    for i in 0..n {
        to_echo.send(i).await.unwrap();
        black_box(main_rx.recv().await.unwrap());
    }
    let r = ns_per(t, n);
    drop(to_echo);
    echo.await.unwrap();
    r
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let s = if quick { &QUICK } else { &FULL };
    let mut r = s.runs;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--quick" => {}
            "--runs" if i + 1 < args.len() => {
                i += 1;
                r = args[i].parse().unwrap_or(0);
            }
            _ => r = 0,
        }
        i += 1;
    }
    if !(1..=5).contains(&r) {
        eprintln!("usage: tokio_bench [--quick] [--runs 1..5]");
        std::process::exit(2);
    }
    println!("# tokio 1.24 current_thread");
    if quick {
        println!("# quick mode: tiny sizes, one run each (numbers not meaningful)");
    }
    let t0 = Instant::now();
    let out = |name: &str, v: f64| {
        println!("{name} {v:.2}");
        if std::env::var_os("PEER_DEBUG").is_some() {
            eprintln!("  [{name} done at {:.2}s]", t0.elapsed().as_secs_f64());
        }
    };

    out("await_ready_d1", bench(r, || await_ready(s.awaits, l1)));
    out("await_ready_d10", bench(r, || await_ready(s.awaits, l10)));
    out("yield_rt", bench(r, || yield_rt(s.yields)));
    // One untimed run first: the first spawns grow the allocator's heap
    // (page faults), which a single measured round would otherwise count
    // (bench_core pre-touches its task memory the same way).
    bench(1, || spawn_join(s.spawns));
    out("spawn_join", bench(r, || spawn_join(s.spawns)));

    let (bytes, ms): (Vec<f64>, Vec<f64>) = (0..r).map(|_| idle_run(s.idle)).unzip();
    out("idle_task_bytes", median(bytes));
    out("idle_setup_teardown_ms", median(ms));

    out("timer_reg_cancel", bench(r, || reg_cancel(s.timers)));
    out(
        "timer_reg_cancel_1m",
        bench(1, || reg_cancel_with_others(s.timers, s.others, r)),
    );
    out(
        "timers_fire_1m_late_ms",
        bench(r, || timers_fire(s.fire, s.fire_span)),
    );
    for n in [10usize, 1000, 100_000] {
        out(
            &format!("join_wake_n{n}"),
            bench(r, || join_wake(n, s.join_wakes)),
        );
    }
    out("select2", bench(r, || select2(s.selects)));
    out(
        "spawn_blocking_100k",
        bench(r, || spawn_blocking(s.blocking)),
    );
    out("chan_pingpong", bench(r, || chan_pingpong(s.pingpong)));
}
