//! Generated fault schedules against real nodes: every property must hold. `cargo test` runs
//! a modest number of cases; set PROPTEST_CASES for more. A failure is shrunk by proptest and
//! reported as a schedule file you can run with `ballot run`.

use ballot_harness::{generate, run};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_property_holds_on_generated_schedules(schedule in generate::schedule()) {
        let result = run(&schedule);
        prop_assert!(
            result.summary.violations.is_empty(),
            "violations {:?}\nschedule:\n{}",
            result.summary.violations,
            schedule.to_json()
        );
    }
}
