//! Generated fault schedules against real nodes: every property must hold. `cargo test` runs
//! a modest number of schedules; set GENERATED_CASES for more (`make chaos` runs thousands).
//! A failure is shrunk by the same shrinker `ballot chaos` uses and reported as a schedule
//! file you can run with `ballot run`.

use ballot_harness::explore::{generate::generate, shrink::shrink};
use ballot_harness::{derive_seed, run, PROPERTIES};

fn cases() -> u64 {
    std::env::var("GENERATED_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32)
}

#[test]
fn every_property_holds_on_generated_schedules() {
    for i in 0..cases() {
        let schedule = generate(derive_seed(0x6e6e, &format!("generated test {i}")));
        let result = run(&schedule);
        let Some(first) = result.summary.violations.first() else {
            for p in PROPERTIES.iter().filter(|p| p.needs.is_none()) {
                assert!(result.summary.checked[p.name] > 0.0, "case {i}: {} not checked", p.name);
            }
            continue;
        };
        let shrunk = shrink(&schedule, &first.property, 200);
        panic!(
            "case {i}: violations {:?}\nshrunk schedule:\n{}",
            result.summary.violations,
            shrunk.schedule.to_json()
        );
    }
}
