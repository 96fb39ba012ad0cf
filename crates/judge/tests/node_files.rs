//! Real nodes' history files, hand-written: what a clean stop says, and what a crash leaves.

use ballot_judge::diagnose::{diagnose, Symptom};
use ballot_judge::{judge, EventKind};

/// The meta line of node `node` of a three-node cluster, its file begun at wall time 1000,
/// of a build that writes a `peers` summary every second.
fn meta(node: usize) -> String {
    meta_of(node, r#","peers_period_ms":1000.0"#)
}

fn meta_of(node: usize, rest: &str) -> String {
    meta_with(node, "{}", rest)
}

/// The meta line of node `node` with core configuration `config` (JSON) and `rest`.
fn meta_with(node: usize, config: &str, rest: &str) -> String {
    format!(
        r#"{{"kind":"meta","format":1,"source":"node","cluster_id":7,"node":{node},"members":[{{"id":0,"addr":"a"}},{{"id":1,"addr":"b"}},{{"id":2,"addr":"c"}}],"config":{config},"wall_ms":1000.0{rest}}}"#
    )
}

/// The files of three nodes with core configuration `config`, each from its lines.
fn files_with(config: &str, nodes: [Vec<String>; 3]) -> Vec<(String, String)> {
    let pulse = r#","peers_period_ms":1000.0"#;
    let text = |n: usize, lines: &[String]| {
        format!("{}\n{}\n", meta_with(n, config, pulse), lines.join("\n"))
    };
    nodes.iter().enumerate().map(|(n, lines)| (format!("node-{n}.jsonl"), text(n, lines))).collect()
}

/// The causes `diagnose` names for `symptom` in these files.
fn causes(files: Vec<(String, String)>, symptom: Symptom) -> Vec<&'static str> {
    let run = judge(files).expect("well-formed files");
    let found = diagnose(&run.views());
    found
        .iter()
        .filter(|f| f.symptom == symptom)
        .flat_map(|f| f.causes.iter().map(|c| c.name))
        .collect()
}

/// A `peers` summary of `node` at `t` ms over a second: to and from each other member,
/// `sent` messages sent and `heard` heard, silent for `silence` ms at the longest.
fn traffic(node: usize, t: f64, sent: u64, heard: u64, silence: f64) -> String {
    let others: Vec<String> = (0..3)
        .filter(|&p| p != node)
        .map(|p| {
            let last = if heard > 0 { "10.0" } else { "null" };
            format!(r#"{{"node":{p},"sent":{sent},"heard":{heard},"last_heard_ms":{last},"longest_silence_ms":{silence}}}"#)
        })
        .collect();
    event(node, t, &format!(r#""kind":"peers","period_ms":1000.0,"peers":[{}]"#, others.join(",")))
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

/// Node 0 leads term 1; from 1,100 ms its process is stopped (a stall it records when it
/// wakes at 2,100 ms), node 1 times out and leads term 2 from 1,410 ms; node 0 leads on in
/// term 1 until it hears of term 2. From the files alone: two leaders, because the leader
/// stalled.
#[test]
fn a_stalled_leader_is_named_from_its_own_stall() {
    let files = files_with(
        "{}",
        [
            vec![
                start(0, 0.0, 0),
                role(0, 100.0, "candidate", 1, None),
                role(0, 110.0, "leader", 1, Some(0)),
                event(0, 2100.0, r#""kind":"stall","late_ms":1000.0"#),
                role(0, 2120.0, "follower", 2, Some(1)),
            ],
            vec![
                start(1, 0.0, 0),
                role(1, 105.0, "follower", 1, Some(0)),
                role(1, 1400.0, "candidate", 2, None),
                role(1, 1410.0, "leader", 2, Some(1)),
            ],
            vec![
                start(2, 0.0, 0),
                role(2, 105.0, "follower", 1, Some(0)),
                role(2, 1405.0, "follower", 2, Some(1)),
            ],
        ],
    );
    // A stalled leader is no live leader: node 1's election replaced it, disrupting no one.
    assert_eq!(causes(files.clone(), Symptom::FrequentElections), [] as [&str; 0]);
    assert_eq!(causes(files, Symptom::TwoLeaders), ["paused_leader"]);
}

/// Node 0 leads term 1 and is stopped at 1,000 ms; node 1 campaigns at 1,200 ms but its save
/// of the new term takes 900 ms, so it leads only at 2,110 ms. From the files: a slow disk.
#[test]
fn a_slow_failover_on_a_slow_save_names_the_disk() {
    let save =
        |node, t: f64| event(node, t, r#""kind":"persist","term":2,"voted_for":1,"save_ms":900.0"#);
    let files = files_with(
        "{}",
        [
            vec![
                start(0, 0.0, 0),
                role(0, 100.0, "candidate", 1, None),
                role(0, 110.0, "leader", 1, Some(0)),
                event(0, 1000.0, r#""kind":"stop""#),
            ],
            vec![
                start(1, 0.0, 0),
                role(1, 105.0, "follower", 1, Some(0)),
                role(1, 1200.0, "candidate", 2, None),
                save(1, 2100.0),
                role(1, 2110.0, "leader", 2, Some(1)),
            ],
            vec![
                start(2, 0.0, 0),
                role(2, 105.0, "follower", 1, Some(0)),
                role(2, 2105.0, "follower", 2, Some(1)),
            ],
        ],
    );
    assert_eq!(causes(files, Symptom::SlowFailover), ["slow_disk"]);
}

/// Without pre-vote, node 2 hears no leader and campaigns in terms 2 to 6; when it rejoins,
/// its term deposes leader 0. From the files: it was cut off, and pre-vote is the fix.
#[test]
fn a_node_rejoining_without_pre_vote_is_named_from_its_campaigns() {
    let mut third = vec![start(2, 0.0, 0), role(2, 105.0, "follower", 1, Some(0))];
    third.extend((2..=6).map(|term| role(2, 400.0 + 300.0 * term as f64, "candidate", term, None)));
    let files = files_with(
        r#"{"pre_vote":false}"#,
        [
            vec![
                start(0, 0.0, 0),
                role(0, 100.0, "candidate", 1, None),
                role(0, 110.0, "leader", 1, Some(0)),
                role(0, 2300.0, "follower", 6, None),
            ],
            vec![
                start(1, 0.0, 0),
                role(1, 105.0, "follower", 1, Some(0)),
                role(1, 2300.0, "follower", 6, None),
            ],
            third,
        ],
    );
    let run = judge(files.clone()).expect("well-formed files");
    let found = diagnose(&run.views());
    let fix = found.iter().flat_map(|f| &f.causes).find(|c| c.name == "cut_off_from_leader");
    assert!(fix.is_some_and(|c| c.fix.contains("pre-vote")), "{found:#?}");
    assert_eq!(causes(files, Symptom::FrequentElections), ["cut_off_from_leader"]);
}

/// Without check-quorum, leader 0 is cut off from both others (its summaries: nothing heard
/// for whole periods) and leads on in term 1 while node 1 leads term 2. From the files: a
/// partition without check-quorum.
#[test]
fn a_leader_cut_off_without_check_quorum_is_named_from_its_summaries() {
    let files = files_with(
        r#"{"check_quorum":false}"#,
        [
            vec![
                start(0, 0.0, 0),
                role(0, 100.0, "candidate", 1, None),
                role(0, 110.0, "leader", 1, Some(0)),
                traffic(0, 1005.0, 20, 20, 60.0),
                traffic(0, 2005.0, 20, 0, 1000.0),
                traffic(0, 3005.0, 20, 0, 1000.0),
                role(0, 3500.0, "follower", 2, Some(1)),
            ],
            vec![
                start(1, 0.0, 0),
                role(1, 105.0, "follower", 1, Some(0)),
                traffic(1, 1005.0, 20, 20, 60.0),
                role(1, 1400.0, "candidate", 2, None),
                role(1, 1410.0, "leader", 2, Some(1)),
            ],
            vec![
                start(2, 0.0, 0),
                role(2, 105.0, "follower", 1, Some(0)),
                role(2, 1405.0, "follower", 2, Some(1)),
            ],
        ],
    );
    assert_eq!(causes(files, Symptom::TwoLeaders), ["partition_without_check_quorum"]);
}

/// Two in five messages between the nodes go unheard, by their summaries, and a follower's
/// timer runs out under a live leader. From the files: loss.
#[test]
fn loss_is_named_from_what_the_nodes_sent_and_heard() {
    let files = files_with(
        "{}",
        [
            vec![
                start(0, 0.0, 0),
                role(0, 100.0, "candidate", 1, None),
                role(0, 110.0, "leader", 1, Some(0)),
                traffic(0, 1005.0, 40, 24, 200.0),
                role(0, 1430.0, "follower", 2, Some(1)),
            ],
            vec![
                start(1, 0.0, 0),
                role(1, 105.0, "follower", 1, Some(0)),
                traffic(1, 1006.0, 40, 24, 200.0),
                role(1, 1400.0, "candidate", 2, None),
                role(1, 1410.0, "leader", 2, Some(1)),
            ],
            vec![
                start(2, 0.0, 0),
                role(2, 105.0, "follower", 1, Some(0)),
                traffic(2, 1007.0, 40, 24, 200.0),
                role(2, 1405.0, "follower", 2, Some(1)),
            ],
        ],
    );
    assert_eq!(causes(files, Symptom::FrequentElections), ["message_loss"]);
}

/// Leader 0's clock runs at half speed (its summary says so against the wall clock): its
/// heartbeats come late, and node 1's timer runs out. From the files: clock drift.
#[test]
fn a_slow_leader_clock_is_named_from_its_summaries() {
    let slow = event(
        0,
        1005.0,
        r#""kind":"peers","period_ms":500.0,"clock_rate":0.5,"peers":[{"node":1,"sent":10,"heard":10,"last_heard_ms":10.0,"longest_silence_ms":100.0},{"node":2,"sent":10,"heard":10,"last_heard_ms":10.0,"longest_silence_ms":100.0}]"#,
    );
    let files = files_with(
        "{}",
        [
            vec![
                start(0, 0.0, 0),
                role(0, 100.0, "candidate", 1, None),
                role(0, 110.0, "leader", 1, Some(0)),
                slow,
                role(0, 1420.0, "follower", 2, Some(1)),
            ],
            vec![
                start(1, 0.0, 0),
                role(1, 105.0, "follower", 1, Some(0)),
                role(1, 1400.0, "candidate", 2, None),
                role(1, 1410.0, "leader", 2, Some(1)),
            ],
            vec![
                start(2, 0.0, 0),
                role(2, 105.0, "follower", 1, Some(0)),
                role(2, 1405.0, "follower", 2, Some(1)),
            ],
        ],
    );
    let run = judge(files.clone()).expect("well-formed files");
    let found = diagnose(&run.views());
    let drift = found.iter().flat_map(|f| &f.causes).find(|c| c.name == "clock_drift");
    assert!(
        drift.is_some_and(|c| c.detail.contains("leader 0") && c.detail.contains("0.50x")),
        "{found:#?}"
    );
    assert_eq!(causes(files, Symptom::FrequentElections), ["clock_drift"]);
}

/// Leader 0's summaries measure an 80 ms round trip to each member; with a 20 ms heartbeat
/// and a 100 ms minimum election timeout no late heartbeat fits, and node 2's campaign under
/// the live leader is put down to the timeouts (with ones that would fit). Without the
/// measure the same files show no cause.
#[test]
fn timeouts_too_short_for_the_measured_round_trip_are_named() {
    let files = |round_trip: &str| {
        let summary = |t: f64| {
            let peer = |p: usize| {
                format!(
                    r#"{{"node":{p},"sent":50,"heard":50,"last_heard_ms":10.0,"longest_silence_ms":40.0{round_trip}}}"#
                )
            };
            event(
                0,
                t,
                &format!(r#""kind":"peers","period_ms":1000.0,"peers":[{},{}]"#, peer(1), peer(2)),
            )
        };
        files_with(
            r#"{"election_timeout_min_ms":100,"election_timeout_max_ms":200,"heartbeat_ms":20}"#,
            [
                vec![
                    start(0, 0.0, 0),
                    role(0, 100.0, "candidate", 1, None),
                    role(0, 110.0, "leader", 1, Some(0)),
                    summary(1000.0),
                    summary(2000.0),
                    role(0, 2510.0, "follower", 2, None),
                ],
                vec![start(1, 0.0, 0), role(1, 105.0, "follower", 1, Some(0))],
                vec![
                    start(2, 0.0, 0),
                    role(2, 105.0, "follower", 1, Some(0)),
                    role(2, 2500.0, "candidate", 2, None),
                ],
            ],
        )
    };
    let measured = files(r#","round_trip_ms":{"median":80.0,"max":120.0}"#);
    let run = judge(measured.clone()).expect("well-formed files");
    let found = diagnose(&run.views());
    let cause = found.iter().flat_map(|f| &f.causes).find(|c| c.name == "timeouts_too_short");
    assert!(
        cause.is_some_and(|c| c.detail.contains("80 ms") && c.fix.contains("280–560 ms")),
        "{found:#?}"
    );
    assert_eq!(causes(measured, Symptom::FrequentElections), ["timeouts_too_short"]);
    assert_eq!(causes(files(""), Symptom::FrequentElections), ["unexplained"]);
}

/// Three nodes that campaign term after term, each for itself, and never elect a leader:
/// the first election never ends, and the finding says so, with the split votes.
#[test]
fn a_cluster_that_never_elects_a_leader_is_a_slow_failover() {
    let campaigns = |n: usize| {
        let mut lines = vec![start(n, 0.0, 0)];
        lines.extend(
            (1..=10).map(|term| role(n, 150.0 * term as f64 + n as f64, "candidate", term, None)),
        );
        lines
    };
    let files = files_with("{}", [campaigns(0), campaigns(1), campaigns(2)]);
    let run = judge(files).expect("well-formed files");
    let found = diagnose(&run.views());
    let slow = found.iter().find(|f| f.symptom == Symptom::SlowFailover).expect("a finding");
    assert!(slow.summary.starts_with("no leader was elected"), "{slow:?}");
    let split = slow.causes.iter().find(|c| c.name == "split_votes").expect("split votes");
    assert!(split.detail.contains("none elected a leader"), "{split:?}");
}
