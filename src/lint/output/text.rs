//! Human output: each finding rendered like a compiler diagnostic, then one exposure line per
//! subject (with `breakdown`, the table `systemd-analyze security` prints).

use crate::lint::{FileReport, Level};

pub fn render(reports: &[FileReport], breakdown: bool) -> String {
    let mut out = String::new();
    for r in reports {
        for e in &r.errors {
            out += &e.render();
            out += "\n";
        }
        for f in &r.findings {
            out += &f.to_diagnostic().render();
            out += "\n";
        }
    }
    for r in reports {
        for s in &r.subjects {
            out += &format!("{}: {}: exposure {:.1} {}\n", r.path, s.name, s.score.value, s.score.rating);
            if breakdown {
                for item in &s.score.breakdown {
                    let mark = if item.exposed { "✗" } else { "✓" };
                    out += &format!("  {mark} {:<30} {:<62} {:>2}\n", item.code, item.summary, item.weight);
                }
            }
        }
    }
    let deny = reports.iter().flat_map(|r| &r.findings).filter(|f| f.level == Level::Deny).count();
    let warn = reports.iter().flat_map(|r| &r.findings).filter(|f| f.level == Level::Warn).count();
    let errors: usize = reports.iter().map(|r| r.errors.len()).sum();
    out += &format!("{deny} denied, {warn} warnings, {errors} errors in {} files\n", reports.len());
    out
}
