//! Sections 15-18 driven through the core: polls, attendance, spotlight
//! and discovery, with simulated time.

use super::*;

const ALL: [&str; 4] = ["polls", "attendance", "spotlight", "discovery"];

impl Harness {
    /// Creates a meeting as a client that names every addition here.
    fn create_named(&mut self, name: &str, extra: Value) -> Who {
        let mut hello = json!({"type":"create_meeting","version":1,"username":name,"features":ALL});
        if let (Some(h), Some(e)) = (hello.as_object_mut(), extra.as_object()) {
            h.extend(e.clone());
        }
        self.create_with(hello)
    }

    /// Joins `host`'s meeting naming every addition here; returns the
    /// reply too.
    fn join_named(&mut self, name: &str, host: &Who) -> (Who, Value) {
        let conn = self.connect();
        self.send(
            conn,
            json!({"type":"join_meeting","version":1,"username":name,
                   "meeting_code":host.code,"features":ALL}),
        );
        let got = self.take(conn);
        assert_eq!(got[0]["type"], "join_success", "{got:?}");
        self.inbox.insert(conn, got[1..].iter().cloned().collect());
        (who(conn, &got[0]), got[0].clone())
    }
}

fn poll(question: &str, multiple: bool) -> Value {
    json!({"type":"poll_create","question":question,"options":["Yes","No","Not sure"],
           "anonymous":false,"multiple":multiple})
}

#[test]
fn a_version_1_client_sees_nothing_of_sections_15_to_18() {
    let mut h = Harness::new();
    let host = h.create_named("Alice", json!({"title":"CS101","listed":true}));
    let v1 = h.join("Bob", &host);
    let v1_reply_keys: Vec<String> = {
        // Join again as another v1 client to look at a whole reply.
        let conn = h.connect();
        h.send(
            conn,
            json!({"type":"join_meeting","version":1,"username":"Carol","meeting_code":host.code}),
        );
        let reply = h.take(conn).remove(0);
        reply.as_object().unwrap().keys().cloned().collect()
    };
    for key in ["features", "title", "poll", "spotlight", "resume_token"] {
        assert!(
            !v1_reply_keys.contains(&key.to_string()),
            "{key} in a v1 reply"
        );
    }
    h.inbox.clear();
    h.send(host.conn, poll("Ready?", false));
    h.send(host.conn, json!({"type":"spotlight","client_id":v1.id}));
    assert!(
        h.take(v1.conn).is_empty(),
        "no poll or spotlight message to v1"
    );
    assert_eq!(h.types(host.conn), ["poll_started", "spotlight_changed"]);
    // It may still vote: a v1 client could, it just never hears of polls.
    h.send(
        v1.conn,
        json!({"type":"poll_vote","poll_id":"p1","choices":[0]}),
    );
    assert!(h.take(v1.conn).is_empty());
}

#[test]
fn a_poll_from_start_to_results() {
    let mut h = Harness::new();
    let host = h.create_named("Alice", json!({}));
    let (bob, _) = h.join_named("Bob", &host);
    let (carol, _) = h.join_named("Carol", &host);
    h.inbox.clear();

    h.send(bob.conn, poll("Ready?", false));
    assert_eq!(h.error_code(bob.conn), "not_host");
    h.send(
        host.conn,
        json!({"type":"poll_create","question":"Q","options":["only one"]}),
    );
    assert_eq!(h.error_code(host.conn), "bad_request");

    h.send(host.conn, poll("Ready?", false));
    for who in [&host, &bob, &carol] {
        let started = h.one(who.conn);
        assert_eq!(started["type"], "poll_started");
        assert_eq!(started["poll_id"], "p1");
        assert_eq!(started["by"], host.id);
        assert_eq!(started["options"][2], "Not sure");
    }
    h.send(host.conn, poll("Another?", false));
    assert_eq!(
        h.error_code(host.conn),
        "bad_request",
        "one open poll at a time"
    );

    // Bad votes.
    for bad in [
        json!({"type":"poll_vote","poll_id":"p1","choices":[3]}),
        json!({"type":"poll_vote","poll_id":"p1","choices":[]}),
        json!({"type":"poll_vote","poll_id":"p1","choices":[0,1]}),
        json!({"type":"poll_vote","poll_id":"p1","choices":[0,0]}),
        json!({"type":"poll_vote","poll_id":"p1","choices":[-1]}),
        json!({"type":"poll_vote","poll_id":"p9","choices":[0]}),
    ] {
        h.send(bob.conn, bad.clone());
        assert_eq!(h.error_code(bob.conn), "bad_request", "{bad}");
    }

    // The first vote's counts go to the host at once, the next ones at
    // most 4 a second, the latest state always.
    h.send(
        bob.conn,
        json!({"type":"poll_vote","poll_id":"p1","choices":[0]}),
    );
    let update = h.one(host.conn);
    assert_eq!(update["type"], "poll_update");
    assert_eq!(update["counts"], json!([1, 0, 0]));
    assert_eq!(update["voters"], 1);
    assert!(h.take(bob.conn).is_empty() && h.take(carol.conn).is_empty());
    h.send(
        carol.conn,
        json!({"type":"poll_vote","poll_id":"p1","choices":[1]}),
    );
    h.send(
        bob.conn,
        json!({"type":"poll_vote","poll_id":"p1","choices":[1]}),
    );
    assert!(h.take(host.conn).is_empty(), "within 250 ms: coalesced");
    h.advance(Duration::from_millis(260));
    let update = h.one(host.conn);
    assert_eq!(update["counts"], json!([0, 2, 0]), "Bob changed his vote");
    assert_eq!(update["voters"], 2);
    h.advance(Duration::from_secs(1));
    assert!(h.take(host.conn).is_empty(), "nothing new, nothing sent");

    h.send(bob.conn, json!({"type":"poll_close","poll_id":"p1"}));
    assert_eq!(h.error_code(bob.conn), "not_host");
    h.send(host.conn, json!({"type":"poll_close","poll_id":"p1"}));
    for who in [&host, &bob, &carol] {
        let results = h.one(who.conn);
        assert_eq!(results["type"], "poll_results");
        assert_eq!(results["counts"], json!([0, 2, 0]));
        assert_eq!(results["voters"], 2);
        assert_eq!(results["question"], "Ready?");
        assert_eq!(results["votes"][&bob.id]["username"], "Bob");
        assert_eq!(results["votes"][&bob.id]["choices"], json!([1]));
    }
    h.send(
        bob.conn,
        json!({"type":"poll_vote","poll_id":"p1","choices":[0]}),
    );
    assert_eq!(h.error_code(bob.conn), "bad_request", "closed");

    // An anonymous, multiple-choice poll: new id, no votes in the results.
    h.send(
        host.conn,
        json!({"type":"poll_create","question":"Which?","options":["a","b"],"anonymous":true,"multiple":true}),
    );
    let started = h.one(bob.conn);
    assert_eq!(started["poll_id"], "p2");
    h.inbox.clear();
    h.send(
        bob.conn,
        json!({"type":"poll_vote","poll_id":"p2","choices":[1,0]}),
    );
    h.send(host.conn, json!({"type":"poll_close","poll_id":"p2"}));
    let got = h.take(bob.conn);
    assert_eq!(got[0]["counts"], json!([1, 1]));
    assert!(got[0].get("votes").is_none(), "anonymous: {got:?}");
}

#[test]
fn a_joiner_gets_the_open_poll_and_a_new_host_the_counts() {
    let mut h = Harness::new();
    let host = h.create_named("Alice", json!({}));
    let (bob, reply) = h.join_named("Bob", &host);
    assert_eq!(reply["poll"], Value::Null);
    assert!(reply.as_object().unwrap().contains_key("poll"));
    h.send(host.conn, poll("Ready?", true));
    let (carol, reply) = h.join_named("Carol", &host);
    assert_eq!(reply["poll"]["poll_id"], "p1");
    assert_eq!(reply["poll"]["multiple"], true);
    h.send(
        carol.conn,
        json!({"type":"poll_vote","poll_id":"p1","choices":[0,2]}),
    );
    h.advance(Duration::from_millis(300));
    h.inbox.clear();
    // The host leaves: the poll stays open and Bob, the next host, gets
    // the counts.
    h.send(host.conn, json!({"type":"leave"}));
    h.advance(Duration::from_millis(20));
    let got = h.take(bob.conn);
    let update = got
        .iter()
        .find(|m| m["type"] == "poll_update")
        .expect("{got:?}");
    assert_eq!(update["counts"], json!([1, 0, 1]));
    h.send(bob.conn, json!({"type":"poll_close","poll_id":"p1"}));
    assert_eq!(h.take(carol.conn).last().unwrap()["type"], "poll_results");
}

#[test]
fn attendance_rows_per_stay_to_the_host_and_a_csv_at_the_end() {
    let mut h = Harness::new();
    let host = h.create_named("Alice", json!({}));
    h.advance(Duration::from_secs(10));
    let (bob, _) = h.join_named("Bob", &host);
    h.advance(Duration::from_secs(5));
    h.send(bob.conn, json!({"type":"leave"}));
    let (carol, _) = h.join_named("Carol", &host);
    h.inbox.clear();
    h.send(carol.conn, json!({"type":"attendance_request"}));
    assert_eq!(h.error_code(carol.conn), "not_host");
    h.send(host.conn, json!({"type":"attendance_request"}));
    let a = h.one(host.conn);
    assert_eq!(a["type"], "attendance");
    assert_eq!(a["meeting_code"], host.code);
    let rows = a["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["username"], "Alice");
    assert_eq!(rows[0]["left_at"], Value::Null);
    assert_eq!(rows[1]["client_id"], bob.id);
    let joined = rows[1]["joined_at"].as_f64().unwrap();
    let left = rows[1]["left_at"].as_f64().unwrap();
    assert!((left - joined - 5.0).abs() < 1e-6, "{rows:?}");
    assert_eq!(rows[1]["reason"], "left");
    assert_eq!(
        rows[1]["joined_at"].as_f64().unwrap() - a["started_at"].as_f64().unwrap(),
        10.0
    );
    assert!(h.reports.is_empty());
    h.send(carol.conn, json!({"type":"leave"}));
    h.send(host.conn, json!({"type":"leave"}));
    assert_eq!(h.reports.len(), 1, "the CSV once the meeting ends");
    let (name, csv) = &h.reports[0];
    assert!(
        name.starts_with(&format!("{}-1970-01-01T00-00-00Z", host.code)),
        "{name}"
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "username,client_id,joined_at,left_at,reason");
    assert_eq!(lines.len(), 4);
    assert!(
        lines[2].starts_with(&format!(
            "Bob,{},1970-01-01T00:00:10Z,1970-01-01T00:00:15Z,left",
            bob.id
        )),
        "{csv}"
    );
}

#[test]
fn a_server_stopping_writes_every_meetings_attendance() {
    let mut h = Harness::new();
    let first = h.create_named("Alice", json!({}));
    h.advance(Duration::from_secs(10));
    let (bob, _) = h.join_named("Bob", &first);
    h.advance(Duration::from_secs(5));
    h.send(bob.conn, json!({"type":"leave"}));
    // A version-1 meeting too: attendance is kept whatever the features.
    let second = h.create("Carol");
    // (Within the 30 s of silence after which a connection is dropped.)
    h.advance(Duration::from_secs(10));
    assert!(h.reports.is_empty());
    h.core.stop(h.now);
    h.collect();
    assert_eq!(h.reports.len(), 2, "one CSV per meeting");
    let csv_of = |code: &str| {
        h.reports
            .iter()
            .find(|(name, _)| name.starts_with(code))
            .map(|(_, csv)| csv.clone())
            .unwrap_or_else(|| panic!("no CSV for {code}: {:?}", h.reports))
    };
    let first_csv = csv_of(&first.code);
    let lines: Vec<&str> = first_csv.lines().collect();
    assert_eq!(lines.len(), 3, "{first_csv}");
    assert_eq!(
        lines[1],
        format!(
            "Alice,{},1970-01-01T00:00:00Z,1970-01-01T00:00:25Z,server_stopped",
            first.id
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "Bob,{},1970-01-01T00:00:10Z,1970-01-01T00:00:15Z,left",
            bob.id
        )
    );
    assert!(
        csv_of(&second.code).contains(",1970-01-01T00:00:25Z,server_stopped"),
        "{}",
        csv_of(&second.code)
    );
    // The meetings are gone: their codes join nothing.
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"Dan","meeting_code":first.code}),
    );
    assert_eq!(h.error_code(conn), "invalid_code");
}

#[test]
fn a_resume_continues_the_attendance_row() {
    let mut h = Harness::new();
    let host = h.create_named("Alice", json!({}));
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"join_meeting","version":1,"username":"Bob","meeting_code":host.code,
               "features":["resume","attendance"]}),
    );
    let reply = h.one(conn);
    let token = reply["resume_token"].as_str().unwrap().to_string();
    h.core.on_disconnect(conn, LeaveReason::Error);
    h.collect();
    h.advance(Duration::from_secs(3));
    let again = h.connect();
    h.send(
        again,
        json!({"type":"resume_meeting","version":1,"resume_token":token}),
    );
    assert_eq!(h.one(again)["resumed"], true);
    h.inbox.clear();
    h.send(host.conn, json!({"type":"attendance_request"}));
    let rows = h.one(host.conn)["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1]["left_at"], Value::Null);
    assert_eq!(rows[1]["reason"], Value::Null);
}

#[test]
fn spotlight_set_cleared_and_cleared_by_leaving() {
    let mut h = Harness::new();
    let host = h.create_named("Alice", json!({}));
    let (bob, reply) = h.join_named("Bob", &host);
    assert_eq!(reply["spotlight"], Value::Null);
    h.inbox.clear();
    h.send(bob.conn, json!({"type":"spotlight","client_id":bob.id}));
    assert_eq!(h.error_code(bob.conn), "not_host");
    h.send(host.conn, json!({"type":"spotlight","client_id":"c99"}));
    assert_eq!(h.error_code(host.conn), "no_such_participant");
    h.send(host.conn, json!({"type":"spotlight","client_id":bob.id}));
    for who in [&host, &bob] {
        assert_eq!(
            h.one(who.conn),
            json!({"type":"spotlight_changed","client_id":bob.id})
        );
    }
    let (carol, reply) = h.join_named("Carol", &host);
    assert_eq!(reply["spotlight"], bob.id.as_str());
    h.send(host.conn, json!({"type":"spotlight","client_id":null}));
    assert_eq!(h.take(carol.conn).last().unwrap()["client_id"], Value::Null);
    h.send(host.conn, json!({"type":"spotlight","client_id":carol.id}));
    h.inbox.clear();
    h.send(carol.conn, json!({"type":"leave"}));
    let got = h.take(bob.conn);
    assert_eq!(
        got.last().unwrap(),
        &json!({"type":"spotlight_changed","client_id":null}),
        "{got:?}"
    );
}

#[test]
fn discovery_lists_listed_meetings_with_the_rate_limit() {
    let mut h = Harness::with(CoreConfig {
        server_name: "Lab 3 server".into(),
        tcp_port: 5001,
        ..config(64)
    });
    let listed = h.create_named(
        "Alice",
        json!({"title":"CS101 lab","listed":true,"password":"pw"}),
    );
    h.create_named("Zed", json!({"title":"Private"}));
    let from = addr(40000);
    let probe = lanmeet_common::discovery::probe();
    assert_eq!(
        h.datagram(from, &probe[..probe.len() - 1]).0,
        DatagramAction::Nothing
    );
    h.sent.clear();
    h.core.on_datagram(from, &probe);
    h.collect();
    assert_eq!(h.sent.len(), 1);
    let (to, bytes) = h.sent.remove(0);
    assert_eq!(to, from);
    let reply = lanmeet_common::discovery::parse_reply(&bytes).unwrap();
    assert_eq!(reply.name, "Lab 3 server");
    assert_eq!(
        (reply.tcp_port, reply.udp_port, reply.version),
        (5001, 5002, 1)
    );
    assert_eq!(reply.meetings.len(), 1, "only the listed meeting");
    let m = &reply.meetings[0];
    assert_eq!(m.meeting_code, listed.code);
    assert_eq!(m.title.as_deref(), Some("CS101 lab"));
    assert_eq!((m.participants, m.password, m.locked), (1, true, false));
    // Four more answers this second, then none.
    for _ in 0..10 {
        h.core
            .on_datagram(SocketAddr::from(([127, 0, 0, 1], 40001)), &probe);
    }
    h.collect();
    assert_eq!(h.sent.len(), 4, "5 answers a second per source address");
    h.sent.clear();
    h.advance(Duration::from_secs(1));
    h.core.on_datagram(from, &probe);
    h.collect();
    assert_eq!(h.sent.len(), 1);
}

#[test]
fn a_title_is_checked_and_sent_back() {
    let mut h = Harness::new();
    let conn = h.connect();
    h.send(
        conn,
        json!({"type":"create_meeting","version":1,"username":"A","title":"x".repeat(81)}),
    );
    assert_eq!(h.error_code(conn), "bad_request");
    let host = h.create_named("Alice", json!({"title":"CS101 lab"}));
    let (_, reply) = h.join_named("Bob", &host);
    assert_eq!(reply["title"], "CS101 lab");
    let names: Vec<&str> = reply["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for f in ALL {
        assert!(names.contains(&f), "{f} in {names:?}");
    }
}
