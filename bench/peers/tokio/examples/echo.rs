//! The tokio twin of examples/echo.c: a TCP echo server that shuts down
//! gracefully.
//!
//!     echo [--port N] [--idle-ms MS] [--grace-ms MS] [--max-conns N]
//!          (7007, 0 picks a free port; 10000; 2000; 64 at most)
//!
//! A JoinSet holds one task per connection; a full server says so and closes
//! the new connection. A connection silent for --idle-ms is told so and
//! closed. Shutdown: SIGINT / SIGTERM -> the signal task sends on a watch
//! channel (tokio-util's CancellationToken is not in Debian) -> the accept
//! loop stops accepting, and each connection stops at its next read, once the
//! echo of what it read is written -> the server waits for its JoinSet for up
//! to --grace-ms, then aborts what is left. One line per event on stdout.
use std::io::{self, ErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{timeout, Duration};

const MAX_CONNS: usize = 64;

struct Opts {
    port: u16,
    idle: Duration,
    grace: Duration,
    max_conns: usize,
}

fn parse_args() -> Option<Opts> {
    let mut o = Opts {
        port: 7007,
        idle: Duration::from_millis(10000),
        grace: Duration::from_millis(2000),
        max_conns: MAX_CONNS,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let [flag, value] = pair else { return None };
        let v: u64 = value.parse().ok()?;
        match flag.as_str() {
            "--port" => o.port = v.try_into().ok()?,
            "--idle-ms" if v >= 1 => o.idle = Duration::from_millis(v),
            "--grace-ms" => o.grace = Duration::from_millis(v),
            "--max-conns" if (1..=MAX_CONNS as u64).contains(&v) => o.max_conns = v as usize,
            _ => return None,
        }
    }
    Some(o)
}

/// Echoes until the end, the idle timeout or the shutdown.
async fn connection(
    mut sock: TcpStream,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::select! {
            biased;
            _ = stop.changed() => {
                let _ = sock.write_all(b"server shutting down, bye\n").await;
                return Ok(());
            }
            read = timeout(idle, sock.read(&mut buf)) => match read {
                Ok(n) => n?,
                Err(_) => {
                    let _ = sock.write_all(b"idle timeout, bye\n").await;
                    return Err(ErrorKind::TimedOut.into());
                }
            },
        };
        if n == 0 {
            return Ok(()); // the client is done
        }
        sock.write_all(&buf[..n]).await?; // not raced: what was read is echoed
    }
}

async fn server(lis: TcpListener, o: Opts, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(_) = conns.join_next() => {} // an empty set disables this branch
            Ok((mut sock, _)) = lis.accept() => {
                if conns.len() < o.max_conns {
                    conns.spawn(connection(sock, o.idle, stop.clone()));
                } else {
                    println!("echo: full ({} connections), refused one", o.max_conns);
                    let _ = sock.write_all(b"server full, try again later\n").await;
                }
            }
        }
    }
    drop(lis); // new clients are refused from now on
    let open = conns.len();
    let _ = timeout(o.grace, async { while conns.join_next().await.is_some() {} }).await;
    let aborted = conns.len();
    conns.shutdown().await; // past the deadline: abort the rest
    println!("echo: shutdown: {} connection(s) finished, {aborted} aborted", open - aborted);
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let Some(o) = parse_args() else {
        eprintln!(
            "usage: echo [--port N] [--idle-ms MS] [--grace-ms MS] [--max-conns 1..{MAX_CONNS}]"
        );
        std::process::exit(2);
    };
    let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    let lis = TcpListener::bind(("127.0.0.1", o.port)).await?;
    println!("echo: listening on 127.0.0.1 port {}", lis.local_addr()?.port());
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = int.recv() => "Interrupt",
            _ = term.recv() => "Terminated",
        };
        println!("echo: {name}, shutting down");
        stop_tx.send(true).unwrap();
    });
    server(lis, o, stop_rx).await;
    Ok(())
}
