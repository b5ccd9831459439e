//! `--lang`: the report and the tables in Russian or English, by the option, `HOLDFAST_LANG` or
//! the locale; JSON and CSV the same in every language.

mod common;

use std::process::Command;

/// `holdfast ARGS` with only the given locale variables set (no `HOLDFAST_LANG`).
fn run_with_locale(vars: &[(&str, &str)], args: &[&str]) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_holdfast"));
    c.env_remove("HOLDFAST_LANG").env_remove("LC_ALL").env_remove("LC_MESSAGES").env_remove("LANG").env_remove("HOLDFAST_DB");
    for (k, v) in vars {
        c.env(k, v);
    }
    let o = c.arg("--quiet").args(args).output().expect("run holdfast");
    assert!(o.status.success(), "holdfast {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn tables_follow_the_language_and_json_does_not() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    let orders = dir.path().join("orders.csv");
    let orders = orders.to_str().unwrap();
    common::ok(&db, &["generate", "--customers", "300", "--seed", "4", "--out", orders]);

    let ru = common::ok(&db, &["--lang", "ru", "movement", "--orders", orders]);
    assert!(ru.starts_with("Движение клиентов по периодам: месяц"), "{ru}");
    assert!(ru.contains("удержание") && ru.contains("\u{a0}%"), "{ru}");
    let en = common::ok(&db, &["--lang", "en", "movement", "--orders", orders]);
    assert!(en.starts_with("Movement per month") && en.contains("retention"), "{en}");
    // Money: `1 234,56` in Russian, `1,234.56` in English (a month's revenue above a thousand).
    assert!(ru.lines().any(|l| l.contains(",") && l.contains('\u{a0}')), "{ru}");
    assert!(en.lines().any(|l| l.contains(".") && l.contains(',')), "{en}");

    // JSON and CSV are the same in both languages.
    for args in [&["movement", "--orders", orders, "--json"][..], &["segments", "--orders", orders, "--csv"], &["cohorts", "--orders", orders, "--json"]] {
        let mut ru_args = vec!["--lang", "ru"];
        ru_args.extend_from_slice(args);
        assert_eq!(common::ok(&db, &ru_args), common::ok(&db, args), "{args:?} depends on the language");
    }

    let seg = common::ok(&db, &["--lang", "ru", "segments", "--orders", orders]);
    assert!(seg.contains("Сегмент") && seg.contains("чемпионы") && seg.contains("Уровни ценности"), "{seg}");
    let coh = common::ok(&db, &["--lang", "ru", "cohorts", "--orders", orders]);
    assert!(coh.contains("когорта") && coh.contains("клиенты"), "{coh}");
    let pred = common::ok(&db, &["--lang", "ru", "predict", "--orders", orders, "--limit", "3"]);
    assert!(pred.contains("Клиент") && pred.contains("Ожидаемый чек") && pred.contains("… и ещё"), "{pred}");
    let analyze = common::ok(&db, &["--lang", "ru", "analyze", orders, "--sections", "retention,segments"]);
    assert!(analyze.starts_with("Отчёт об удержании") && analyze.contains("Что сделать:"), "{analyze}");

    // The report file: <html lang="ru">, Russian headings, dd.mm.yyyy dates.
    let html = dir.path().join("r.html");
    common::ok(&db, &["--lang", "ru", "analyze", orders, "--sections", "retention", "--out", html.to_str().unwrap()]);
    let page = std::fs::read_to_string(&html).expect("report");
    assert!(page.contains("<html lang=\"ru\">") && page.contains("<h2>Коротко</h2>") && page.contains("<h2>Удержание и отток</h2>"));

    // By default, the locale: ru/uk/be/bg → Russian; LC_ALL before LANG; anything else English.
    let movement = ["movement", "--orders", orders];
    assert!(run_with_locale(&[("LANG", "uk_UA.UTF-8")], &movement).starts_with("Движение"));
    assert!(run_with_locale(&[("LANG", "ru_RU.UTF-8"), ("LC_ALL", "en_US.UTF-8")], &movement).starts_with("Movement"));
    assert!(run_with_locale(&[("LANG", "C.UTF-8")], &movement).starts_with("Movement"));
    assert!(run_with_locale(&[], &movement).starts_with("Movement"));
    assert!(run_with_locale(&[("LANG", "ru_RU.UTF-8"), ("HOLDFAST_LANG", "en")], &movement).starts_with("Movement"));
    assert!(run_with_locale(&[("LANG", "en_US.UTF-8")], &["--lang", "ru", "movement", "--orders", orders]).starts_with("Движение"));
}

#[test]
fn an_unknown_language_is_refused() {
    let o = Command::new(env!("CARGO_BIN_EXE_holdfast")).args(["--lang", "de", "movement", "--orders", "x.csv"]).output().expect("run");
    assert_eq!(o.status.code(), Some(2), "clap's usage error");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"de\": expected en or ru"), "{err}");
}
