//! The policy examples in the documentation are valid policies: every ```toml block of
//! README.md and policies/README.md loads without a diagnostic.

fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```toml") => current = Some(String::new()),
            (Some(_), l) if l.starts_with("```") => blocks.push(current.take().unwrap()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_documented_policy_block_loads() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut count = 0;
    for doc in ["README.md", "policies/README.md"] {
        let text = std::fs::read_to_string(format!("{root}/{doc}")).unwrap();
        for (i, block) in toml_blocks(&text).iter().enumerate() {
            if let Err(d) = palisade::policy::load_str(&format!("{doc} block {}", i + 1), block) {
                panic!("{doc} block {}:\n{block}\n{d}", i + 1);
            }
            count += 1;
        }
    }
    assert!(count >= 5, "only {count} documented blocks");
}
