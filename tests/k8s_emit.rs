//! `--emit k8s` read back by a real YAML parser: PyYAML loads pod.yaml and seccompprofile.yaml
//! (and the JSON profile) for every built-in profile and for a policy full of awkward strings,
//! and the fields Kubernetes acts on must say what the policy says.
//!
//! Needs python3 with PyYAML (Debian: apt-get install python3-yaml); a missing one fails the
//! test with that instruction.

use palisade::compile::{apparmor, k8s, Plan};
use palisade::policy::load::BUILTIN_PROFILES;
use palisade::policy::model::{AppArmorProfile, NetworkMode, User};
use palisade::policy::{load, load_str, Policy, PolicySource};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Loads every file PyYAML (or json) can read and prints them as one JSON object keyed by path.
const LOADER: &str = r#"
import json, sys, yaml
out = {}
for path in sys.argv[2:]:
    with open(path) as f:
        out[path] = json.load(f) if path.endswith(".json") else yaml.safe_load(f)
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
"#;

/// The emitted files, written under `dir` and parsed by PyYAML, keyed by relative path.
fn parse_with_pyyaml(dir: &Path, files: &[(String, String)]) -> serde_json::Map<String, Value> {
    let mut paths = Vec::new();
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dirs");
        std::fs::write(&path, text).expect("write emitted file");
        paths.push(path);
    }
    let result = dir.join("parsed.json");
    let output = Command::new("python3")
        .arg("-c")
        .arg(LOADER)
        .arg(&result)
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install it (apt-get install python3 python3-yaml)"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("No module named 'yaml'"), "PyYAML is missing: apt-get install python3-yaml");
    assert!(output.status.success(), "PyYAML rejected the output:\n{stderr}");
    let parsed: Value = serde_json::from_str(&std::fs::read_to_string(result).expect("parsed output")).expect("JSON from python");
    let Value::Object(by_path) = parsed else { panic!("not an object") };
    by_path.into_iter().map(|(k, v)| (Path::new(&k).strip_prefix(dir).expect("under dir").display().to_string(), v)).collect()
}

fn emit_and_parse(policy: Policy) -> (Plan, serde_json::Map<String, Value>, Vec<(String, String)>) {
    let plan = Plan::new(policy).expect("policy compiles");
    let mut notes = Vec::new();
    let files = k8s::emit(&plan, &mut notes).expect("k8s output");
    let dir = tempfile::tempdir().expect("tempdir");
    let parsed = parse_with_pyyaml(dir.path(), &files);
    (plan, parsed, files)
}

/// The fields of pod.yaml and seccompprofile.yaml that carry the policy.
fn check(plan: &Plan, parsed: &serde_json::Map<String, Value>) {
    let policy = &plan.policy;
    let name = k8s::k8s_name(&policy.name);
    let pod = &parsed["pod.yaml"];
    assert_eq!(pod["apiVersion"], "v1");
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["name"], format!("palisade-{name}"));
    assert_eq!(pod["metadata"]["annotations"]["palisade.dev/policy"], policy.name.as_str());
    let spec = &pod["spec"];
    assert_eq!(spec["hostNetwork"], policy.network.mode.value == NetworkMode::Host);
    assert_eq!(spec["hostPID"], false);
    assert_eq!(spec["hostIPC"], false);

    let sc = &spec["securityContext"];
    assert_eq!(sc["runAsNonRoot"], policy.process.run_as_non_root.value);
    match policy.process.user.as_ref().map(|u| &u.value) {
        Some(User::Id { uid, gid }) => {
            assert_eq!(sc["runAsUser"], *uid);
            assert_eq!(sc["runAsGroup"], gid.map_or(Value::Null, Value::from));
        }
        _ => assert!(sc.get("runAsUser").is_none()),
    }
    let profile_path = format!("seccomp/palisade/{name}.json");
    assert_eq!(sc["seccompProfile"]["type"], "Localhost");
    assert_eq!(
        format!("seccomp/{}", sc["seccompProfile"]["localhostProfile"].as_str().unwrap()),
        profile_path,
        "the Pod points at the emitted file"
    );
    match &policy.apparmor.profile.value {
        AppArmorProfile::Unconfined => assert_eq!(sc["appArmorProfile"]["type"], "Unconfined"),
        AppArmorProfile::Named(n) => assert_eq!(sc["appArmorProfile"]["localhostProfile"], n.as_str()),
        AppArmorProfile::Generate => assert_eq!(sc["appArmorProfile"]["localhostProfile"], apparmor::profile_name(policy)),
    }
    assert_eq!(sc["seLinuxOptions"]["type"], policy.selinux.process_type.value.as_str());
    assert_eq!(sc["seLinuxOptions"]["user"], policy.selinux.user.value.as_str());
    assert_eq!(sc["seLinuxOptions"].get("level").and_then(Value::as_str), policy.selinux.level.value.as_deref());

    let containers = spec["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["name"], "workload");
    assert_eq!(c["image"], "IMAGE");
    let csc = &c["securityContext"];
    assert_eq!(csc["allowPrivilegeEscalation"], !policy.process.no_new_privileges.value);
    assert_eq!(csc["privileged"], false);
    assert_eq!(csc["readOnlyRootFilesystem"], policy.filesystem.read_only_root.value);
    assert_eq!(csc["procMount"], "Default");
    assert_eq!(csc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let kept: Vec<String> = policy.capabilities.kept.keys().map(|c| c.name()).collect();
    assert_eq!(csc["capabilities"]["add"], serde_json::json!(kept));
    assert_eq!(c["resources"]["limits"].get("memory").is_some(), policy.resources.memory_bytes.is_some());
    assert_eq!(c["resources"]["limits"].get("cpu").is_some(), policy.resources.cpu.is_some());
    for (key, value) in &policy.process.env {
        let env = c["env"].as_array().expect("env");
        assert!(env.iter().any(|e| e["name"] == key.as_str() && e["value"] == value.value.as_str()), "env {key} round-trips");
    }

    let kubelet_profile = &parsed[&profile_path];
    assert!(kubelet_profile["defaultAction"].as_str().is_some_and(|a| a.starts_with("SCMP_ACT_")));
    assert!(!kubelet_profile["syscalls"].as_array().expect("syscalls").is_empty());

    let cr = &parsed["seccompprofile.yaml"];
    assert_eq!(cr["apiVersion"], "security-profiles-operator.x-k8s.io/v1beta1");
    assert_eq!(cr["kind"], "SeccompProfile");
    assert_eq!(cr["metadata"]["name"], format!("palisade-{name}"));
    assert_eq!(cr["spec"]["defaultAction"], kubelet_profile["defaultAction"]);
    assert!(cr["spec"]["architectures"]
        .as_array()
        .is_some_and(|a| a.iter().all(|x| x.as_str().is_some_and(|s| s.starts_with("SCMP_ARCH_")))));
    for entry in cr["spec"]["syscalls"].as_array().expect("syscalls") {
        assert!(entry["names"].as_array().is_some_and(|n| !n.is_empty() && n.iter().all(Value::is_string)), "{entry}");
        assert!(entry["action"].as_str().is_some_and(|a| a.starts_with("SCMP_ACT_")), "{entry}");
        for arg in entry.get("args").and_then(Value::as_array).into_iter().flatten() {
            assert!(arg["index"].is_u64() && arg["value"].is_u64() && arg["op"].is_string(), "{arg}");
        }
    }
}

#[test]
fn every_builtin_profile_parses_as_yaml_with_the_policy_fields() {
    for (name, _) in BUILTIN_PROFILES {
        let (plan, parsed, files) = emit_and_parse(load(&PolicySource::Builtin(name)).expect("built-in loads"));
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["pod.yaml", &format!("seccomp/palisade/{name}.json"), "seccompprofile.yaml"], "{name}: file layout");
        check(&plan, &parsed);
    }
}

#[test]
fn awkward_strings_survive_the_round_trip() {
    let text = r#"
[policy]
name = "Odd_Name"
extends = "untrusted"
[process]
user = "1000:1000"
env = { GREETING = "yes: \"no\" # not a comment", MULTI = "a\nb\tc", EMPTY = "", NUM = "0755", BOOL = "on", UNI = "héllo ✓", DASH = "- item" }
[selinux]
level = "s0:c1,c2"
"#;
    let (plan, parsed, _) = emit_and_parse(load_str("odd.toml", text).expect("policy loads"));
    check(&plan, &parsed);
    let env = parsed["pod.yaml"]["spec"]["containers"][0]["env"].as_array().unwrap().clone();
    let value = |k: &str| env.iter().find(|e| e["name"] == k).map(|e| e["value"].clone()).unwrap();
    assert_eq!(value("NUM"), "0755", "a quoted number stays a string");
    assert_eq!(value("BOOL"), "on", "a quoted YAML 1.1 bool stays a string");
    assert_eq!(value("MULTI"), "a\nb\tc");
    assert_eq!(parsed["pod.yaml"]["metadata"]["name"], "palisade-odd-name");
}
