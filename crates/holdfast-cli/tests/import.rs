//! Reading orders files through the importer options of `analyze`, `movement` and `cohorts`,
//! with the real binary.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn holdfast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_holdfast")).args(args).output().expect("run holdfast")
}

fn write_1251(dir: &Path, text: &str) -> String {
    let (bytes, _, bad) = to_windows_1251(text);
    assert!(!bad);
    let p = dir.join("заказы.csv");
    std::fs::write(&p, bytes).expect("write");
    p.display().to_string()
}

/// Windows-1251 bytes of Russian text (А..я, Ё, ё map by a fixed offset; enough for these files).
fn to_windows_1251(text: &str) -> (Vec<u8>, (), bool) {
    let mut out = Vec::new();
    let mut bad = false;
    for c in text.chars() {
        let u = c as u32;
        match u {
            0..=0x7f => out.push(u as u8),
            0x410..=0x44f => out.push((u - 0x410 + 0xc0) as u8),
            0x401 => out.push(0xa8),
            0x451 => out.push(0xb8),
            0xa0 => out.push(0xa0),
            _ => bad = true,
        }
    }
    (out, (), bad)
}

const ORDERS: &str = "Покупатель;Дата заказа;Сумма;Итого;Статус\n\
    Иванов;05.03.2024;1 000,50;1 100,00;выполнен\n\
    Иванов;05.04.2024;500,00;550,00;выполнен\n\
    Петрова;06.03.2024;250,00;275,00;отменён\n\
    Петрова;07.03.2024;99,90;109,90;выполнен\n";

#[test]
fn windows_1251_file_with_russian_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_1251(dir.path(), ORDERS);
    let out = holdfast(&["analyze", &f, "--json", "--quiet", "--currency", "RUB", "--tz", "Europe/Moscow"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["source"]["currency"], "RUB");
    assert_eq!(v["source"]["orders"], 3);
    assert_eq!(v["source"]["customers"], 2);
    assert_eq!(v["source"]["first_order"], "2024-03-05");

    // --map picks the other amount column: March 1100 + 109.90 (the cancelled 275 left out), April 550.
    let out = holdfast(&["movement", "--orders", &f, "--map", "amount=Итого", "--currency", "RUB", "--json", "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let revenue: Vec<f64> = v["periods"].as_array().expect("periods").iter().map(|p| p["revenue"].as_f64().unwrap_or(f64::NAN)).collect();
    assert_eq!(revenue, [1209.9, 550.0], "{v}");
}

#[test]
fn bad_rows_fail_with_the_line_or_are_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_1251(dir.path(), &format!("{ORDERS}Сидоров;31.02.2024;10,00;11,00;выполнен\n"));
    let out = holdfast(&["cohorts", "--orders", &f, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{f}:6: column \"Дата заказа\": \"31.02.2024\" is not a date (expected DD.MM.YYYY)")), "{err}");

    let out = holdfast(&["cohorts", "--orders", &f, "--json", "--skip-bad-rows"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped 1 bad rows of 5"), "{err}");
    assert!(err.contains("names no currency; amounts are taken as USD"), "{err}");
}

#[test]
fn ambiguous_dates_need_a_date_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("o.csv");
    std::fs::write(&f, "client|date|total\na|03/04/2024|10\nb|05/04/2024|10\n").expect("write");
    let f = f.display().to_string();
    let out = holdfast(&["analyze", &f, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint: --date-format DD/MM/YYYY or --date-format MM/DD/YYYY"));
    let out = holdfast(&["analyze", &f, "--json", "--quiet", "--date-format", "MM/DD/YYYY"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["source"]["first_order"], "2024-03-04");
    let out = holdfast(&["analyze", &f, "--json", "--quiet", "--date-format", "DD/MM/YYYY", "--delimiter", "|"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["source"]["first_order"], "2024-04-03");
}
