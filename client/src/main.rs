//! `lanmeet-client`: the desktop client's entry point.
//!
//! Without `--headless` it opens the window (see `gui/`), with `--host` and
//! `--port` prefilling the join form. With `--headless` it joins a meeting
//! with synthetic media and prints one JSON line per event (see
//! `headless.rs`); that is how scripts, tests and load generators use the
//! client.

#![forbid(unsafe_code)]

mod gui;
mod headless;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match headless::parse_args(&args) {
        Ok(headless::Command::Help) => {
            print!("{}", headless::USAGE);
            ExitCode::SUCCESS
        }
        Ok(headless::Command::Gui) => gui::run(&args),
        Ok(headless::Command::Headless(options)) => headless::run(*options),
        Ok(headless::Command::Discover {
            host,
            udp_port,
            seconds,
        }) => headless::discover(host.as_deref(), udp_port, seconds),
        Ok(headless::Command::ListDevices) => {
            print!(
                "{}",
                lanmeet_client::devices::describe(&lanmeet_client::devices::list())
            );
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("lanmeet-client: {why}");
            eprintln!("Try `lanmeet-client --help`.");
            ExitCode::from(2)
        }
    }
}
