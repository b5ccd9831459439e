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

/// `text` holds a date written the Russian way, `dd.mm.yyyy`.
fn has_ru_date(text: &str) -> bool {
    let b: Vec<char> = text.chars().collect();
    b.windows(10).any(|w| {
        let d = |i: usize| w[i].is_ascii_digit();
        d(0) && d(1) && w[2] == '.' && d(3) && d(4) && w[5] == '.' && d(6) && d(7) && d(8) && d(9)
    })
}

/// `text` holds a date written `yyyy-mm-dd`.
fn has_iso_date(text: &str) -> bool {
    let b: Vec<char> = text.chars().collect();
    b.windows(10).any(|w| w.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == '-' } else { c.is_ascii_digit() }))
}

/// `text` holds an amount written the Russian way: digits grouped by a no-break space, a decimal
/// comma (`1 234,56`).
fn has_ru_amount(text: &str) -> bool {
    let b: Vec<char> = text.chars().collect();
    b.windows(8).any(|w| {
        let d = |i: usize| w[i].is_ascii_digit();
        d(0) && w[1] == '\u{a0}' && d(2) && d(3) && d(4) && w[5] == ',' && d(6) && d(7)
    })
}

/// `text` holds an amount written the English way (`1,234.56`).
fn has_en_amount(text: &str) -> bool {
    let b: Vec<char> = text.chars().collect();
    b.windows(8).any(|w| {
        let d = |i: usize| w[i].is_ascii_digit();
        d(0) && w[1] == ',' && d(2) && d(3) && d(4) && w[5] == '.' && d(6) && d(7)
    })
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.to_str().expect("utf-8 path").to_owned()
}

/// A store with orders in roubles (products included), subscriptions, a note and a date for one
/// customer, tasks opened by `at-risk`; returns the store's URL and the at-risk customer with the
/// largest stake.
fn shop(dir: &std::path::Path) -> (String, String) {
    let db = format!("sqlite://{}", dir.join("h.db").display());
    let orders = dir.join("orders.csv");
    common::ok(&db, &["generate", "--customers", "400", "--seed", "4", "--out", orders.to_str().unwrap()]);
    common::ok(&db, &["import", "orders", orders.to_str().unwrap(), "--currency", "RUB"]);
    let subs = write(
        dir,
        "subs.csv",
        "subscription_id,customer_id,plan,mrr,currency,started_at,ended_at,cancel_reason\n\
         a1,A,basic,1100.00,RUB,2023-06-01,2024-02-10,\na2,A,pro,1500.00,RUB,2024-02-10,,\n\
         b1,B,pro,2000.00,RUB,2023-01-01,2024-02-15,too expensive\n",
    );
    common::ok(&db, &["import", "subscriptions", &subs]);
    let q = common::json(&db, &["at-risk", "--json"]);
    let first = q["tasks"][0]["customer_id"].as_str().expect("a customer at risk").to_owned();
    common::ok(&db, &["customer", &first, "note", "prefers short letters", "--channel", "telegram", "--at", "2024-11-02"]);
    common::ok(&db, &["customer", &first, "date", "birthday", "1985-04-12"]);
    (db, first)
}

#[test]
fn the_store_commands_follow_the_language() {
    let dir = tempfile::tempdir().expect("dir");
    let (db, first) = shop(dir.path());

    // at-risk: Russian headers, plan and step words, roubles as 1 234,56, dates dd.mm.yyyy.
    let ru = common::ok(&db, &["--lang", "ru", "at-risk", "--limit", "5"]);
    assert!(ru.starts_with("Клиенты под угрозой на ") && ru.contains("На кону, ₽") && ru.contains("P(ухода)") && ru.contains("личный звонок"), "{ru}");
    assert!(ru.contains("на этой неделе") && ru.contains("Чего стоит каждый флаг") && ru.contains("молчит дольше своего ритма"), "{ru}");
    assert!(has_ru_amount(&ru) && has_ru_date(&ru) && ru.contains("\u{a0}%"), "{ru}");
    let en = common::ok(&db, &["--lang", "en", "at-risk", "--limit", "5"]);
    assert!(
        en.starts_with("Customers at risk as of ") && en.contains("Stake, RUB") && en.contains("this week") && has_en_amount(&en) && has_iso_date(&en),
        "{en}"
    );
    assert!(!has_ru_date(&en) && !en.contains("\u{a0}%"), "{en}");

    // score.
    let ru = common::ok(&db, &["--lang", "ru", "score"]);
    assert!(ru.starts_with("Оценено клиентов: ") && has_ru_date(&ru) && ru.contains("снимок сохранён"), "{ru}");
    assert!(common::ok(&db, &["score"]).starts_with("Scored "));

    // task list / done / dismiss.
    let ru = common::ok(&db, &["--lang", "ru", "task", "list", "--limit", "3"]);
    assert!(ru.starts_with("Открытые задачи: ") && ru.contains("На кону (") && ru.contains("Состояние") && ru.contains("открыта"), "{ru}");
    assert!(has_ru_amount(&ru) && has_ru_date(&ru) && ru.contains("… и ещё"), "{ru}");
    let en = common::ok(&db, &["task", "list", "--limit", "3"]);
    assert!(en.contains(" open tasks\n") && en.contains("Stake (") && has_en_amount(&en) && en.contains("… and "), "{en}");
    let tasks = common::json(&db, &["task", "list", "--json"]);
    let id = |i: usize| tasks["tasks"][i]["id"].as_i64().expect("task id").to_string();
    assert_eq!(common::ok(&db, &["--lang", "ru", "task", "done", &id(0)]), format!("задача {} выполнена\n", id(0)));
    assert_eq!(common::ok(&db, &["--lang", "ru", "task", "dismiss", &id(1), "--reason", "в отпуске"]), format!("задача {} отклонена\n", id(1)));
    assert_eq!(common::ok(&db, &["task", "reopen", &id(1)]), format!("task {} is open\n", id(1)));
    let theirs = common::ok(&db, &["--lang", "ru", "task", "list", "--customer", &first]);
    assert!(theirs.starts_with("Задачи клиента: ") && theirs.contains("выполнена"), "{theirs}");

    // customer: every section's title and labels.
    let ru = common::ok(&db, &["--lang", "ru", "customer", &first]);
    for s in [
        "Оценка (на ",
        "сегмент ",
        "Заказы: учтённых ",
        "на сумму ",
        "Заметки:",
        "канал: telegram",
        "Важные даты:",
        "12.04.1985 день рождения (ежегодно)",
        "Задачи:",
    ] {
        assert!(ru.contains(s), "{s:?} missing in {ru}");
    }
    assert!(has_ru_amount(&ru) && ru.contains("\u{a0}₽") && has_ru_date(&ru), "{ru}");
    let en = common::ok(&db, &["--lang", "en", "customer", &first]);
    assert!(en.contains("\nOrders: ") && en.contains(" RUB in total") && en.contains("1985-04-12 birthday (yearly)") && en.contains("Notes:"), "{en}");
    let sub = common::ok(&db, &["--lang", "ru", "customer", "B"]);
    assert!(sub.contains("Подписки:\n  pro 2\u{a0}000,00\u{a0}₽ в месяц с 01.01.2023 по 15.02.2024 (too expensive)"), "{sub}");

    // mrr.
    let ru = common::ok(&db, &["--lang", "ru", "mrr", "--from", "2024-01", "--as-of", "2024-04-01"]);
    assert!(ru.starts_with("MRR по периодам: месяц (₽)\n") && ru.contains("MRR на начало") && ru.contains("отток выручки"), "{ru}");
    assert!(ru.contains("3\u{a0}100,00") && ru.contains("\u{a0}%"), "{ru}");
    let en = common::ok(&db, &["mrr", "--from", "2024-01", "--as-of", "2024-04-01"]);
    assert!(en.starts_with("MRR per month (RUB)\n") && en.contains("3,100.00") && en.contains("revenue churn"), "{en}");

    // next-offers.
    let ru = common::ok(&db, &["--lang", "ru", "next-offers", "--limit", "5"]);
    assert!(ru.starts_with("Цепочки покупок на ") && ru.contains("Доля купивших") && ru.contains("Следующие лучшие предложения: "), "{ru}");
    assert!(ru.contains(" клиентов, купивших ") || ru.contains("покупает "), "{ru}");
    assert!(has_ru_date(&ru) && ru.contains(" из ") && ru.contains("\u{a0}%"), "{ru}");
    let en = common::ok(&db, &["next-offers", "--limit", "5"]);
    assert!(en.starts_with("Service chains as of ") && en.contains("Share who follow") && has_iso_date(&en), "{en}");

    // campaign, budget, run.
    let campaign = write(
        dir.path(),
        "spring.toml",
        "name = \"spring-note\"\ntrigger = { kind = \"once\", at = \"2025-01-01T10:00:00Z\" }\naudience = { all = true }\nholdout = 0.10\n\
         [[steps]]\nafter = \"0d\"\nchannel = \"email\"\nsubject = \"Hello\"\nbody = \"Spring is here.\"\n",
    );
    let ru = common::ok(&db, &["--lang", "ru", "campaign", "add", &campaign]);
    assert_eq!(ru, "кампания spring-note сохранена: триггер once, шагов: 1, контрольная группа 10,0\u{a0}%\n");
    let ru = common::ok(&db, &["--lang", "ru", "run", "--now", "2025-01-01T12:00:00Z", "--no-send"]);
    assert!(ru.starts_with("триггеры на 01.01.2025 12:00 UTC: кампаний 1, сработало ") && ru.contains("\nисходящие: контрольная группа "), "{ru}");
    let en = common::ok(&db, &["run", "--now", "2025-01-01T12:00:00Z", "--no-send"]);
    assert!(en.starts_with("triggers at 2025-01-01T12:00:00+00:00: ") && en.contains("\noutbox: held_out "), "{en}");
    let ru = common::ok(&db, &["--lang", "ru", "campaign", "list"]);
    assert!(ru.starts_with("Кампаний: 1\n") && ru.contains("Исходящие") && ru.contains("активна") && ru.contains("ждут отправки"), "{ru}");
    assert!(common::ok(&db, &["campaign", "list"]).starts_with("1 campaigns\nCampaign"));
    let ru = common::ok(&db, &["--lang", "ru", "campaign", "show", "spring-note"]);
    assert!(ru.starts_with("кампания spring-note (активна)\nисходящие: "), "{ru}");
    assert_eq!(common::ok(&db, &["--lang", "ru", "campaign", "pause", "spring-note"]), "кампания spring-note приостановлена\n");
    assert_eq!(
        common::ok(&db, &["--lang", "ru", "budget", "set", "--per-day", "1", "--per-week", "3"]),
        "бюджет контактов всего рабочего пространства: 1 в день, 3 в неделю\n"
    );
    common::ok(&db, &["budget", "set", "--segment", "at_risk", "--per-month", "2"]);
    let ru = common::ok(&db, &["--lang", "ru", "budget", "show"]);
    assert_eq!(ru, "всё рабочее пространство: 1 в день, 3 в неделю\nсегмент «под угрозой»: 2 в месяц\n");
    assert_eq!(common::ok(&db, &["budget", "show"]), "workspace: 1 per day, 3 per week\nsegment at_risk: 2 per month\n");

    // JSON stays the same in both languages.
    // (at-risk on a store rolls its tasks over, so its JSON differs run to run: the file's instead.)
    let orders = dir.path().join("orders.csv");
    let orders = orders.to_str().unwrap();
    for args in [
        &["at-risk", "--orders", orders, "--json"][..],
        &["task", "list", "--json"],
        &["customer", &first, "--json"],
        &["mrr", "--json"],
        &["budget", "show", "--json"],
    ] {
        let mut ru_args = vec!["--lang", "ru"];
        ru_args.extend_from_slice(args);
        assert!(common::ok(&db, &ru_args) == common::ok(&db, args), "{args:?} depends on the language");
    }
    assert_eq!(common::ok(&db, &["--lang", "ru", "next-offers", "--csv"]), common::ok(&db, &["next-offers", "--csv"]));
}

#[test]
fn no_english_header_word_in_russian_at_risk_and_customer() {
    let dir = tempfile::tempdir().expect("dir");
    let (db, first) = shop(dir.path());
    let at_risk = common::ok(&db, &["--lang", "ru", "at-risk", "--limit", "10"]);
    let english = [
        "Customer",
        "Owner",
        "Stake",
        "Tier",
        "P(churn)",
        "Value",
        "Plan",
        "Step",
        "Due",
        "Why",
        "Flag",
        "Flagged",
        "Bought again",
        "Lift",
        "Opens tasks",
        "tasks",
        "personal",
        "this week",
        "waiting",
        "snoozed",
        "automation",
        "lift",
        "silence_beyond_rhythm",
        "frequency_drop",
        "personal call",
        "days",
    ];
    for w in english {
        assert!(!at_risk.contains(w), "{w:?} in the Russian at-risk:\n{at_risk}");
    }
    let customer = common::ok(&db, &["--lang", "ru", "customer", &first]);
    let english = [
        "Score",
        "segment",
        "P(alive) 0.",
        "CLV ",
        " RUB",
        "Orders",
        "counted",
        "in total",
        "Contacts",
        "Notes",
        "Important dates",
        "Subscriptions",
        "Events",
        "Feedback",
        "Interactions",
        "Tasks",
        "Contact ledger",
        "owner",
        "phone",
        "may contact",
        "consent",
        "(yearly)",
        "completed",
        "person",
        "[open]",
    ];
    for w in english {
        // "CLV " is a name, the same in Russian: only its English amount would be wrong.
        if w == "CLV " {
            assert!(!customer.contains("CLV 0.") && !customer.contains(" RUB,"), "{customer}");
            continue;
        }
        assert!(!customer.contains(w), "{w:?} in the Russian customer view:\n{customer}");
    }
}

#[test]
fn the_experiment_report_and_list_follow_the_language() {
    use std::fmt::Write;
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    // 300 customers with an order in 2023; "win-back" on 2024-03-01 holds out every fifth; in the
    // 30 days after, every third treated customer orders and every tenth control one.
    let (mut orders, mut assignments) =
        (String::from("order_id,customer_id,ordered_at,amount\n"), String::from("customer_id,campaign,group,assigned_at,cost\n"));
    for i in 0..300 {
        let c = format!("K{i:04}");
        let _ = writeln!(orders, "{c}-0,{c},2023-{:02}-{:02},{}.00", 1 + i % 12, 1 + i % 28, 950 + i % 400);
        let control = i % 5 == 0;
        if (control && i % 10 == 0) || (!control && i % 3 == 0) {
            let _ = writeln!(orders, "{c}-1,{c},2024-03-{:02},{}.00", 2 + i % 27, 1000 + i % 300);
        }
        let _ = writeln!(assignments, "{c},win-back,{},2024-03-01,{}", if control { "control" } else { "treatment" }, if control { "" } else { "25.00" });
    }
    orders.push_str("late,K0001,2024-06-01,1.00\n");
    let (o, a) = (write(dir.path(), "orders.csv", &orders), write(dir.path(), "a.csv", &assignments));
    common::ok(&db, &["import", "orders", &o, "--currency", "RUB"]);
    common::ok(&db, &["import", "assignments", &a, "--window", "30", "--split", "control=0.2,treatment=0.8", "--margin", "40%"]);

    let ru = common::ok(&db, &["--lang", "ru", "experiment", "report", "win-back", "--replicates", "200"]);
    assert!(ru.starts_with("Кампания «win-back»: окно атрибуции 30 дн., на 02.06.2024 (итог)\n"), "{ru}");
    for s in [
        "Группы (как назначены",
        "Выручка на клиента",
        "Эффекты с 95-% доверительными интервалами",
        "конверсия",
        "бутстрэп *",
        "Затраты: ",
        "ROI = ",
        "Соотношение групп: ",
    ] {
        assert!(ru.contains(s), "{s:?} missing in {ru}");
    }
    assert!(has_ru_amount(&ru) && ru.contains("\u{a0}₽") && ru.contains("\u{a0}п.п.") && !ru.contains(&"Campaign \"win-back\" brought"), "{ru}");
    let en = common::ok(&db, &["--lang", "en", "experiment", "report", "win-back", "--replicates", "200"]);
    assert!(
        en.starts_with("Campaign \"win-back\": 30-day attribution window, as of 2024-06-02 (final)") && en.contains("Effects with 95% confidence intervals"),
        "{en}"
    );
    let early = common::ok(&db, &["--lang", "ru", "experiment", "report", "win-back", "--as-of", "2024-03-15", "--replicates", "200"]);
    assert!(early.starts_with("Кампания «win-back»: окно атрибуции 30 дн., на 15.03.2024 (НЕ ОКОНЧАТЕЛЬНО)"), "{early}");

    let ru = common::ok(&db, &["--lang", "ru", "experiment", "list"]);
    assert!(ru.starts_with("Кампаний: 1\n") && ru.contains("Назначено") && ru.contains("01.03.2024") && ru.contains("30 дн.") && ru.contains("итог"), "{ru}");
    assert!(ru.contains("6\u{a0}000,00\u{a0}₽"), "{ru}");
    let en = common::ok(&db, &["experiment", "list"]);
    assert!(en.starts_with("1 campaigns\n") && en.contains("2024-03-01") && en.contains("6,000.00 RUB") && en.contains("final"), "{en}");
    let ru = common::ok(&db, &["--lang", "ru", "experiment", "plan", "--audience", "5000", "--holdout", "0.2", "--metric", "revenue", "--as-of", "2024-04-01"]);
    assert!(
        ru.starts_with("Аудитория 5\u{a0}000: получат кампанию 4\u{a0}000, в контрольной группе 1\u{a0}000 (20,0\u{a0}% не получают).")
            && ru.contains("\u{a0}₽"),
        "{ru}"
    );
    assert!(common::ok(&db, &["--lang", "ru", "experiment", "holdout"]).starts_with("Глобальной контрольной группы нет"));
    common::ok(&db, &["experiment", "holdout", "--set", "0.05"]);
    let ru = common::ok(&db, &["--lang", "ru", "experiment", "holdout"]);
    assert!(ru.starts_with("Глобальная контрольная группа: 5,0\u{a0}% клиентов (500 из 10\u{a0}000 корзин)"), "{ru}");
    assert_eq!(
        common::ok(&db, &["--lang", "ru", "experiment", "report", "win-back", "--replicates", "200", "--json"]),
        common::ok(&db, &["experiment", "report", "win-back", "--replicates", "200", "--json"])
    );
}
