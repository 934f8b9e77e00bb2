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

/// Stops the server on the first SIGINT or SIGTERM (from a thread of its
/// own, which the signal wakes), and exits at once on a second.
#[cfg(unix)]
fn stop_on_signals(stopper: Stopper) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lanmeet-server: Ctrl-C will not write attendance: {e}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut seen = 0;
            for signal in signals.forever() {
                seen += 1;
                if seen > 1 {
                    std::process::exit(128 + signal);
                }
                eprintln!("lanmeet-server: stopping (ending the meetings in progress)");
                stopper.stop();
            }
        });
    if let Err(e) = spawned {
        eprintln!("lanmeet-server: Ctrl-C will not write attendance: {e}");
    }
}

/// Elsewhere Ctrl-C ends the process as it is.
#[cfg(not(unix))]
fn stop_on_signals(_stopper: Stopper) {}
