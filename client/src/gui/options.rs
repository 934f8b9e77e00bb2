//! How the window was started: `--host`/`--port` from the command line,
//! and the environment variables that let scripts and tests drive it
//! (join at once, send a chat line, use test sources, save downloads
//! without asking, open a given sidebar tab).

use std::path::PathBuf;

/// How the window was started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `--host`: prefills the server field.
    pub host: Option<String>,
    /// `--port`: prefills the port field.
    pub port: Option<u16>,
    /// `LANMEET_AUTOJOIN=host:port:name:code` (code `create` or empty to
    /// create): fills the form and joins at once (for automated runs).
    pub autojoin: Option<AutoJoin>,
    /// `LANMEET_AUTOCHAT=text`: once joined, sends this chat line through
    /// the chat input and its Send path.
    pub autochat: Option<String>,
    /// `LANMEET_TEST_SOURCES=1`: offer the synthetic camera, tone, test
    /// screen and silent speaker besides real devices.
    pub test_sources: bool,
    /// `LANMEET_DOWNLOAD_DIR`: save downloads here without asking.
    pub download_dir: Option<PathBuf>,
    /// `LANMEET_TAB=chat|people|files`: the sidebar tab to show first.
    pub tab: Option<String>,
}

/// A join to run without anyone typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoJoin {
    /// Server.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Name.
    pub name: String,
    /// Meeting code; `None` creates a meeting.
    pub code: Option<String>,
}

impl AutoJoin {
    /// Parses `host:port:name:code`.
    pub fn parse(text: &str) -> Result<AutoJoin, String> {
        let parts: Vec<&str> = text.splitn(4, ':').collect();
        let [host, port, name, code] = parts[..] else {
            return Err(format!("expected host:port:name:code, got {text:?}"));
        };
        let port = port
            .parse()
            .map_err(|_| format!("the port in {text:?} is not a number"))?;
        let code = match code.trim() {
            "" | "create" => None,
            c => Some(c.to_string()),
        };
        Ok(AutoJoin {
            host: host.to_string(),
            port,
            name: name.to_string(),
            code,
        })
    }
}

impl Options {
    /// Reads the environment variables described on each field.
    pub fn from_env(host: Option<String>, port: Option<u16>) -> Result<Options, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Options {
            host,
            port,
            autojoin: var("LANMEET_AUTOJOIN")
                .map(|v| AutoJoin::parse(&v))
                .transpose()?,
            autochat: var("LANMEET_AUTOCHAT"),
            test_sources: var("LANMEET_TEST_SOURCES").is_some_and(|v| v == "1"),
            download_dir: var("LANMEET_DOWNLOAD_DIR").map(PathBuf::from),
            tab: var("LANMEET_TAB"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autojoin_reads_host_port_name_code() {
        let a = AutoJoin::parse("127.0.0.1:5001:Ann Lee:k7q2xz").unwrap();
        assert_eq!(a.host, "127.0.0.1");
        assert_eq!(a.port, 5001);
        assert_eq!(a.name, "Ann Lee");
        assert_eq!(a.code.as_deref(), Some("k7q2xz"));
        assert_eq!(AutoJoin::parse("h:1:n:create").unwrap().code, None);
        assert_eq!(AutoJoin::parse("h:1:n:").unwrap().code, None);
        assert!(AutoJoin::parse("h:1:n").is_err());
        assert!(AutoJoin::parse("h:x:n:c").is_err());
    }
}
