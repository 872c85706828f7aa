//! Seccomp compile benchmark: palisade vs libseccomp on Docker's default profile, measured in
//! the same run on the same machine. Run with `cargo bench --bench seccomp_compile`.
//!
//! Reports medians of repeated runs (never asserted anywhere: timing belongs in benchmarks, not
//! tests), program sizes, and the worst-case path: the most BPF instructions any syscall
//! executes, computed over the program's control-flow graph.

#[path = "../tests/support/libseccomp_oracle.rs"]
mod libseccomp_oracle;

use palisade::compile::Plan;
use palisade::policy::{load, PolicySource};
use palisade::seccomp::interp::worst_case_path;
use std::time::{Duration, Instant};

const DOCKER_JSON: &str = include_str!("../../shared/data/docker-default-seccomp.json");

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = f(); // warm-up
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        last = std::hint::black_box(f());
        samples.push(start.elapsed());
    }
    (median(samples), last)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let runs = std::env::var("BENCH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(200);

    // palisade: policy text → decision model → BPF (what a container start needs).
    let (pal_total, plan) = measure(runs, || Plan::new(load(&PolicySource::Builtin("docker-default")).unwrap()).unwrap());
    let policy = load(&PolicySource::Builtin("docker-default")).unwrap();
    let (pal_compile, _) = measure(runs, || Plan::new(policy.clone()).unwrap());
    use palisade::seccomp::arch::Arch;
    let pal_x86_64 = palisade::seccomp::bpf::compile_for(&plan.filter, &[Arch::X86_64]).unwrap();
    let pal_x86_family = palisade::seccomp::bpf::compile_for(&plan.filter, &[Arch::X86_64, Arch::X86, Arch::X32]).unwrap();

    // libseccomp: Docker JSON → rules → exported BPF, as moby/runc/crun do at every start.
    let x86_family = libseccomp_oracle::OracleOptions::docker_defaults("x86_64");
    let (lib_linear_t, lib_linear) = measure(runs, || libseccomp_oracle::compile_docker_profile(DOCKER_JSON, &x86_family));
    let tree_opts = libseccomp_oracle::OracleOptions { binary_tree: true, ..x86_family.clone() };
    let (lib_tree_t, lib_tree) = measure(runs, || libseccomp_oracle::compile_docker_profile(DOCKER_JSON, &tree_opts));
    // The same profile for x86_64 alone (archMap replaced), as REFERENCES.md quotes libseccomp.
    let mut only: serde_json::Value = serde_json::from_str(DOCKER_JSON).unwrap();
    only.as_object_mut().unwrap().remove("archMap");
    only["architectures"] = serde_json::json!(["SCMP_ARCH_X86_64"]);
    let only = only.to_string();
    let lib_only_linear = libseccomp_oracle::compile_docker_profile(&only, &x86_family);
    let lib_only_tree = libseccomp_oracle::compile_docker_profile(&only, &tree_opts);

    println!("Seccomp compile of docker-default ({runs} runs, medians; x86_64 host, filter for x86_64+x86+x32 unless noted)\n");
    println!("| compiler | time | instructions | worst-case path |");
    println!("|---|---:|---:|---:|");
    println!("| palisade: TOML parse + compile | {} | {} | {} |", ms(pal_total), plan.program.len(), worst_case_path(&plan.program));
    println!("| palisade: compile only | {} | | |", ms(pal_compile));
    println!("| palisade: x86_64+x86+x32 program | | {} | {} |", pal_x86_family.len(), worst_case_path(&pal_x86_family));
    println!("| palisade: x86_64 only | | {} | {} |", pal_x86_64.len(), worst_case_path(&pal_x86_64));
    println!(
        "| libseccomp 2.5 linear (JSON rules + export) | {} | {} | {} |",
        ms(lib_linear_t),
        lib_linear.len(),
        worst_case_path(&lib_linear)
    );
    println!("| libseccomp 2.5 binary tree | {} | {} | {} |", ms(lib_tree_t), lib_tree.len(), worst_case_path(&lib_tree));
    println!("| libseccomp 2.5 linear, x86_64 only | | {} | {} |", lib_only_linear.len(), worst_case_path(&lib_only_linear));
    println!("| libseccomp 2.5 binary tree, x86_64 only | | {} | {} |", lib_only_tree.len(), worst_case_path(&lib_only_tree));
    println!("\nratio libseccomp-tree / palisade (time): {:.1}x", lib_tree_t.as_secs_f64() / pal_total.as_secs_f64());
    println!("note: palisade's docker-default also covers aarch64 in the same program ({} architectures).", plan.filter.arches.len());
}
