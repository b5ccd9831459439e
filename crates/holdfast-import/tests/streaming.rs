//! The streaming readers: block boundaries, the parallel path against the whole-file reference,
//! row batches, typed tables.

use holdfast_core::{Calendar, Currency, OrderLog};
use holdfast_import::{
    read_order_records_bytes, read_orders_bytes, read_orders_bytes_in_blocks, read_table_bytes, AssembledOrders, DateFormat, FieldKind, FieldSpec,
    ImportOptions, OrderRows, OrderStatus, TableSpec, Value,
};
use std::collections::BTreeMap;

fn opts() -> ImportOptions {
    ImportOptions { calendar: Calendar::from_name("Europe/Moscow").expect("zone"), ..Default::default() }
}

/// A deterministic messy orders file: quotes with delimiters, doubled quotes and newlines, CRLF,
/// refunds and cancellations in three languages, order ids repeated for the same customer and day
/// (adjacent and not, sometimes with another status), partial refunds of earlier orders (some
/// refunding them in full), several products per order.
fn messy(rows: usize) -> String {
    let mut s = String::from("Номер заказа;Клиент;Дата;Сумма;Статус;Товар;Категория;Кол-во\r\n");
    let mut x: u64 = 7;
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        x >> 33
    };
    let statuses = ["выполнен", "возврат", "paid", "Refunded", "скасовано", "", "pending"];
    let mut written: Vec<(String, String)> = Vec::new();
    let mut is_order: Vec<bool> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for i in 0..rows {
        let r = next();
        let mut cust = match r % 5 {
            0 => format!("\"Иванов; \"\"ИП\"\" {}\"", r % 37),
            1 => format!("\"multi\nline {}\"", r % 11),
            _ => format!("c{}", r % 97),
        };
        let mut date = format!("{:02}.{:02}.20{:02}", r % 28 + 1, r / 28 % 12 + 1, 20 + r % 5);
        let mut id = format!("{i}");
        if r % 7 == 0 && i >= 3 && is_order[i - 3] {
            // A further line of order i - 3 (same customer, same day).
            id = ids[i - 3].clone();
            (cust, date) = written[i - 3].clone();
        }
        written.push((cust.clone(), date.clone()));
        ids.push(id.clone());
        let amount = format!("{} {:02}", (r / 30) % 5000, r % 100).replace(' ', if r % 2 == 0 { "," } else { "." });
        if r % 11 == 0 && i >= 5 && is_order[i - 5] {
            // A partial refund of order i - 5, a year later.
            let (c, d) = written[i - 5].clone();
            let later = format!("{}{}", &d[..8], d[8..].parse::<u32>().unwrap_or(20) + 1);
            s.push_str(&format!("{};{c};{later};-{amount};возврат;;;1\r\n", ids[i - 5]));
            is_order.push(false);
            continue;
        }
        is_order.push(true);
        let status = statuses[(r / 5 % 7) as usize];
        s.push_str(&format!("{id};{cust};{date};{amount};{status};p{};\"cat;{}\";{}\r\n", r % 13, r % 13 % 4, r % 3 + 1));
    }
    s
}

type Flat = BTreeMap<String, Vec<(i64, i64, Vec<String>)>>;

/// Counted orders per customer, each customer's in log order: (instant, amount, products).
fn flatten(log: &OrderLog) -> Flat {
    let mut v = Flat::new();
    for c in 0..log.n_customers() as u32 {
        for o in log.orders_of(c) {
            let products = log.products_of_order(o).iter().map(|&p| log.catalog().product_name(p).to_string()).collect();
            v.entry(log.customer_id(c).to_string()).or_default().push((log.at()[o], log.amount()[o], products));
        }
    }
    v
}

/// The same for assembled orders (already by time, then order id).
fn flatten_assembled(a: &AssembledOrders) -> Flat {
    let mut v = Flat::new();
    for o in a.counted() {
        v.entry(o.customer_id.clone()).or_default().push((o.ordered_at, o.amount_minor, o.lines.iter().map(|l| l.product.clone()).collect()));
    }
    v
}

#[test]
fn parallel_blocks_match_the_assembled_orders() {
    let text = messy(3000);
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
    let want = match read_order_records_bytes("m.csv", &bytes, &opts(), &|_, _| {}) {
        Ok(f) => f,
        Err(e) => panic!("assembled: {e}"),
    };
    assert!(want.summary.refund_rows > 100, "{}", want.summary.refund_rows);
    assert!(want.orders.iter().any(|o| o.status == OrderStatus::Refunded && o.lines.iter().all(|l| l.amount_minor.unwrap_or(0) > 0)), "refunded to zero");
    assert!(want.orders.iter().any(|o| o.status == OrderStatus::Completed && o.lines.len() > 1), "lines of one order");
    for block in [64, 1000, 4096, 1 << 20] {
        let got = match read_orders_bytes_in_blocks("m.csv", &bytes, &opts(), block) {
            Ok(f) => f,
            Err(e) => panic!("block {block}: {e}"),
        };
        assert_eq!(got.encoding, "windows-1251");
        let s = &want.summary;
        assert_eq!((got.rows, got.excluded_by_status, got.refund_rows), (s.rows, s.excluded_by_status, s.refund_rows), "block {block}");
        same_orders(&flatten(&got.log), &flatten_assembled(&want), &format!("block {block}"));
    }
}

/// Equal maps, or a panic naming the first customer that differs.
fn same_orders(got: &Flat, want: &Flat, what: &str) {
    for (c, w) in want {
        assert_eq!(got.get(c), Some(w), "{what}: customer {c:?}");
    }
    assert_eq!(got.len(), want.len(), "{what}: customers");
}

#[test]
fn errors_carry_absolute_lines_across_blocks() {
    let mut text = String::from("customer,date,amount\n");
    for i in 0..500 {
        text.push_str(&format!("\"c\n{i}\",2024-03-05,1\n"));
    }
    text.push_str("x,2024-02-31,1\n");
    // 2 lines per record: the bad row is on line 1 + 500*2 + 1.
    let e = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &opts(), 100).map(|_| ()).expect_err("bad date");
    assert_eq!(e.to_string(), "o.csv:1002: column \"date\": \"2024-02-31\" is not a date (expected YYYY-MM-DD)");
    text.push_str("\"open,2024-03-05,1\n");
    let e = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &opts(), 100).map(|_| ()).expect_err("quote");
    assert_eq!(e.to_string(), "o.csv:1003: a quoted field starts on this line and is never closed");
}

#[test]
fn slash_order_settled_after_the_first_block_reads_the_whole_file() {
    let mut text = String::from("customer,date,amount\n");
    for _ in 0..200 {
        text.push_str("a,05/03/2024,1\n");
    }
    text.push_str("b,25/03/2024,1\n");
    let f = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &opts(), 256).expect("DD/MM from the last row");
    // 2024-03-05 00:00 Moscow.
    assert_eq!(f.log.times_of(0)[0], 1_709_586_000);
    let text = text.replace("25/03/2024", "03/25/2024").replace("b,", "c,").replacen("a,05/03/2024", "d,13/03/2024", 1);
    let e = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &opts(), 256).map(|_| ()).expect_err("both orders");
    assert_eq!(e.to_string(), "o.csv: column \"date\": some dates are DD/MM (\"13/03/2024\") and some MM/DD (\"03/25/2024\")");
}

#[test]
fn an_error_on_the_last_row_gives_no_result() {
    let mut text = String::from("customer,date,amount,status\n");
    for i in 0..1000 {
        text.push_str(&format!("c{i},2024-03-05,{i}.50,paid\n"));
    }
    text.push_str("z,2024-03-05,-1,paid\n");
    let e = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &opts(), 512).map(|_| ()).expect_err("negative");
    assert_eq!(e.to_string(), "o.csv:1002: column \"amount\": \"-1\" is negative but the status is not a refund or cancellation");
    let o = ImportOptions { skip_bad_rows: true, ..opts() };
    let f = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &o, 512).expect("skipped");
    assert_eq!((f.rows, f.skipped, f.log.n_orders()), (1001, 1, 1000));
    assert_eq!(f.skip_reasons, ["o.csv:1002: column \"amount\": \"-1\" is negative but the status is not a refund or cancellation"]);
}

#[test]
fn non_adjacent_rows_of_one_order_merge_and_ids_restart_across_blocks() {
    let mut text = String::from("order_id,customer,date,amount,product\n");
    for i in 0..300 {
        text.push_str(&format!("{i},c{},2024-03-05,1,p\n", i % 10));
    }
    // Order 5 of c5 again, far from its first line, on the same day: one more line of it.
    text.push_str("5,c5,2024-03-05 18:00,2,q\n");
    for block in [128, 1 << 20] {
        let f = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &opts(), block).expect("read");
        assert_eq!(f.log.n_orders(), 300, "block {block}");
        let c5 = f.log.customer_ids().iter().position(|c| c == "c5").expect("c5") as u32;
        let first = f.log.orders_of(c5).start;
        assert_eq!(f.log.amount()[first], 300, "block {block}");
        assert_eq!(f.log.products_of_order(first).len(), 2, "block {block}");
    }
    assert_eq!(
        read_orders_bytes("o.csv", text.as_bytes(), &opts(), &|_, _| {}).expect("read").columns,
        [("customer", "customer"), ("date", "date"), ("amount", "amount"), ("order_id", "order_id"), ("product", "product")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // Order 7 (c7) again for another customer, a day later: an error naming both lines; skipped
    // with --skip-bad-rows.
    text.push_str("7,c1,2024-03-06,4,q\n");
    let want = "o.csv:303: order id \"7\" was already used on line 9 for customer c7 on 2024-03-05; here it is c1 on 2024-03-06 — an order id must name one order";
    for block in [128, 1 << 20] {
        let e = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &opts(), block).map(|_| ()).expect_err("repeated id");
        assert_eq!(e.to_string(), want, "block {block}");
        let o = ImportOptions { skip_bad_rows: true, ..opts() };
        let f = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &o, block).expect("skipped");
        assert_eq!((f.log.n_orders(), f.skipped, f.skip_reasons.as_slice()), (300, 1, [want.to_string()].as_slice()), "block {block}");
    }
}

#[test]
fn order_rows_stream_with_statuses() {
    let text = "id;клиент;дата;сумма;статус\n1;a;05.03.2024;10,50 ₽;выполнен\n2;b;06.03.2024;-10,50 ₽;возврат\n3;c;07.03.2024;1;отменён\n";
    let mut r = OrderRows::from_bytes("o.csv", text.as_bytes().to_vec(), &opts()).expect("open");
    let mut rows = Vec::new();
    while let Some(b) = r.next_batch().expect("batch") {
        rows.extend(b);
    }
    assert_eq!(r.currency(), Currency::RUB);
    let s: Vec<_> = rows.iter().map(|r| (r.line, r.customer_id.as_str(), r.amount_minor, r.status)).collect();
    assert_eq!(s, [(2, "a", 1050, OrderStatus::Completed), (3, "b", -1050, OrderStatus::Refunded), (4, "c", 100, OrderStatus::Cancelled)]);
    assert_eq!((r.summary().excluded_by_status, r.summary().refund_rows), (1, 1));
    // Any bad row: the stream ends in one error listing it, no rows before it count.
    let bad = "customer,date,amount\na,2024-03-05,1\nb,2024-03-05,x\n";
    let mut r = OrderRows::from_bytes("o.csv", bad.as_bytes().to_vec(), &opts()).expect("open");
    let e = r.next_batch().map(|_| ()).expect_err("bad amount");
    assert_eq!(e.to_string(), "o.csv:3: column \"amount\": \"x\" is not an amount (expected e.g. 1234.56 or 1 234,56)");
}

#[test]
fn customers_table_in_windows_1251_with_cyrillic_headers() {
    let text = "Код клиента;ФИО;Телефон;Тип;Дата регистрации;День рождения;Теги\n\
                17;Петрова Анна;+7 900 000-00-00;person;05.03.2024 14:30;07.11.1990;vip\n\
                18;\"ООО \"\"Ромашка\"\"\";;company;2024-03-06;;\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
    let spec = TableSpec::customers();
    let t = read_table_bytes("c.csv", bytes.into_owned(), &spec, &opts()).expect("read");
    assert_eq!(t.summary.encoding, "windows-1251");
    assert_eq!(t.rows.len(), 2);
    let r = &t.rows[0];
    assert_eq!(r.text(spec.index("customer_id").expect("id")), Some("17"));
    assert_eq!(r.text(spec.index("name").expect("name")), Some("Петрова Анна"));
    // 14:30 Moscow = 11:30 UTC.
    assert_eq!(r.instant(spec.index("created_at").expect("created")), Some(1_709_638_200));
    assert_eq!(r.date(spec.index("birthday").expect("bday")), chrono::NaiveDate::from_ymd_opt(1990, 11, 7));
    assert_eq!(t.rows[1].text(1), Some("ООО \"Ромашка\""));
    assert_eq!(t.rows[1].get(spec.index("birthday").expect("bday")), &Value::Null);
}

#[test]
fn table_errors_name_line_column_value_and_expectation() {
    let spec = TableSpec::feedback();
    let cases: &[(&str, &str)] = &[
        ("customer,score\na,11\n", "f.csv:2: column \"score\": \"11\" is out of range (expected 0 to 10)"),
        ("customer,nps\na,good\n", "f.csv:2: column \"nps\": \"good\" is not a whole number"),
        ("customer,score,date\na,5,31.02.2024\n", "f.csv:2: column \"date\": \"31.02.2024\" is not a date (expected DD.MM.YYYY)"),
        ("customer,score\n,5\n", "f.csv:2: column \"customer\": the customer id is empty"),
        ("client\na\n", "f.csv: no score column (accepted headers: score, nps, rating, оценка, балл, оцінка, бал; or map the score field to a column of the file)"),
    ];
    for (text, want) in cases {
        let e = read_table_bytes("f.csv", text.as_bytes().to_vec(), &spec, &opts()).map(|_| ()).expect_err(text);
        assert_eq!(e.to_string(), *want);
    }
    let o = ImportOptions { column_map: vec![("nps".into(), "x".into())], ..opts() };
    let e = read_table_bytes("f.csv", b"customer,score\na,1\n".to_vec(), &spec, &o).map(|_| ()).expect_err("map");
    assert_eq!(e.to_string(), "unknown field \"nps\" in the column map (valid fields: customer_id, score, survey, comment, touchpoint, at)");
}

#[test]
fn events_json_subscriptions_money_and_custom_specs() {
    let t = read_table_bytes(
        "e.csv",
        b"customer_id,event,timestamp,properties\na,login,2024-03-05T10:00:00Z,\"{\"\"page\"\": \"\"/\"\"}\"\n".to_vec(),
        &TableSpec::events(),
        &opts(),
    )
    .expect("events");
    assert_eq!(t.rows[0].json(3).and_then(|j| j.get("page")).and_then(|p| p.as_str()), Some("/"));
    let t = read_table_bytes(
        "s.csv",
        "подписка;клиент;тариф;сумма;валюта;начало;окончание;причина\ns1;a;pro;1 990,00;RUB;01.02.2024;;\n".as_bytes().to_vec(),
        &TableSpec::subscriptions(),
        &opts(),
    )
    .expect("subscriptions");
    assert_eq!(t.rows[0].money(3), Some((199_000, Some(Currency::RUB))));
    assert_eq!(t.rows[0].date(5), chrono::NaiveDate::from_ymd_opt(2024, 2, 1));
    let spec = TableSpec {
        name: "flags",
        fields: vec![FieldSpec::new("who", &["who"], FieldKind::Text).required(), FieldSpec::new("ok", &["ok"], FieldKind::Bool), FieldSpec::new("w", &["w"], FieldKind::Decimal(3))],
    };
    let o = ImportOptions { date_format: Some(DateFormat::DmySlash), ..opts() };
    let t = read_table_bytes("x.csv", "who|ok|w\na|да|1,5\nb|no|2\n".as_bytes().to_vec(), &spec, &o).expect("custom");
    assert_eq!(t.rows[0].values, [Value::Text("a".into()), Value::Bool(true), Value::Decimal(1500)]);
    assert_eq!(t.rows[1].bool(1), Some(false));
}

#[test]
fn increasing_ids_multi_line_orders_and_refunds_across_blocks() {
    // Orders 0..700 of three adjacent lines each (ids increasing: without `mixed` the file path
    // needs no id resolution), some wholly cancelled, with `mixed` some with one pending line (the
    // order counts for nothing), partial refunds of every 50th order at the end (one refunding
    // order 100 in full).
    for mixed in [false, true] {
        let mut text = String::from("order_id,customer,date,amount,status,product\n");
        for o in 0..700u32 {
            for line in 0..3 {
                let status = match (o % 37, line) {
                    (5, _) => "cancelled",
                    (11, 2) if mixed => "pending",
                    _ => "paid",
                };
                text.push_str(&format!("{o},c{},2024-{:02}-{:02} {:02}:00,{}.{:02},{status},p{line}\n", o % 50, o % 12 + 1, o % 28 + 1, line + 8, o % 90 + 1, line));
            }
        }
        for o in (0..700u32).step_by(50) {
            let amount = if o == 100 { "-1000.00".to_string() } else { format!("-0.{:02}", o % 90 + 1) };
            text.push_str(&format!("{o},c{},2025-01-01,{amount},refunded,\n", o % 50));
        }
        let want = read_order_records_bytes("o.csv", text.as_bytes(), &opts(), &|_, _| {}).expect("assembled");
        let pending = if mixed { 19 } else { 0 };
        assert_eq!(want.summary.refund_rows, 14);
        assert_eq!(want.orders.iter().filter(|o| o.status == OrderStatus::Refunded).count(), 1);
        assert_eq!(want.orders.iter().filter(|o| o.status == OrderStatus::Pending).count(), pending);
        assert_eq!(want.counted().count(), 700 - 19 - pending - 1);
        for block in [64, 300, 4096, 1 << 20] {
            let got = read_orders_bytes_in_blocks("o.csv", text.as_bytes(), &opts(), block).unwrap_or_else(|e| panic!("block {block}: {e}"));
            same_orders(&flatten(&got.log), &flatten_assembled(&want), &format!("mixed {mixed}, block {block}"));
        }
    }
}
