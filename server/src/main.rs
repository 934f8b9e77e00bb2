//! `lanmeet-server`: runs one server in the foreground until interrupted.
//! Ctrl-C (SIGINT) or SIGTERM stops it the orderly way: the meetings in
//! progress end and write their attendance; a second one exits at once.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use lanmeet_server::cli::{self, Command, USAGE};
use lanmeet_server::{socket, Server, Stopper};

fn main() -> ExitCode {
    let mut config = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lanmeet-server: {e}");
            return ExitCode::from(2);
        }
    };
    // Enough descriptors for every connection allowed, so the one past the
    // limit gets `server_full` rather than a failed accept.
    match socket::raise_open_files_limit() {
        Ok(files) => {
            let room =
                usize::try_from(files.saturating_sub(socket::RESERVED_FDS)).unwrap_or(usize::MAX);
            if room < config.max_connections {
                eprintln!(
                    "lanmeet-server: the open-files limit is {files}: at most {room} connections"
                );
                config.max_connections = room;
            }
        }
        Err(e) => eprintln!("lanmeet-server: cannot raise the open-files limit: {e}"),
    }
    let log_dir = config.log_dir.clone();
    let server = match Server::bind(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lanmeet-server: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Scripts and tests read this first line to learn the ports.
    println!(
        "listening tcp={} udp={}",
        server.tcp_addr(),
        server.udp_addr()
    );
    if let Some(dir) = log_dir {
        println!("logging to {}", dir.display());
    }
    stop_on_signals(server.stopper());
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lanmeet-server: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Stops the server on the first Ctrl-C (SIGINT) or SIGTERM, and exits at
/// once on a second. A signal handler may do next to nothing, so
/// signal-hook's only sets a flag; a thread that looks at it ten times a
/// second asks the loop to stop.
#[cfg(unix)]
fn stop_on_signals(stopper: Stopper) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::flag;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    let asked = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // The exit first: armed by the flag the second sets, it fires only
        // on a signal after the first (signal-hook's double Ctrl-C).
        let registered = flag::register_conditional_shutdown(signal, 130, asked.clone())
            .and_then(|_| flag::register(signal, asked.clone()));
        if let Err(e) = registered {
            eprintln!("lanmeet-server: Ctrl-C will end the server without writing attendance: {e}");
            return;
        }
    }
    let watch = move || {
        while !asked.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "lanmeet-server: stopping (ending the meetings in progress; Ctrl-C again to quit now)"
        );
        stopper.stop();
    };
    if let Err(e) = std::thread::Builder::new()
        .name("signals".into())
        .spawn(watch)
    {
        eprintln!("lanmeet-server: Ctrl-C will end the server without writing attendance: {e}");
    }
}

/// On Windows Ctrl-C ends the process as it is (signal-hook's handler
/// crashed the server under wine): meetings still open write no
/// attendance.
#[cfg(not(unix))]
fn stop_on_signals(_stopper: Stopper) {}
