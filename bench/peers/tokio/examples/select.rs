//! The tokio twin of examples/select.c: a primary and a backup source raced
//! against a timeout. The first to answer wins; select! drops the losers, and
//! each source says so when it is cancelled (a Drop guard). Round 1: the
//! backup answers first. Round 2: both are too slow and the timeout wins.
//! (tokio does not expose its timer count, so "timers still registered" is
//! left out.)
use tokio::time::{sleep, Duration};

/// Says "cancelled" when dropped: forgotten once the source has answered.
struct OnCancel(&'static str);

impl Drop for OnCancel {
    fn drop(&mut self) {
        println!("  {} cancelled", self.0);
    }
}

async fn source(name: &'static str, ms: u64) {
    let guard = OnCancel(name);
    sleep(Duration::from_millis(ms)).await;
    std::mem::forget(guard);
    println!("  {name} answered after {ms} ms");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    for (round, (p, b, t)) in [(300, 120, 1000), (800, 900, 250)].into_iter().enumerate() {
        println!("round {}: primary {p} ms, backup {b} ms, timeout {t} ms", round + 1);
        let winner = tokio::select! {
            _ = source("primary", p) => "primary",
            _ = source("backup", b) => "backup",
            _ = sleep(Duration::from_millis(t)) => "timeout",
        };
        println!("  winner: {winner}");
    }
}
