//! Real nodes' history files, hand-written: what a clean stop says, and what a crash leaves.

use ballot_judge::diagnose::{diagnose, Symptom};
use ballot_judge::{judge, EventKind};

/// The meta line of node `node` of a three-node cluster, its file begun at wall time 1000,
/// of a build that writes a `peers` summary every second.
fn meta(node: usize) -> String {
    meta_of(node, r#","peers_period_ms":1000.0"#)
}

fn meta_of(node: usize, rest: &str) -> String {
    format!(
        r#"{{"kind":"meta","format":1,"source":"node","cluster_id":7,"node":{node},"members":[{{"id":0,"addr":"a"}},{{"id":1,"addr":"b"}},{{"id":2,"addr":"c"}}],"config":{{}},"wall_ms":1000.0{rest}}}"#
    )
}

/// An event of `node` at `t` ms (its clock and wall time agree), with its other fields.
fn event(node: usize, t: f64, fields: &str) -> String {
    format!(r#"{{"t_ms":{t},"wall_ms":{},"node":{node},{fields}}}"#, 1000.0 + t)
}

fn role(node: usize, t: f64, role: &str, term: u64, leader: Option<usize>) -> String {
    let leader = leader.map_or("null".to_string(), |l| l.to_string());
    event(node, t, &format!(r#""kind":"role","role":"{role}","term":{term},"leader":{leader}"#))
}

fn start(node: usize, t: f64, term: u64) -> String {
    event(node, t, &format!(r#""kind":"start","term":{term},"voted_for":null,"log_len":0"#))
}

fn file(node: usize, lines: &[String]) -> (String, String) {
    (format!("node-{node}.jsonl"), format!("{}\n{}\n", meta(node), lines.join("\n")))
}

/// A `peers` summary of `node` at `t` ms: it heard from and sent to the two others.
fn peers(node: usize, t: f64) -> String {
    let others: Vec<String> = (0..3)
        .filter(|&p| p != node)
        .map(|p| format!(r#"{{"node":{p},"sent":20,"heard":20,"last_heard_ms":10.0,"longest_silence_ms":60.0}}"#))
        .collect();
    event(node, t, &format!(r#""kind":"peers","period_ms":1000.0,"peers":[{}]"#, others.join(",")))
}

/// Node 0 leads term 1 and is stopped cleanly at 500 ms; node 1 leads term 2 from 700 ms;
/// node 0 starts again at 900 ms and follows. Or node 0 is killed instead, and its file
/// just ends at its last event (`stop` is left out).
fn cluster(stopped: bool) -> Vec<(String, String)> {
    let mut first = vec![
        start(0, 0.0, 0),
        role(0, 100.0, "candidate", 1, None),
        role(0, 110.0, "leader", 1, Some(0)),
    ];
    if stopped {
        first.push(event(0, 500.0, r#""kind":"stop""#));
    }
    first.extend([start(0, 900.0, 2), role(0, 905.0, "follower", 2, Some(1))]);
    vec![
        file(0, &first),
        file(
            1,
            &[
                start(1, 0.0, 0),
                role(1, 105.0, "follower", 1, Some(0)),
                role(1, 690.0, "candidate", 2, None),
                role(1, 700.0, "leader", 2, Some(1)),
            ],
        ),
        file(2, &[start(2, 0.0, 0), role(2, 105.0, "follower", 1, Some(0))]),
    ]
}

/// A clean stop ends the leader's leadership where it happened: one failover of 200 ms, no
/// crash read into the restart, never two leaders.
#[test]
fn a_leader_stopped_cleanly_leads_no_longer() {
    let run = judge(cluster(true)).expect("well-formed files");
    let events = run.history.events();
    assert!(events.iter().any(|e| e.kind == EventKind::Stop && e.t_ms == 500.0));
    assert!(!events.iter().any(|e| e.kind == EventKind::Crash), "a stop is not a crash");
    let views = run.views();
    assert_eq!(views.failovers(), [200.0]);
    let first = views.leadership_of(0).next().expect("node 0 led");
    assert_eq!((first.term, first.to_ms), (1, 500.0));
    let two = diagnose(&views).into_iter().filter(|f| f.symptom == Symptom::TwoLeaders);
    assert_eq!(two.count(), 0);
    assert!(!run.summary.violates("election-safety"));
}

/// Without the `stop`, the restart says the node crashed: right after the last event it
/// wrote (a killed process writes nothing more), which is when its leadership ended.
#[test]
fn a_leader_killed_and_restarted_crashed_after_its_last_event() {
    let run = judge(cluster(false)).expect("well-formed files");
    let crash = run.history.events().iter().find(|e| e.kind == EventKind::Crash);
    assert_eq!(crash.map(|e| (e.t_ms, e.node)), Some((110.0, Some(0))));
    let views = run.views();
    assert_eq!(views.failovers(), [590.0]);
}

/// Node 0 leads term 1 and is killed at 1,200 ms, never to start again: its file just ends.
/// Node 1 leads term 2 from 1,500 ms; both followers go on writing summaries to 6,000 ms.
fn killed_leader(pulse: bool) -> Vec<(String, String)> {
    let later = |node| (2..=6).map(move |s| peers(node, s as f64 * 1000.0 + 5.0));
    let mut second = vec![
        start(1, 0.0, 0),
        role(1, 105.0, "follower", 1, Some(0)),
        peers(1, 1005.0),
        role(1, 1490.0, "candidate", 2, None),
        role(1, 1500.0, "leader", 2, Some(1)),
    ];
    second.extend(later(1));
    let mut third = vec![
        start(2, 0.0, 0),
        role(2, 105.0, "follower", 1, Some(0)),
        peers(2, 1005.0),
        role(2, 1495.0, "follower", 2, Some(1)),
    ];
    third.extend(later(2));
    let first = [
        start(0, 0.0, 0),
        role(0, 100.0, "candidate", 1, None),
        role(0, 110.0, "leader", 1, Some(0)),
        peers(0, 1005.0),
        event(0, 1200.0, r#""kind":"lease","until_ms":1300.0"#),
    ];
    let mut files = vec![file(0, &first), file(1, &second), file(2, &third)];
    if !pulse {
        for (node, (_, text)) in files.iter_mut().enumerate() {
            let body: Vec<&str> = text.lines().skip(1).filter(|l| !l.contains("peers")).collect();
            *text = format!("{}\n{}\n", meta_of(node, ""), body.join("\n"));
        }
    }
    files
}

/// A node whose file has a pulse and falls silent without a `stop` while the others go on
/// was killed or hung right after its last event: the leader lost then, one failover, and
/// never two leaders (before, the killed leader led on to the end of the others' files).
#[test]
fn a_leader_whose_file_falls_silent_was_killed_after_its_last_event() {
    let run = judge(killed_leader(true)).expect("well-formed files");
    let crash = run.history.events().iter().find(|e| e.kind == EventKind::Crash);
    assert_eq!(crash.map(|e| (e.t_ms, e.node)), Some((1200.0, Some(0))));
    let views = run.views();
    assert_eq!(views.failovers(), [300.0]);
    assert_eq!(views.leadership_of(0).next().map(|s| s.to_ms), Some(1200.0));
    let found = diagnose(&views);
    assert!(!found.iter().any(|f| f.symptom == Symptom::TwoLeaders), "{found:#?}");
    assert!(!found.iter().any(|f| f.symptom == Symptom::FrequentElections), "{found:#?}");
}

/// Files of a build without summaries have no pulse: a file that ends early may be of a
/// quiet follower, so nothing is inferred.
#[test]
fn without_a_pulse_nothing_is_inferred_from_a_file_that_ends() {
    let run = judge(killed_leader(false)).expect("well-formed files");
    assert!(!run.history.events().iter().any(|e| e.kind == EventKind::Crash));
}
