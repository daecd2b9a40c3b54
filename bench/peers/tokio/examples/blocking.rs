//! The tokio twin of examples/blocking.c: why spawn_blocking exists. A ticker
//! task ticks every 100 ms and records how late each tick is; a second task
//! hashes a large generated buffer. Run 1 hashes on the runtime's thread: the
//! ticker stalls for the whole hash. Run 2 hashes with spawn_blocking: the
//! ticker stays on time. The last two lines compare the worst lateness.
//! (tokio has no blocked-executor detector, so the C example's report of
//! where the thread was held is left out.)
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use tokio::time::{interval, sleep, Duration, MissedTickBehavior};

const BUF_BYTES: usize = 16 << 20;
const ROUNDS: usize = 20;

/// The work: FNV-1a over the buffer, ROUNDS times (CPU-bound, ~0.3-0.6 s).
fn hash(buf: &[u8]) -> u64 {
    let mut h: u64 = 1469598103934665603;
    for _ in 0..ROUNDS {
        for &b in buf {
            h = (h ^ b as u64).wrapping_mul(1099511628211);
        }
    }
    h
}

/// Ticks every 100 ms until stop; returns the ticks and the worst lateness.
async fn ticker(stop: Arc<AtomicBool>) -> (u32, Duration) {
    let mut iv = interval(Duration::from_millis(100));
    iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let (mut ticks, mut worst) = (0, Duration::ZERO);
    while !stop.load(SeqCst) {
        worst = worst.max(iv.tick().await.elapsed());
        ticks += 1;
    }
    (ticks, worst)
}

/// Waits 250 ms, hashes (here or on the blocking pool), waits 250 ms more,
/// then stops the ticker.
async fn hasher(buf: Arc<Vec<u8>>, pooled: bool, stop: Arc<AtomicBool>) -> u64 {
    sleep(Duration::from_millis(250)).await;
    let h = if pooled {
        tokio::task::spawn_blocking(move || hash(&buf)).await.unwrap() // the fix
    } else {
        hash(&buf) // the mistake: the runtime's thread
    };
    sleep(Duration::from_millis(250)).await;
    stop.store(true, SeqCst);
    h
}

/// One run: both tasks side by side. Returns the worst lateness.
async fn run(buf: &Arc<Vec<u8>>, pooled: bool) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = tokio::spawn(ticker(stop.clone()));
    let h = tokio::spawn(hasher(buf.clone(), pooled, stop)).await.unwrap();
    let (ticks, worst) = ticker.await.unwrap();
    println!("  hash {h:016x}, {ticks} ticks, worst lateness {} ms", worst.as_millis());
    worst
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut x: u64 = 88172645463325252; // a generated buffer (xorshift)
    let buf: Vec<u8> = (0..BUF_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let buf = Arc::new(buf);
    println!("run 1: hashing {} MiB x {ROUNDS} on the executor thread", BUF_BYTES >> 20);
    let on_exec = run(&buf, false).await;
    println!("run 2: the same hash with spawn_blocking");
    let pooled = run(&buf, true).await;
    println!("on executor: worst lateness {} ms", on_exec.as_millis());
    println!("spawn_blocking: worst lateness {} ms", pooled.as_millis());
}
