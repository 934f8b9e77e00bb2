//! `lanmeet-server`: runs one server in the foreground until interrupted.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use lanmeet_server::cli::{self, Command, USAGE};
use lanmeet_server::{socket, Server};

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
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lanmeet-server: {e}");
            ExitCode::FAILURE
        }
    }
}
