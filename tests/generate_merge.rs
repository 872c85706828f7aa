//! `palisade generate --merge`: the union of runs. Two busybox applets learned apart each
//! refuse the other's file; merged (policies only, or a policy and a new run) the union runs
//! both, and still refuses what neither did.

mod generate_common;
mod run_common;

use generate_common::*;
use run_common::*;

#[test]
fn merged_policies_run_both_workloads_and_nothing_more() {
    let _s = serial();
    require_root();
    let bb = busybox();
    let dir = workdir();
    let ls: &[&str] = &[bb, "ls", "/usr"];
    let cat: &[&str] = &[bb, "cat", "/etc/debian_version"];
    let (a, _) = round_trip(dir.path(), "a", &[], ls);
    let (b, _) = round_trip(dir.path(), "b", &[], cat);
    // Apart, each refuses the other's file.
    assert_blocked(&a, cat, "Permission denied");

    // Policies only, no new run.
    let ab = dir.path().join("ab.toml");
    let out = generate(&["-o", ab.to_str().unwrap(), "--merge", a.to_str().unwrap(), "--merge", b.to_str().unwrap()], &[]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_checks(&ab);
    let text = std::fs::read_to_string(&ab).unwrap();
    assert!(text.contains("in the run behind"), "merged entries say where they come from: {text}");
    for (command, expected) in [(ls, run_under(&a, ls)), (cat, run_under(&b, cat))] {
        let out = run_under(&ab, command);
        assert_eq!(code(&out), 0, "{command:?} under the merged policy: {}\n--- policy\n{text}", describe(&out));
        assert_eq!(out.stdout, expected.stdout, "{command:?}");
    }
    // What neither did stays refused.
    assert_blocked(&ab, &[bb, "cat", "/etc/passwd"], "Permission denied");
    assert_blocked(&ab, &[bb, "mkdir", "/tmp/made"], "Operation not permitted");
    let (mine, docker) = report_size("merge of busybox ls /usr and busybox cat /etc/debian_version", &ab);
    assert!(mine < docker);

    // A policy and a new run.
    let (a_then_b, _) = round_trip(dir.path(), "a-then-b", &["--merge", a.to_str().unwrap()], cat);
    let out = run_under(&a_then_b, ls);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(out.stdout, run_under(&a, ls).stdout);
    assert_blocked(&a_then_b, &[bb, "cat", "/etc/passwd"], "Permission denied");

    assert_no_scratch_left();
    assert_no_leaks();
}
