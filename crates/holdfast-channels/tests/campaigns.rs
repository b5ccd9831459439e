//! The campaign files Holdfast ships (`campaigns/*.toml`): each parses, has the shape, and
//! every step's subject and body render against `sample_context()` — and against a customer
//! about whom nothing is known, in both languages.

use holdfast_channels::{check, context, render, sample_context, TemplateCustomer};
use std::path::PathBuf;

fn campaigns() -> Vec<(String, toml::Table)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("campaigns");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, doc)
        })
        .collect()
}

#[test]
fn the_win_back_and_birthday_campaigns_ship_in_english_and_russian() {
    let names: Vec<String> = campaigns().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["birthday.en.toml", "birthday.ru.toml", "win-back.en.toml", "win-back.ru.toml"]);
    for (file, doc) in campaigns() {
        let trigger = doc["trigger"].as_table().unwrap();
        let steps = doc["steps"].as_array().unwrap();
        assert!(doc["name"].as_str().is_some_and(|n| file.starts_with(n.trim_end_matches("-en").trim_end_matches("-ru"))), "{file}");
        let holdout = doc["holdout"].as_float().unwrap();
        assert!((0.0..1.0).contains(&holdout), "{file}");
        assert!(doc["audience"].as_table().is_some(), "{file}");
        if file.starts_with("win-back") {
            assert_eq!(trigger["kind"].as_str(), Some("silence"), "{file}");
            let after: Vec<&str> = steps.iter().map(|s| s["after"].as_str().unwrap()).collect();
            assert_eq!(after, ["0d", "7d", "14d", "21d"], "{file}");
            let stop: Vec<&str> = doc["stop"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
            assert!(stop.contains(&"ordered"), "{file}: the sequence stops when the customer orders");
        } else {
            assert_eq!(trigger["kind"].as_str(), Some("date"), "{file}");
            assert_eq!(trigger["date"].as_str(), Some("birthday"), "{file}");
            assert_eq!(trigger["days_before"].as_integer(), Some(0), "{file}");
        }
        for s in steps {
            assert_eq!(s["channel"].as_str(), Some("email"), "{file}");
        }
    }
}

#[test]
fn every_shipped_template_renders_against_the_sample_context() {
    let unknown = TemplateCustomer { id: "C-9".into(), ..Default::default() };
    let contexts = [sample_context(), context(&unknown, "Shop", "https://h.example/u/t", "en"), context(&unknown, "Магазин", "https://h.example/u/t", "ru")];
    for (file, doc) in campaigns() {
        for (i, step) in doc["steps"].as_array().unwrap().iter().enumerate() {
            let (subject, body) = (step["subject"].as_str().unwrap(), step["body"].as_str().unwrap());
            for ctx in &contexts {
                check(subject, ctx).unwrap_or_else(|e| panic!("{file} step {}: subject: {e}", i + 1));
                check(body, ctx).unwrap_or_else(|e| panic!("{file} step {}: body: {e}", i + 1));
                let r = render(subject, body, ctx).unwrap_or_else(|e| panic!("{file} step {}: {e}", i + 1));
                assert!(!r.subject.is_empty() && !r.subject.contains("{{"), "{file} step {}: {:?}", i + 1, r.subject);
                assert!(!r.text.to_lowercase().contains("none") && !r.subject.contains(", !") && !r.text.contains(" ,"), "{file} step {}: {}", i + 1, r.text);
                assert!(r.text.contains("https://"), "{file} step {}: the text part carries the unsubscribe link", i + 1);
                assert!(r.html.contains("<a href=\"https://"), "{file} step {}: the HTML footer carries the unsubscribe link", i + 1);
            }
        }
    }
}
