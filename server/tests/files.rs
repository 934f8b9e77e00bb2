//! End-to-end: brokered file transfer (offer, request, chunks and acks
//! relayed between the two parties only, end, cancel, a party leaving,
//! withdrawing an offer) (PROTOCOL.md section 8).

mod support;

use serde_json::{json, Value};

use lanmeet_common::limits::MAX_FILE_CHUNK;
use lanmeet_common::{base64, sha256};
use support::*;

/// A file of `len` bytes that is not all one value.
fn file_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn offer(file_id: &str, bytes: &[u8]) -> Value {
    json!({"type":"file_offer","file_id":file_id,"filename":"notes.pdf",
           "filesize":bytes.len(),"sha256":sha256::hex_digest(bytes)})
}

/// `members[sender]` offers `file_id`; everyone else sees the offer.
fn offer_to_all(m: &mut [Member], sender: usize, file_id: &str, bytes: &[u8]) {
    m[sender].send(&offer(file_id, bytes));
    let sender_id = m[sender].id.clone();
    for (i, member) in m.iter_mut().enumerate() {
        if i != sender {
            let v = member.expect_type("file_offer");
            assert_eq!(v["sender_id"], sender_id.as_str());
            assert_eq!(v["file_id"], file_id);
            assert_eq!(v["filesize"], bytes.len());
        }
    }
}

/// `members[downloader]` asks for `file_id` of `members[sender]`; returns
/// the new transfer id after checking both sides were told.
fn request(m: &mut [Member], sender: usize, downloader: usize, file_id: &str) -> String {
    let (sender_id, downloader_id) = (m[sender].id.clone(), m[downloader].id.clone());
    m[downloader].send(&json!({"type":"file_request","sender_id":sender_id,"file_id":file_id}));
    let to_sender = m[sender].expect_type("file_request");
    assert_eq!(to_sender["downloader_id"], downloader_id.as_str());
    assert_eq!(to_sender["file_id"], file_id);
    let transfer_id = to_sender["transfer_id"].as_str().unwrap().to_string();
    let started = m[downloader].expect_type("file_transfer_started");
    assert_eq!(started["transfer_id"], transfer_id.as_str());
    assert_eq!(started["sender_id"], sender_id.as_str());
    assert_eq!(started["file_id"], file_id);
    transfer_id
}

#[test]
fn a_file_travels_from_offer_to_last_ack_between_the_two_parties_only() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bytes = file_bytes(3 * MAX_FILE_CHUNK + 1234);
    offer_to_all(&mut m, 0, "f1", &bytes);
    let t = request(&mut m, 0, 1, "f1");

    let mut received = Vec::new();
    for (n, chunk) in bytes.chunks(MAX_FILE_CHUNK).enumerate() {
        let offset = n * MAX_FILE_CHUNK;
        m[0].send(&json!({"type":"file_chunk","transfer_id":t,"offset":offset,
                          "data":base64::encode(chunk)}));
        let v = m[1].expect_type("file_chunk");
        assert_eq!(v["transfer_id"], t.as_str());
        assert_eq!(v["file_id"], "f1");
        assert_eq!(v["offset"], offset);
        received.extend(base64::decode(v["data"].as_str().unwrap()).unwrap());
        m[1].send(&json!({"type":"file_ack","transfer_id":t,"offset":received.len()}));
        assert_eq!(m[0].expect_type("file_ack")["offset"], received.len());
    }
    m[0].send(&json!({"type":"file_end","transfer_id":t,"sha256":sha256::hex_digest(&bytes)}));
    let end = m[1].expect_type("file_end");
    assert_eq!(end["file_id"], "f1");
    assert_eq!(received, bytes);
    assert_eq!(end["sha256"], sha256::hex_digest(&received));
    // The last ack went out before file_end, so the transfer is over.
    m[1].send(&json!({"type":"file_ack","transfer_id":t,"offset":bytes.len()}));
    m[1].expect_error("no_such_transfer");
    m[2].expect_nothing();

    // The offer stays for others, and for joiners.
    let dave = join(&server, "Dave", &m[0].code.clone());
    let files = dave.reply["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["file_id"], "f1");
    assert_eq!(files[0]["username"], "Alice");
}

#[test]
fn only_the_right_party_may_touch_a_transfer() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bytes = file_bytes(100);
    offer_to_all(&mut m, 0, "f1", &bytes);
    let t = request(&mut m, 0, 1, "f1");
    let chunk = json!({"type":"file_chunk","transfer_id":t,"offset":0,"data":"AAAA"});
    let ack = json!({"type":"file_ack","transfer_id":t,"offset":3});
    let end = json!({"type":"file_end","transfer_id":t,"sha256":"0".repeat(64)});
    let cancel = json!({"type":"file_cancel","transfer_id":t});

    // Carol is no party; Bob (downloader) sends no chunks; Alice no acks.
    for message in [&chunk, &ack, &end, &cancel] {
        m[2].send(message);
        m[2].expect_error("no_such_transfer");
    }
    m[1].send(&chunk);
    m[1].expect_error("no_such_transfer");
    m[1].send(&end);
    m[1].expect_error("no_such_transfer");
    m[0].send(&ack);
    m[0].expect_error("no_such_transfer");
    // A chunk past the end of the file is refused too.
    m[0].send(&json!({"type":"file_chunk","transfer_id":t,"offset":99,"data":"AAAA"}));
    m[0].expect_error("bad_request");
    for member in &mut m {
        member.expect_nothing();
    }

    let alice = m[0].id.clone();
    m[2].send(&json!({"type":"file_request","sender_id":alice,"file_id":"nope"}));
    m[2].expect_error("no_such_file");
}

#[test]
fn either_party_may_cancel() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    offer_to_all(&mut m, 0, "f1", &file_bytes(10));
    let t1 = request(&mut m, 0, 1, "f1");
    m[1].send(&json!({"type":"file_cancel","transfer_id":t1}));
    let v = m[0].expect_type("file_error");
    assert_eq!(v["transfer_id"], t1.as_str());
    assert_eq!(v["reason"], "cancelled");

    // The same offer can be fetched again, under a new transfer id.
    let t2 = request(&mut m, 0, 1, "f1");
    assert_ne!(t1, t2);
    m[0].send(&json!({"type":"file_cancel","transfer_id":t2}));
    assert_eq!(m[1].expect_type("file_error")["reason"], "cancelled");
    m[1].send(&json!({"type":"file_cancel","transfer_id":t2}));
    m[1].expect_error("no_such_transfer");
}

#[test]
fn a_sender_leaving_ends_its_transfers_and_offers() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    offer_to_all(&mut m, 1, "f1", &file_bytes(10));
    let t = request(&mut m, 1, 2, "f1");
    let bob = m[1].id.clone();
    m[1].send(&json!({"type":"leave"}));
    m[1].expect_closed();

    let left = m[2].expect_type("user_left");
    assert_eq!(left["client_id"], bob.as_str());
    let error = m[2].expect_type("file_error");
    assert_eq!(error["transfer_id"], t.as_str());
    assert_eq!(error["reason"], "peer_left");
    let gone = m[2].expect_type("file_unavailable");
    assert_eq!(gone["sender_id"], bob.as_str());
    assert_eq!(gone["file_id"], "f1");
    m[0].expect_types(&["user_left", "file_unavailable"]);
}

#[test]
fn offers_are_unique_per_sender_and_can_be_withdrawn() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob"]);
    let bytes = file_bytes(10);
    offer_to_all(&mut m, 0, "f1", &bytes);
    m[0].send(&offer("f1", &bytes));
    m[0].expect_error("bad_request");
    // Another sender may use the same file_id.
    offer_to_all(&mut m, 1, "f1", &bytes);

    m[0].send(&json!({"type":"file_unoffer","file_id":"f1"}));
    let alice = m[0].id.clone();
    for member in &mut m {
        let v = member.expect_type("file_unavailable");
        assert_eq!(v["sender_id"], alice.as_str());
    }
    m[1].send(&json!({"type":"file_request","sender_id":alice,"file_id":"f1"}));
    m[1].expect_error("no_such_file");
    m[0].send(&json!({"type":"file_unoffer","file_id":"f1"}));
    m[0].expect_error("no_such_file");

    // Malformed offers.
    for bad in [
        json!({"type":"file_offer","file_id":"","filename":"a","filesize":1,"sha256":"0".repeat(64)}),
        json!({"type":"file_offer","file_id":"f","filename":"","filesize":1,"sha256":"0".repeat(64)}),
        json!({"type":"file_offer","file_id":"f","filename":"a","filesize":1,"sha256":"xyz"}),
        json!({"type":"file_offer","file_id":"f","filename":"a","filesize":-1,"sha256":"0".repeat(64)}),
    ] {
        m[0].send(&bad);
        m[0].expect_error("bad_request");
    }
}

#[test]
fn acks_after_file_end_are_relayed_and_peer_left_only_before_it() {
    let server = start_server();
    let mut m = meeting(&server, &["Alice", "Bob", "Carol"]);
    let bytes = file_bytes(1000);
    offer_to_all(&mut m, 1, "f1", &bytes);
    // Bob sends the whole file to Alice and ends it before any ack.
    let t = request(&mut m, 1, 0, "f1");
    m[1].send(&json!({"type":"file_chunk","transfer_id":t,"offset":0,
                      "data":base64::encode(&bytes)}));
    m[0].expect_type("file_chunk");
    m[1].send(&json!({"type":"file_end","transfer_id":t,"sha256":sha256::hex_digest(&bytes)}));
    m[0].expect_type("file_end");
    // The transfer is still open: Alice's late acks reach Bob.
    m[0].send(&json!({"type":"file_ack","transfer_id":t,"offset":500}));
    assert_eq!(m[1].expect_type("file_ack")["offset"], 500);

    // Carol's download has not ended when Bob leaves; Alice's has.
    let t2 = request(&mut m, 1, 2, "f1");
    m[1].send(&json!({"type":"leave"}));
    m[1].expect_closed();
    m[0].expect_types(&["user_left", "file_unavailable"]);
    m[2].expect_type("user_left");
    let v = m[2].expect_type("file_error");
    assert_eq!(v["transfer_id"], t2.as_str());
    assert_eq!(v["reason"], "peer_left");
    m[2].expect_type("file_unavailable");
    m[0].send(&json!({"type":"file_ack","transfer_id":t,"offset":1000}));
    m[0].expect_error("no_such_transfer");
}

/// Offers are not bounded in number, and every one goes into each join
/// reply. Past about 8 MiB of offers the reply is larger than a client
/// accepts (PROTOCOL.md section 1) and larger than the server's own
/// outbound queue limit, so every later joiner is disconnected before its
/// reply: one participant can shut a meeting to newcomers. The server
/// should refuse offers beyond some count (an error to the offerer) so the
/// join reply stays within 8 MiB.
#[test]
fn many_offers_do_not_lock_joiners_out() {
    let server = start_server();
    let mut alice = create(&server, "Alice");
    // Each offer is about 1.3 KB on the wire; 7000 are about 9 MB.
    let filename = "😀".repeat(255);
    let mut refused = false;
    for n in 0..7000 {
        let file_id = format!("{n:😀<60}");
        alice.send(
            &json!({"type":"file_offer","file_id":file_id,"filename":filename,
                           "filesize":1,"sha256":"0".repeat(64)}),
        );
        if n % 500 == 499 {
            alice.send(&json!({"type":"ping"}));
            let v = alice.recv();
            if v["type"] == "error" {
                refused = true; // the server capped the offers: fine
                break;
            }
            assert_eq!(v["type"], "pong", "{v}");
        }
    }
    println!("offers refused by the server: {refused}");
    let mut bob = Client::connect(&server);
    bob.send(&join_request("Bob", &alice.code.clone()));
    match bob.next_frame(TIMEOUT) {
        Next::Frame(body) => {
            assert!(
                body.len() <= lanmeet_common::limits::MAX_SERVER_FRAME,
                "join reply of {} bytes",
                body.len()
            );
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["type"], "join_success");
        }
        other => panic!("Bob got no join reply: {other:?}"),
    }
}
