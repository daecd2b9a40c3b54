//! The tokio twin of examples/retry.c: call a flaky operation until it
//! succeeds: at most 6 attempts, each under a 50 ms timeout, waiting 10, 20,
//! 40 ... ms between them (exponential backoff). The fake operation fails
//! with "connection refused" three times, then hangs once (the timeout cuts
//! it off), then succeeds. Debian packages no retry crate (tokio-retry,
//! backoff), so this is the loop a tokio user writes by hand.
use std::io;
use tokio::time::{sleep, timeout, Duration, Instant};

async fn flaky(attempt: u32) -> io::Result<()> {
    sleep(Duration::from_millis(if attempt == 4 { 10_000 } else { 5 })).await;
    if attempt <= 3 {
        return Err(io::ErrorKind::ConnectionRefused.into());
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let start = Instant::now();
    let mut backoff = Duration::from_millis(10);
    let mut result = Ok(());
    for attempt in 1..=6 {
        result = match timeout(Duration::from_millis(50), flaky(attempt)).await {
            Ok(r) => r,
            Err(elapsed) => Err(elapsed.into()),
        };
        let said = result.as_ref().map_or_else(|e| e.to_string(), |_| "ok".into());
        println!("{:4} ms  attempt {attempt}: {said}", start.elapsed().as_millis());
        if result.is_ok() {
            break;
        }
        sleep(backoff).await;
        backoff *= 2;
    }
    println!("result: {}", result.as_ref().map_or_else(|e| e.to_string(), |_| "success".into()));
    result
}
