//! Command-line options of `lanmeet-server`, parsed by hand: a handful of
//! flags do not need a framework.

use std::net::IpAddr;
use std::path::PathBuf;

use lanmeet_common::limits::{MAX_DATAGRAM_LIMIT, MAX_PARTICIPANTS, MIN_DATAGRAM_LIMIT};

use crate::Config;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run a server.
    Run(Config),
    /// Print the usage and exit.
    Help,
}

/// The text `--help` prints.
pub const USAGE: &str = "\
lanmeet-server: LAN meetings with video, audio, screen sharing, chat and files

USAGE:
    lanmeet-server [OPTIONS]

OPTIONS:
    --bind ADDR             address to listen on [default: 0.0.0.0]
    --port PORT             TCP port for control, chat, screen and files [default: 5001]
    --udp-port PORT         UDP port for video and audio [default: TCP port + 1]
    --max-datagram BYTES    largest UDP datagram, 1200..=65507 [default: 1400]
    --max-participants N    participants per meeting, 1..=64 [default: 64]
    --max-incomplete-mib N  memory for messages still arriving, over all
                            connections, in MiB; past it the newest
                            connection holding one is refused [default: 256]
    --log-dir DIR           where the log file goes (and attendance/ with one
                            CSV per meeting) [default: logs/server]
    --name NAME             the name clients see when they look for servers
                            on the network, 1..64 characters [default: the host name]
    -h, --help              print this help

Clients need the TCP port and the UDP port open in the firewall.
With --port 0 both ports are picked by the system and printed on start.";

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = Config::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(Command::Help);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--bind" => {
                config.bind = value()?
                    .parse::<IpAddr>()
                    .map_err(|_| "--bind: not an IP address".to_string())?
            }
            "--port" => config.port = number(&name, &value()?, 0, u16::MAX as usize)? as u16,
            "--udp-port" => {
                config.udp_port = Some(number(&name, &value()?, 0, u16::MAX as usize)? as u16)
            }
            "--max-datagram" => {
                config.max_datagram =
                    number(&name, &value()?, MIN_DATAGRAM_LIMIT, MAX_DATAGRAM_LIMIT)?
            }
            "--max-participants" => {
                config.max_participants = number(&name, &value()?, 1, MAX_PARTICIPANTS)?
            }
            "--max-incomplete-mib" => {
                config.max_incomplete_bytes = number(&name, &value()?, 8, 1 << 20)? << 20
            }
            "--log-dir" => config.log_dir = Some(PathBuf::from(value()?)),
            "--name" => {
                let name = value()?.trim().to_string();
                let count = name.chars().count();
                if count == 0 || count > 64 || name.chars().any(char::is_control) {
                    return Err("--name: 1..64 characters, no control characters".into());
                }
                config.name = Some(name);
            }
            _ => return Err(format!("unknown option {flag} (see --help)")),
        }
    }
    Ok(Command::Run(config))
}

fn number(name: &str, text: &str, min: usize, max: usize) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{name}: expected a number in {min}..={max}, got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(c) => Ok(c),
            Command::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults() {
        let c = run(&[]).unwrap();
        assert_eq!(c.port, 5001);
        assert_eq!(c.udp_port, None);
        assert_eq!(c.max_datagram, 1400);
        assert_eq!(c.max_participants, 64);
        assert_eq!(c.max_incomplete_bytes, 256 << 20);
        assert_eq!(
            run(&["--max-incomplete-mib", "64"])
                .unwrap()
                .max_incomplete_bytes,
            64 << 20
        );
    }

    #[test]
    fn options() {
        let c = run(&[
            "--port",
            "6000",
            "--udp-port=6005",
            "--max-datagram",
            "65000",
            "--bind",
            "127.0.0.1",
        ])
        .unwrap();
        assert_eq!(
            (c.port, c.udp_port, c.max_datagram),
            (6000, Some(6005), 65000)
        );
        assert_eq!(c.bind.to_string(), "127.0.0.1");
        assert_eq!(
            run(&["--log-dir", "x"]).unwrap().log_dir,
            Some(PathBuf::from("x"))
        );
        assert_eq!(
            run(&["--name", "Lab 3 server"]).unwrap().name.as_deref(),
            Some("Lab 3 server")
        );
        assert!(run(&["--name", ""]).is_err());
        assert!(run(&["--name", &"x".repeat(65)]).is_err());
    }

    #[test]
    fn errors() {
        assert!(run(&["--port"]).is_err());
        assert!(run(&["--port", "70000"]).is_err());
        assert!(run(&["--max-datagram", "65508"]).is_err());
        assert!(run(&["--max-participants", "65"]).is_err());
        assert!(run(&["--bind", "nowhere"]).is_err());
        assert!(run(&["--frobnicate"]).is_err());
        assert_eq!(run(&["--help"]).unwrap_err(), "help");
    }
}
