//! File sharing through a real server: big files, parallel downloads,
//! cancels, a sender that quits, and hostile names.

mod support;

use std::time::Duration;

use lanmeet_client::{Event, TransferDirection};
use lanmeet_common::message::FileOfferInfo;
use support::*;

/// Waits for the offer `file_id` at `client` and returns it.
fn wait_offer(client: &mut Client, file_id: &str) -> FileOfferInfo {
    let e = client.events.wait(
        |e| matches!(e, Event::FileOffered(o) if o.file_id == file_id),
        "the offer",
    );
    let Event::FileOffered(offer) = e else {
        unreachable!()
    };
    offer
}

/// Waits for the end of a download and returns where it was saved.
fn wait_download(client: &mut Client, transfer_id: &str) -> std::path::PathBuf {
    let e = client.events.wait_for(
        Duration::from_secs(20),
        |e| {
            matches!(e, Event::TransferDone { transfer_id: t, .. } | Event::TransferFailed { transfer_id: t, .. } if t == transfer_id)
        },
        "the end of the download",
    );
    match e {
        Some(Event::TransferDone {
            path: Some(path), ..
        }) => path,
        other => panic!("download {transfer_id} did not finish: {other:?}"),
    }
}

fn wait_started(client: &mut Client, file_id: &str) -> String {
    let e = client.events.wait(
        |e| matches!(e, Event::TransferStarted { file_id: f, direction: TransferDirection::Download, .. } if f == file_id),
        "the download to start",
    );
    let Event::TransferStarted { transfer_id, .. } = e else {
        unreachable!()
    };
    transfer_id
}

/// Waits until transfer `t` has moved some bytes at `client`, so that
/// what the test does next happens in the middle of it.
fn wait_progress(client: &mut Client, t: &str, what: &str) {
    client.events.wait(
        |e| matches!(e, Event::TransferProgress { transfer_id, .. } if transfer_id == t),
        what,
    );
}

/// Waits for transfer `t` to fail at `client` and returns the reason.
fn wait_failed(client: &mut Client, t: &str, what: &str) -> String {
    let e = client.events.wait(
        |e| matches!(e, Event::TransferFailed { transfer_id, .. } if transfer_id == t),
        what,
    );
    let Event::TransferFailed { reason, .. } = e else {
        unreachable!()
    };
    reason
}

#[test]
fn a_50_mb_file_arrives_with_the_right_hash() {
    let server = server();
    let src = TempDir::new("files-src");
    let dst = TempDir::new("files-dst");
    let path = src.join("big.bin");
    let sha = write_test_file(&path, 50 * 1024 * 1024, 7);
    let mut a = create(&server, "Sender", src.path());
    let mut b = join(&server, "Receiver", &a.code(), dst.path());

    let file_id = a.session.offer_file(&path).unwrap();
    let offer = wait_offer(&mut b, &file_id);
    assert_eq!(offer.filename, "big.bin");
    assert_eq!(offer.filesize, 50 * 1024 * 1024);
    assert_eq!(offer.sha256, sha);
    b.session.request_file(&offer.sender_id, &file_id).unwrap();
    let transfer = wait_started(&mut b, &file_id);
    let saved = wait_download(&mut b, &transfer);
    assert_eq!(saved, dst.join("big.bin"));
    assert_eq!(file_sha256(&saved), sha);
    assert_eq!(dst.names(), ["big.bin"], "no part file left");
    assert!(b.events.seen.iter().any(
        |e| matches!(e, Event::TransferProgress { bytes, rate, .. } if *bytes > 0 && *rate > 0.0)
    ));
    a.events.wait(
        |e| {
            matches!(
                e,
                Event::TransferDone {
                    direction: TransferDirection::Upload,
                    ..
                }
            )
        },
        "the upload to finish",
    );
    let t = b.session.state().transfer(&transfer).cloned().unwrap();
    assert_eq!(t.bytes, 50 * 1024 * 1024);
    assert_eq!(t.path.as_deref(), Some(saved.as_path()));
}

#[test]
fn one_offer_downloaded_three_times_at_once() {
    let server = server();
    let src = TempDir::new("multi-src");
    let b_dir = TempDir::new("multi-b");
    let c_dir = TempDir::new("multi-c");
    let path = src.join("notes.txt");
    let sha = write_test_file(&path, 6 * 1024 * 1024 + 123, 3);
    let a = create(&server, "Sender", src.path());
    let mut b = join(&server, "B", &a.code(), b_dir.path());
    let mut c = join(&server, "C", &a.code(), c_dir.path());
    let file_id = a.session.offer_file(&path).unwrap();
    let offer = wait_offer(&mut b, &file_id);
    wait_offer(&mut c, &file_id);
    // B asks twice, C once, all before any finishes.
    b.session.request_file(&offer.sender_id, &file_id).unwrap();
    b.session.request_file(&offer.sender_id, &file_id).unwrap();
    c.session.request_file(&offer.sender_id, &file_id).unwrap();
    let b1 = wait_started(&mut b, &file_id);
    let b2 = wait_started(&mut b, &file_id);
    let c1 = wait_started(&mut c, &file_id);
    let p1 = wait_download(&mut b, &b1);
    let p2 = wait_download(&mut b, &b2);
    let p3 = wait_download(&mut c, &c1);
    for p in [&p1, &p2, &p3] {
        assert_eq!(file_sha256(p), sha);
    }
    assert_eq!(b_dir.names(), ["notes (1).txt", "notes.txt"]);
    assert_eq!(c_dir.names(), ["notes.txt"]);
}

#[test]
fn cancels_on_either_side_leave_no_part_file() {
    let server = server();
    let src = TempDir::new("cancel-src");
    let dst = TempDir::new("cancel-dst");
    let path = src.join("movie.bin");
    write_test_file(&path, 60 * 1024 * 1024, 11);
    let mut a = create(&server, "Sender", src.path());
    let mut b = join(&server, "Receiver", &a.code(), dst.path());
    let file_id = a.session.offer_file(&path).unwrap();
    let offer = wait_offer(&mut b, &file_id);

    // The downloader cancels.
    b.session.request_file(&offer.sender_id, &file_id).unwrap();
    let t = wait_started(&mut b, &file_id);
    wait_progress(&mut b, &t, "some progress");
    b.session.cancel_transfer(&t).unwrap();
    wait_failed(&mut b, &t, "the local cancel");
    assert!(dst.names().is_empty(), "left behind: {:?}", dst.names());
    let reason = wait_failed(&mut a, &t, "the cancel at the sender");
    assert!(reason.contains("cancelled"), "{reason}");

    // The sender cancels.
    b.session.request_file(&offer.sender_id, &file_id).unwrap();
    let t = wait_started(&mut b, &file_id);
    wait_progress(&mut a, &t, "upload progress");
    a.session.cancel_transfer(&t).unwrap();
    let reason = wait_failed(&mut b, &t, "the sender's cancel at the receiver");
    assert!(reason.contains("cancelled"), "{reason}");
    assert!(dst.names().is_empty(), "left behind: {:?}", dst.names());
}

#[test]
fn the_sender_quitting_midway_is_a_clear_error() {
    let server = server();
    let src = TempDir::new("quit-src");
    let dst = TempDir::new("quit-dst");
    let path = src.join("big.iso");
    write_test_file(&path, 60 * 1024 * 1024, 5);
    let a = create(&server, "Sender", src.path());
    let mut b = join(&server, "Receiver", &a.code(), dst.path());
    let file_id = a.session.offer_file(&path).unwrap();
    let offer = wait_offer(&mut b, &file_id);
    b.session.request_file(&offer.sender_id, &file_id).unwrap();
    let t = wait_started(&mut b, &file_id);
    wait_progress(&mut b, &t, "some progress");
    drop(a);
    let reason = wait_failed(&mut b, &t, "the failure");
    assert!(reason.contains("left"), "{reason}");
    assert!(dst.names().is_empty(), "left behind: {:?}", dst.names());
    b.events.wait(
        |e| matches!(e, Event::FileUnavailable { file_id: f, .. } if *f == file_id),
        "the offer to go away",
    );
    assert!(b.session.state().offers.is_empty());
}

#[test]
fn hostile_names_are_saved_safely_inside_the_download_folder() {
    let server = server();
    let src = TempDir::new("hostile-src");
    let root = TempDir::new("hostile-root");
    let dst = root.join("inner/downloads");
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(dst.join("report.txt"), b"already here").unwrap();
    let path = src.join("payload");
    let sha = write_test_file(&path, 1000, 1);
    let a = create(&server, "Mallory", src.path());
    let mut b = join(&server, "Victim", &a.code(), &dst);

    let cases = [
        ("../../x", "x"),
        ("/etc/passwd", "passwd"),
        ("con", "_con"),
        ("bell\u{7}tab\tnew\nline.txt", "belltabnewline.txt"),
        ("report.txt", "report (1).txt"),
        ("..", "download"),
        ("..\\..\\win.ini", "win.ini"),
    ];
    for (offered, saved_as) in cases {
        let file_id = a.session.offer_file_named(&path, offered).unwrap();
        let offer = wait_offer(&mut b, &file_id);
        assert_eq!(offer.filename, offered);
        b.session.request_file(&offer.sender_id, &file_id).unwrap();
        let t = wait_started(&mut b, &file_id);
        let saved = wait_download(&mut b, &t);
        assert_eq!(saved, dst.join(saved_as), "{offered:?}");
        assert_eq!(file_sha256(&saved), sha);
    }
    assert_eq!(
        std::fs::read(dst.join("report.txt")).unwrap(),
        b"already here",
        "an existing file is never overwritten"
    );
    // Nothing escaped the download folder.
    assert!(!root.join("x").exists() && !root.join("inner/x").exists());
    let names: Vec<String> = root.names();
    assert_eq!(names, ["inner"]);
}

#[test]
fn an_empty_file_is_transferred_too() {
    let server = server();
    let src = TempDir::new("empty-src");
    let dst = TempDir::new("empty-dst");
    let path = src.join("empty.txt");
    std::fs::write(&path, b"").unwrap();
    let a = create(&server, "Sender", src.path());
    let mut b = join(&server, "Receiver", &a.code(), dst.path());
    let file_id = a.session.offer_file(&path).unwrap();
    let offer = wait_offer(&mut b, &file_id);
    assert_eq!(offer.filesize, 0);
    b.session.request_file(&offer.sender_id, &file_id).unwrap();
    let t = wait_started(&mut b, &file_id);
    let saved = wait_download(&mut b, &t);
    assert_eq!(std::fs::metadata(&saved).unwrap().len(), 0);
    assert_eq!(dst.names(), ["empty.txt"]);
}
