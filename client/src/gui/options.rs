//! How the window was started: `--host`/`--port` from the command line,
//! and the environment variables that let scripts and tests drive it
//! (join at once, send a chat line, use test sources, save downloads
//! without asking, open a given sidebar tab, start a poll, vote, give a
//! new meeting a title).

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
    /// `LANMEET_AUTOPOLL=question|option|option...`: as host, once joined,
    /// open the new-poll form with this poll and start it.
    pub autopoll: Option<(String, Vec<String>)>,
    /// `LANMEET_AUTOVOTE=0,2`: tick these options of each poll that opens
    /// and press Vote.
    pub autovote: Option<Vec<u32>>,
    /// `LANMEET_TITLE=text`: the create form's title, with "List this
    /// meeting on the network" ticked.
    pub title: Option<String>,
    /// `LANMEET_VIEW=speaker|grid`: start in speaker view (or the grid,
    /// the default).
    pub speaker_view: bool,
}

/// Parses `question|option|option...` (at least two options).
pub fn parse_poll(text: &str) -> Result<(String, Vec<String>), String> {
    let mut parts = text.split('|').map(|p| p.trim().to_string());
    let question = parts.next().unwrap_or_default();
    let options: Vec<String> = parts.collect();
    if question.is_empty() || options.len() < 2 {
        return Err(format!("expected question|option|option..., got {text:?}"));
    }
    Ok((question, options))
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
            autopoll: var("LANMEET_AUTOPOLL")
                .map(|v| parse_poll(&v))
                .transpose()?,
            autovote: var("LANMEET_AUTOVOTE")
                .map(|v| {
                    v.split(',')
                        .map(|n| n.trim().parse::<u32>())
                        .collect::<Result<Vec<u32>, _>>()
                        .map_err(|_| format!("LANMEET_AUTOVOTE: numbers like 0,2, not {v:?}"))
                })
                .transpose()?,
            title: var("LANMEET_TITLE"),
            speaker_view: match var("LANMEET_VIEW").as_deref() {
                None | Some("grid") => false,
                Some("speaker") => true,
                Some(other) => return Err(format!("LANMEET_VIEW: speaker or grid, not {other:?}")),
            },
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

    #[test]
    fn polls_read_question_and_options() {
        assert_eq!(
            parse_poll("Done? | Yes | No").unwrap(),
            (
                "Done?".to_string(),
                vec!["Yes".to_string(), "No".to_string()]
            )
        );
        assert!(parse_poll("Done?|Yes").is_err());
    }
}
