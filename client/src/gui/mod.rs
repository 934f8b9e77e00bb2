//! The desktop window: an FLTK view over the session library.
//!
//! ```text
//!  lanmeet-client [--host H] [--port P]
//!    join window (join.rs) --JoinRequest--> join thread: Session::connect
//!    main window (app.rs):
//!      +--------------------------------------------+-----------------+
//!      | stage (grid.rs): video tiles, or the       | sidebar         |
//!      | shared screen with the tiles in a strip    | (sidebar.rs):   |
//!      |                                            | Chat|People|Files|
//!      +--------------------------------------------+-----------------+
//!      | toolbar (toolbar.rs): mic, camera, share, hand, react, ... Leave |
//!      | status bar: connected, meeting code [Copy], media path, people   |
//!      +------------------------------------------------------------------+
//!    settings.rs (devices, video, push-to-talk), dialogs.rs (prompts),
//!    capture.rs (opening devices, self-view and level taps),
//!    options.rs (command line and environment), message.rs (the one
//!    message type), theme.rs (colours), poll.rs (the poll form and
//!    card), discovery.rs (servers found on the network, in the join window)
//! ```
//!
//! The split follows the teaching rule of the whole client: the session
//! (network, media, files) is the library and knows nothing of windows;
//! this module only shows its state and calls its methods. Where things
//! go (tile layout, list order, what a menu offers) is decided by plain
//! functions in `layout.rs`, which are unit-tested without a display.
//! All widgets live on the UI thread; other threads talk to it with the
//! one [`message::Message`] enum.

mod app;
mod capture;
mod dialogs;
mod discovery;
mod grid;
mod join;
mod layout;
mod message;
mod options;
mod poll;
mod screen_view;
mod settings;
mod sidebar;
mod theme;
mod toolbar;

use std::process::ExitCode;

/// The `--host` and `--port` values of the command line, to prefill the
/// join form (the arguments were already checked by the headless parser).
pub fn server_args(args: &[String]) -> (Option<String>, Option<u16>) {
    let mut host = None;
    let mut port = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--host" => host = it.next().cloned(),
            "--port" => port = it.next().and_then(|p| p.parse().ok()),
            _ => {}
        }
    }
    (host, port)
}

/// Opens the window and runs until it is closed.
pub fn run(args: &[String]) -> ExitCode {
    let (host, port) = server_args(args);
    let options = match options::Options::from_env(host, port) {
        Ok(o) => o,
        Err(why) => {
            eprintln!("lanmeet-client: {why}");
            return ExitCode::from(2);
        }
    };
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!("lanmeet-client: no display (DISPLAY is not set).");
        eprintln!("Run it on a desktop, or use --headless (see --help).");
        return ExitCode::from(2);
    }
    app::App::new(options).run();
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_prefill_the_form() {
        let args: Vec<String> = ["--host", "10.0.0.2", "--port", "6001"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(server_args(&args), (Some("10.0.0.2".into()), Some(6001)));
        assert_eq!(server_args(&[]), (None, None));
    }
}
