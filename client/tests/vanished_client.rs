//! A participant whose process stops without a word (SIGSTOP: a laptop lid
//! closed, a frozen machine): its connection stays open, the kernel still
//! acknowledges, but nothing is read or sent. The server must close it
//! after the idle timeout, tell the others, and keep serving them while
//! the stopped process's socket fills up.
//!
//! ```text
//!  in-process server (idle timeout shortened to 3 s)
//!    <-- Host: a plain TCP client, pinging, sending screen frames
//!    <-- lanmeet-client --headless "Sleeper", then kill -STOP
//!  Host sees: user_joined{Sleeper} ... user_left{Sleeper, reason:"timeout"}
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lanmeet_common::{base64, framing};
use serde_json::{json, Value};

/// Continues and kills the client process when the test ends.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        signal("CONT", self.0.id());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(name: &str, pid: u32) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {pid}");
}

struct Host {
    stream: TcpStream,
    inbuf: Vec<u8>,
}

impl Host {
    fn send(&mut self, v: &Value) {
        self.stream.write_all(&framing::encode_json(v)).unwrap();
    }

    /// The next message within `timeout`.
    fn recv(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some((body, used))) = framing::decode(&self.inbuf, usize::MAX) {
                let v = serde_json::from_slice(body).unwrap();
                self.inbuf.drain(..used);
                return Some(v);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("the server closed the host's connection"),
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(_) => return None,
            }
        }
    }
}

#[test]
fn a_stopped_client_process_is_timed_out_and_the_others_go_on() {
    let idle = Duration::from_secs(3);
    let server = lanmeet_server::spawn(lanmeet_server::Config {
        bind: "127.0.0.1".parse().unwrap(),
        port: 0,
        log_dir: None,
        idle_timeout: idle,
        ..Default::default()
    })
    .unwrap();
    let mut host = Host {
        stream: TcpStream::connect(server.tcp_addr()).unwrap(),
        inbuf: Vec::new(),
    };
    host.send(&json!({"type":"create_meeting","version":1,"username":"Host"}));
    let reply = host.recv(Duration::from_secs(5)).expect("a join reply");
    let code = reply["meeting_code"].as_str().unwrap().to_string();
    host.send(&json!({"type":"request_screen_share"}));

    let sleeper = Stopped(
        Command::new(env!("CARGO_BIN_EXE_lanmeet-client"))
            .args(["--headless", "--host", "127.0.0.1", "--port"])
            .arg(server.tcp_addr().port().to_string())
            .args(["--name", "Sleeper", "--join", &code])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the client binary starts"),
    );
    let sleeper_id = loop {
        let v = host
            .recv(Duration::from_secs(10))
            .expect("the client process joins");
        if v["type"] == "user_joined" {
            break v["client_id"].as_str().unwrap().to_string();
        }
    };
    signal("STOP", sleeper.0.id());
    let stopped_at = Instant::now();

    // The host goes on: pings, and screen frames the sleeper never reads.
    let frame = json!({"type":"screen_frame","frame_data":base64::encode(&[9u8; 200_000]),
                       "width":1280,"height":720});
    let left = loop {
        host.send(&json!({"type":"ping"}));
        host.send(&frame);
        let mut left = None;
        while let Some(v) = host.recv(Duration::from_millis(250)) {
            if v["type"] == "user_left" {
                left = Some(v);
                break;
            }
        }
        if let Some(v) = left {
            break v;
        }
        assert!(
            stopped_at.elapsed() < idle + Duration::from_secs(10),
            "the stopped client was not timed out"
        );
    };
    let after = stopped_at.elapsed();
    println!("the stopped client was closed after {after:?} (idle timeout {idle:?})");
    assert_eq!(left["client_id"], sleeper_id.as_str());
    assert_eq!(left["reason"], "timeout", "{left}");
    assert!(after >= idle, "closed after {after:?}, before the timeout");
    // The host is still served.
    host.send(&json!({"type":"ping"}));
    let pong = loop {
        let v = host.recv(Duration::from_secs(5)).expect("a pong");
        if v["type"] == "pong" {
            break v;
        }
    };
    assert_eq!(pong["type"], "pong");
}
