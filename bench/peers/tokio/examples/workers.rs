//! The tokio twin of examples/workers.c: a pool of three worker tasks shares
//! one job channel (tokio's receiver is single-consumer, so it sits behind an
//! async mutex). Each worker selects between the next job and a shutdown
//! notify. Finished jobs are counted in a tally guarded by an async mutex,
//! held across an await. When the last job is counted, main is told through
//! a oneshot, and it shuts the pool down. The clock is paused, so the run is
//! instant and the output always the same.
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex, Notify};
use tokio::time::{sleep, Duration, Instant};

const WORKERS: usize = 3;
const JOBS: usize = 8;

#[derive(Debug)]
struct Job {
    id: usize,
    ms: u64, // how long the job takes
}

struct Tally {
    done: usize,
    by_worker: [usize; WORKERS],
    all_done: Option<oneshot::Sender<usize>>, // the worker counting the last job says so
}

struct Pool {
    jobs: Mutex<mpsc::Receiver<Job>>,
    shutdown: Notify,
    stopping: AtomicBool, // set before the notify: a worker busy at that moment sees it
    tally: Mutex<Tally>,
    start: Instant,
}

async fn worker(id: usize, p: Arc<Pool>) {
    while !p.stopping.load(SeqCst) {
        let job = tokio::select! {
            job = async { p.jobs.lock().await.recv().await } => job,
            _ = p.shutdown.notified() => None,
        };
        let Some(job) = job else { break };
        sleep(Duration::from_millis(job.ms)).await;
        let mut t = p.tally.lock().await;
        t.done += 1;
        t.by_worker[id] += 1;
        let ms = p.start.elapsed().as_millis();
        println!("{ms:4} ms  worker {id} finished job {} ({} done)", job.id, t.done);
        sleep(Duration::from_millis(1)).await; // "write the tally out", lock held: fine here
        if t.done == JOBS {
            t.all_done.take().unwrap().send(t.done).unwrap();
        }
    }
    println!("{:4} ms  worker {id} shuts down", p.start.elapsed().as_millis());
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let (tx, rx) = mpsc::channel(2);
    let (done_tx, done_rx) = oneshot::channel();
    let tally = Tally { done: 0, by_worker: [0; WORKERS], all_done: Some(done_tx) };
    let p = Arc::new(Pool {
        jobs: Mutex::new(rx),
        shutdown: Notify::new(),
        stopping: AtomicBool::new(false),
        tally: Mutex::new(tally),
        start: Instant::now(),
    });
    let workers: Vec<_> = (0..WORKERS).map(|id| tokio::spawn(worker(id, p.clone()))).collect();
    let mut waits = 0;
    for (id, ms) in [30, 10, 20, 10, 40, 10, 20, 30].into_iter().enumerate() {
        if tx.capacity() == 0 {
            waits += 1; // waits while 2 jobs are queued
        }
        tx.send(Job { id, ms }).await.unwrap();
    }
    println!("main: all {JOBS} jobs handed out; the producer waited {waits} times");
    let total = done_rx.await.unwrap();
    println!("main: {total} jobs done; shutting the pool down");
    p.stopping.store(true, SeqCst);
    p.shutdown.notify_waiters(); // wakes every worker in its select!
    for w in workers {
        w.await.unwrap();
    }
    for (id, n) in p.tally.lock().await.by_worker.iter().enumerate() {
        println!("worker {id} did {n} jobs");
    }
    println!("elapsed: {} ms", p.start.elapsed().as_millis());
}
