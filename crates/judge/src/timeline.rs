//! A run as a picture: one lane per node colored by role (with term labels), crashes, pauses,
//! clock drift, slow disks and network faults drawn as bands, leader leases as bars, violations marked.
//! A self-contained HTML page with inline SVG, readable without a server.

use crate::check::Violation;
use crate::history::{EventKind, NodeState, Views};
use ballot_core::Role;
use ballot_schedule::faults::Conditions;
use std::fmt::Write;

const LEFT: f64 = 90.0;
const WIDTH: f64 = 1100.0;
const LANE: f64 = 30.0;
const GAP: f64 = 12.0;
const TOP: f64 = 40.0;

/// A span of something on a lane: [from, to) in ms, a CSS class and a tooltip.
struct Span {
    from: f64,
    to: f64,
    class: &'static str,
    label: String,
    title: String,
}

impl Span {
    /// A band whose tooltip is its label.
    fn band(from: f64, to: f64, class: &'static str, label: String) -> Span {
        Span { from, to, class, title: label.clone(), label }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn role_class(role: Role) -> &'static str {
    match role {
        Role::Follower => "follower",
        Role::PreCandidate => "precandidate",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

/// Role spans (and down time) of node `n`, from the views.
fn role_spans(v: &Views, n: usize) -> Vec<Span> {
    v.roles()
        .iter()
        .filter(|s| s.node == n)
        .map(|s| {
            let (class, label) = match s.state {
                NodeState::Running(Role::Leader, term) => ("leader", format!("t{term}")),
                NodeState::Running(role, _) => (role_class(role), String::new()),
                NodeState::Down => ("down", "down".to_string()),
            };
            let title = match s.state {
                NodeState::Running(role, term) => format!("{} t{term}", role_class(role)),
                NodeState::Down => "down".into(),
            };
            Span { from: s.from, to: s.to, class, label, title }
        })
        .collect()
}

/// Lease spans of node `n`, as the lease-safety checker sees them.
fn lease_spans(v: &Views, n: usize) -> Vec<Span> {
    v.leases()
        .iter()
        .filter(|s| s.node == n)
        .map(|s| Span {
            from: s.from,
            to: s.to.min(v.end_ms()),
            class: "lease",
            label: String::new(),
            title: "lease".into(),
        })
        .collect()
}

type Links = std::collections::BTreeSet<(usize, usize)>;

/// The part of the conditions a network band shows.
fn network(c: &Conditions) -> (&Links, &Links, f64, f64, [u64; 2]) {
    (&c.blocked, &c.held, c.loss, c.duplicate, c.latency_ms)
}

/// Whether the network is worse than its baseline: links down, more loss or latency,
/// duplication.
fn network_faulty(c: &Conditions) -> bool {
    !c.blocked.is_empty()
        || !c.held.is_empty()
        || c.loss > c.baseline.loss
        || c.duplicate > 0.0
        || c.latency_ms[1] > c.baseline.latency_ms[1]
}

/// Fault bands from the conditions over time: per node (pauses, clock drift, a disk slower
/// than the baseline) and for the
/// network (links, loss, duplication, latency), the latter labelled with the steps that
/// changed the network when the band began.
fn fault_spans(v: &Views, nodes: usize) -> (Vec<Vec<Span>>, Vec<Span>) {
    let mut per_node: Vec<Vec<Span>> = (0..nodes).map(|_| Vec::new()).collect();
    let mut bands = Vec::new();
    for (i, (from, to, c)) in v.stretches().enumerate() {
        for (n, lane) in per_node.iter_mut().enumerate() {
            if c.paused[n] {
                lane.push(Span::band(from, to, "paused", "paused".into()));
            }
            if c.clock_rates[n] != 1.0 {
                lane.push(Span::band(from, to, "drift", format!("clock ×{}", c.clock_rates[n])));
            }
            if c.disk != c.baseline_disk {
                let label = format!("disk: sync ≤ {} ms", c.disk.sync_ms[1]);
                lane.push(Span::band(from, to, "slowdisk", label));
            }
        }
        if !network_faulty(c) {
            continue;
        }
        // Stretches follow the conditions one for one: the previous entry is the state before.
        let before = &v.conditions()[i.saturating_sub(1)].1;
        let changed_network = |op: &ballot_schedule::Op| {
            let mut probe = before.clone();
            op.apply(&mut probe);
            network(&probe) != network(before)
        };
        let steps: Vec<String> = v
            .history()
            .events()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Fault { step, skipped: false } if e.t_ms == from => Some(&step.op),
                _ => None,
            })
            .filter(|op| changed_network(op))
            .map(|op| op.label())
            .collect();
        let label = if steps.is_empty() { "network fault".to_string() } else { steps.join(", ") };
        bands.push(Span::band(from, to, "netfault", label));
    }
    (per_node, bands)
}

/// Renders the run as a self-contained HTML page.
pub fn render(v: &Views, violations: &[Violation], title: &str) -> String {
    let nodes = v.history().views().len();
    let end = v.end_ms().max(1.0);
    let x = |t: f64| LEFT + (t.clamp(0.0, end) / end) * WIDTH;
    let lane_y = |i: usize| TOP + i as f64 * (LANE + GAP);
    let network_y = lane_y(nodes);
    let height = network_y + LANE + 50.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" viewBox="0 0 {w} {height}">"#,
        w = LEFT + WIDTH + 20.0
    );
    let rect = |svg: &mut String, y: f64, span: &Span, h: f64| {
        let (x0, x1) = (x(span.from), x(span.to));
        let width = (x1 - x0).max(0.5);
        let _ = write!(
            svg,
            r#"<rect class="{c}" x="{x0:.1}" y="{y:.1}" width="{width:.1}" height="{h:.1}"><title>{t} {from:.0}–{to:.0} ms</title></rect>"#,
            c = span.class,
            t = escape(&span.title),
            from = span.from,
            to = span.to
        );
        if !span.label.is_empty() && width > 7.0 * span.label.len() as f64 {
            let _ = write!(
                svg,
                r#"<text class="label" x="{:.1}" y="{:.1}">{}</text>"#,
                x0 + 3.0,
                y + h / 2.0 + 4.0,
                escape(&span.label)
            );
        }
    };
    let (per_node, network) = fault_spans(v, nodes);
    for (n, faults) in per_node.iter().enumerate() {
        let y = lane_y(n);
        let _ = write!(
            svg,
            r#"<text class="lane" x="8" y="{:.1}">node {n}</text>"#,
            y + LANE / 2.0 + 4.0
        );
        for span in role_spans(v, n) {
            rect(&mut svg, y, &span, LANE);
        }
        for span in faults {
            rect(&mut svg, y, span, LANE);
        }
        for span in lease_spans(v, n) {
            rect(&mut svg, y + LANE - 5.0, &span, 5.0);
        }
    }
    let _ = write!(
        svg,
        r#"<text class="lane" x="8" y="{:.1}">network</text>"#,
        network_y + LANE / 2.0 + 4.0
    );
    for (i, span) in network.iter().enumerate() {
        let row = (i % 3) as f64 * (LANE / 3.0);
        rect(&mut svg, network_y + row, span, LANE / 3.0 - 1.0);
    }
    let axis_y = network_y + LANE + 14.0;
    let step = nice_step(end);
    let mut t = 0.0;
    while t <= end {
        let _ = write!(
            svg,
            r#"<line class="tick" x1="{p:.1}" y1="{a:.1}" x2="{p:.1}" y2="{b:.1}"/><text class="axis" x="{p:.1}" y="{c:.1}">{s}</text>"#,
            p = x(t),
            a = TOP - 6.0,
            b = axis_y - 8.0,
            c = axis_y + 4.0,
            s = if t >= 1000.0 { format!("{:.1} s", t / 1000.0) } else { format!("{t:.0} ms") }
        );
        t += step;
    }
    // Each violation is a red line; a name is written only where it does not run into the
    // previous one (every line carries its message as a tooltip, and the list below has all).
    let mut last_label: Option<f64> = None;
    for v in violations {
        let p = x(v.t_ms);
        let _ = write!(
            svg,
            r#"<line class="violation" x1="{p:.1}" y1="{a:.1}" x2="{p:.1}" y2="{b:.1}"><title>{m}</title></line>"#,
            a = TOP - 14.0,
            b = network_y + LANE,
            m = escape(&v.message),
        );
        if last_label.is_some_and(|l| p - l < 160.0) {
            continue;
        }
        last_label = Some(p);
        let _ = write!(
            svg,
            r#"<text class="violation" x="{tx:.1}" y="{ty:.1}" text-anchor="{anchor}">{name}</text>"#,
            tx = if p > LEFT + WIDTH - 160.0 { p - 3.0 } else { p + 3.0 },
            anchor = if p > LEFT + WIDTH - 160.0 { "end" } else { "start" },
            ty = TOP - 18.0,
            name = escape(&v.property)
        );
    }
    if let Some(phase) = v.liveness_phase() {
        let p = x(phase.from_ms);
        let _ = write!(
            svg,
            r#"<line class="phase" x1="{p:.1}" y1="{a:.1}" x2="{p:.1}" y2="{b:.1}"><title>liveness phase from {t:.0} ms: faults healed, a leader due by {d:.0} ms</title></line>"#,
            a = TOP - 6.0,
            b = network_y + LANE,
            t = phase.from_ms,
            d = phase.deadline_ms
        );
    }
    svg.push_str("</svg>");
    let list: String = violations
        .iter()
        .map(|v| {
            format!(
                "<li><b>{}</b> at {:.1} ms, nodes {:?}: {}</li>",
                escape(&v.property),
                v.t_ms,
                v.nodes,
                escape(&v.message)
            )
        })
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 16px; color: #222; }}
.follower {{ fill: #dde5ee; }} .precandidate {{ fill: #f7e08a; }} .candidate {{ fill: #f29a4a; }}
.leader {{ fill: #3a9a5b; }} .down {{ fill: #3b3b3b; }} .paused {{ fill: #2f6fd6; fill-opacity: .45; }}
.drift {{ fill: #b26bd6; fill-opacity: .35; }} .slowdisk {{ fill: #c9a227; fill-opacity: .35; }} .lease {{ fill: #6a2fb3; }} .netfault {{ fill: #d64f4f; fill-opacity: .55; }}
.label {{ font-size: 11px; fill: #111; }} .leader + .label, .down + .label {{ fill: #fff; }} .lane {{ font-size: 13px; }}
.axis {{ font-size: 11px; fill: #555; text-anchor: middle; }} .tick {{ stroke: #ccc; stroke-width: .5; }}
line.phase {{ stroke: #222; stroke-width: 1.5; stroke-dasharray: 4 3; }}
line.violation {{ stroke: #d00; stroke-width: 2; }} text.violation {{ fill: #d00; font-size: 12px; font-weight: bold; }}
.legend span {{ display: inline-block; padding: 2px 8px; margin-right: 6px; border-radius: 3px; font-size: 12px; }}
</style></head><body>
<h2>{title}</h2>
<div class="legend"><span style="background:#dde5ee">follower</span><span style="background:#f7e08a">pre-candidate</span><span style="background:#f29a4a">candidate</span><span style="background:#3a9a5b;color:#fff">leader (term)</span><span style="background:#6a2fb3;color:#fff">lease</span><span style="background:#3b3b3b;color:#fff">crashed</span><span style="background:#97b7eb">paused</span><span style="background:#e4c8f2">clock drift</span><span style="background:#eedfa8">slow disk</span><span style="background:#eba7a7">network fault</span><span>┆ liveness phase</span><span style="color:#d00">| violation</span></div>
{svg}
<ul>{list}</ul>
</body></html>
"#,
        title = escape(title)
    )
}

/// A tick spacing giving about ten ticks over `end` ms.
fn nice_step(end: f64) -> f64 {
    let raw = end / 10.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{test_setup, History};
    use ballot_schedule::faults::{Isolate, Pause};
    use ballot_schedule::{NodeRef, Step};

    #[test]
    fn draws_lanes_roles_faults_leases_and_violations() {
        let mut h = History::new(3);
        h.record(150.0, Some(1), EventKind::Role { role: Role::Leader, term: 1, leader: Some(1) });
        h.record(160.0, Some(1), EventKind::Lease { until_ms: Some(400.0) });
        let pause = Step::at(500, Pause { node: NodeRef::Index(2) });
        h.record(500.0, None, EventKind::Fault { step: pause, skipped: false });
        let cut = Step::at(600, Isolate { node: NodeRef::Index(0) });
        h.record(600.0, None, EventKind::Fault { step: cut, skipped: false });
        let slow =
            Step::at(650, ballot_schedule::faults::Disk { write_ms: [0, 1], sync_ms: [5, 20] });
        h.record(650.0, None, EventKind::Fault { step: slow, skipped: false });
        h.record(700.0, Some(0), EventKind::Crash);
        h.record(900.0, None, EventKind::LivenessPhase);
        let v = Violation {
            property: "election-safety".into(),
            t_ms: 800.0,
            nodes: vec![0, 1],
            message: "a <b> c".into(),
        };
        let html = render(&Views::new(&h, test_setup(1000.0)), &[v], "run <7>");
        for needle in [
            "node 0",
            "node 2",
            "network",
            r#"class="leader""#,
            ">t1<",
            r#"class="lease""#,
            r#"class="paused""#,
            r#"class="netfault""#,
            r#"class="slowdisk""#,
            "disk: sync ≤ 20 ms",
            r#"class="down""#,
            r#"line class="phase""#,
            "isolate 0",
            "line class=\"violation\"",
            "a &lt;b&gt; c",
            "run &lt;7&gt;",
        ] {
            assert!(html.contains(needle), "missing {needle}");
        }
        assert_eq!(html.matches("<svg").count(), 1);
        assert_eq!(html.matches("<rect").count(), html.matches("</rect>").count());
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(20_000.0), 2_000.0);
        assert_eq!(nice_step(7_000.0), 1_000.0);
    }
}
