//! `palisade inspect IMAGE...`: JSON, or one field with `--format '{{.Config.Cmd}}'`.

use crate::cli::image::InspectArgs;
use crate::image::{inspect, Store};

pub fn run(args: InspectArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let mut all = Vec::new();
    for name in &args.images {
        all.push(inspect::inspect(&store, name)?);
    }
    match args.format.as_deref() {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&all)?),
        Some(template) => {
            for v in &all {
                println!("{}", render(template, v)?);
            }
        }
    }
    Ok(0)
}

/// A minimal `{{.A.B}}` template: each `{{.PATH}}` is replaced by the value at PATH (strings
/// bare, anything else as JSON).
fn render(template: &str, value: &serde_json::Value) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").ok_or_else(|| anyhow::anyhow!("--format: unclosed `{{{{`"))? + start;
        let path = rest[start + 2..end].trim();
        let path = path
            .strip_prefix('.')
            .ok_or_else(|| anyhow::anyhow!("--format: `{path}`: only field paths like {{{{.Config.Cmd}}}} are supported"))?;
        let mut v = value;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            v = v.get(part).unwrap_or(&serde_json::Value::Null);
        }
        match v {
            serde_json::Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_field_paths() {
        let v = serde_json::json!({"Id": "sha256:x", "Config": {"Cmd": ["sh"]}});
        assert_eq!(super::render("{{.Id}} {{ .Config.Cmd }}", &v).unwrap(), r#"sha256:x ["sh"]"#);
        assert!(super::render("{{Id}}", &v).is_err());
    }
}
