//! The tokio twin of examples/pipeline.c: a producer task generates numbers
//! into a bounded channel (4 slots); a stage reads the channel as a stream,
//! squares each number, keeps those that end in 1 or 9, and the consumer
//! prints the first 6. The producer keeps finding the channel full and has to
//! wait: backpressure. When the consumer has enough it closes the receiver:
//! the producer's next send fails and hands its value back, and the values
//! still queued are drained and reported. (tokio-stream's ReceiverStream is
//! not in Debian, so the stream is futures' poll_fn over poll_recv; tokio's
//! channel does not count its send waits, so the producer counts them.)
use futures::future::ready;
use futures::stream::{self, StreamExt};
use tokio::sync::mpsc;

async fn producer(tx: mpsc::Sender<i32>) -> u32 {
    let (mut sent, mut waits) = (0, 0);
    for next in 1.. {
        if tx.capacity() == 0 {
            waits += 1; // it finds the channel full
        }
        if let Err(back) = tx.send(next).await {
            println!("producer: sent {sent}, then the channel closed ({} was handed back)", back.0);
            break;
        }
        sent += 1;
    }
    waits
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (tx, mut rx) = mpsc::channel(4);
    let prod = tokio::spawn(producer(tx));
    let mut items = stream::poll_fn(|cx| rx.poll_recv(cx))
        .map(|x| x * x)
        .filter(|x| ready(x % 10 == 1 || x % 10 == 9))
        .take(6)
        .enumerate();
    while let Some((n, x)) = items.next().await {
        println!("item {}: {x}", n + 1);
        tokio::task::yield_now().await; // a slow consumer: let the producer run ahead
    }
    drop(items);
    rx.close(); // done: the receiver goes away
    let mut released = 0;
    while let Ok(x) = rx.try_recv() {
        println!("released unread value {x}");
        released += 1;
    }
    let waits = prod.await.unwrap();
    println!("producer waited for room {waits} times");
    println!("released {released} unread values");
}
