//! The tokio twin of examples/fetch_all.c: three fake fetches run as spawned
//! tasks, awaited with try_join! under a 5 s timeout. They sleep 100, 200 and
//! 150 ms, so all three are done after about 200 ms: the slowest, not the sum.
//! (One difference: a JoinHandle dropped by the timeout detaches its task,
//! where weft's SPAWN aborts it with the frame that spawned it.)
use std::error::Error;
use tokio::time::{sleep, timeout, Duration, Instant};

async fn fake_fetch(name: &str, ms: u64) -> String {
    sleep(Duration::from_millis(ms)).await;
    format!("{name}: OK")
}

async fn fetch_all() -> Result<[String; 3], tokio::task::JoinError> {
    let users = tokio::spawn(fake_fetch("users", 100));
    let orders = tokio::spawn(fake_fetch("orders", 200));
    let prices = tokio::spawn(fake_fetch("prices", 150));
    let (a, b, c) = tokio::try_join!(users, orders, prices)?;
    Ok([a, b, c])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    for line in timeout(Duration::from_secs(5), fetch_all()).await?? {
        println!("{line}");
    }
    println!("elapsed: {} ms", start.elapsed().as_millis());
    Ok(())
}
