//! Format rules of the orders importer, each on a small hand-made file.

use holdfast_core::{Calendar, Currency};
use holdfast_import::{read_orders, read_orders_bytes, DateFormat, ImportOptions, OrdersFile};

fn msk() -> Calendar {
    Calendar::from_name("Europe/Moscow").expect("zone")
}

fn opts() -> ImportOptions {
    ImportOptions { calendar: msk(), ..Default::default() }
}

fn read(bytes: &[u8]) -> OrdersFile {
    read_with(bytes, &opts())
}

fn read_with(bytes: &[u8], o: &ImportOptions) -> OrdersFile {
    match read_orders_bytes("orders.csv", bytes, o, &|_, _| {}) {
        Ok(f) => f,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn err_with(bytes: &[u8], o: &ImportOptions) -> String {
    match read_orders_bytes("orders.csv", bytes, o, &|_, _| {}) {
        Ok(f) => panic!("expected an error, read {} rows", f.rows),
        Err(e) => e.to_string(),
    }
}

/// 2024-03-05 00:00 in Moscow (UTC+3) is 2024-03-04 21:00 UTC.
const MAR5_MSK: i64 = 1_709_586_000;

fn all_times(f: &OrdersFile) -> Vec<i64> {
    (0..f.log.n_customers() as u32).flat_map(|c| f.log.times_of(c).to_vec()).collect()
}

fn all_amounts(f: &OrdersFile) -> Vec<i64> {
    (0..f.log.n_customers() as u32).flat_map(|c| f.log.amounts_of(c).to_vec()).collect()
}

#[test]
fn comma_file_with_aliases_and_utf8() {
    let f = read(b"customer_id,ordered_at,amount\na,2024-03-05,10.50\n");
    assert_eq!(f.delimiter, b',');
    assert_eq!(f.encoding, "UTF-8");
    assert_eq!(f.rows, 1);
    assert_eq!(all_times(&f), [MAR5_MSK]);
    assert_eq!(all_amounts(&f), [1050]);
    assert!(f.currency_assumed);
    assert_eq!(f.currency, Currency::USD);
}

#[test]
fn delimiters_are_sniffed_outside_quotes() {
    for (text, d) in [
        ("client;date;total\na;2024-03-05;1\n".to_string(), b';'),
        ("client\tdate\ttotal\na\t2024-03-05\t1\n".to_string(), b'\t'),
        ("client|date|total\na|2024-03-05|1\n".to_string(), b'|'),
        ("\"note;x\",client,date,total\n\"a;b\",a,2024-03-05,1\n".to_string(), b','),
    ] {
        let f = read(text.as_bytes());
        assert_eq!(f.delimiter, d, "{text}");
        assert_eq!(all_amounts(&f), [100]);
    }
}

#[test]
fn utf8_bom_is_dropped() {
    let f = read("\u{feff}Клиент;Дата;Сумма\nИван;05.03.2024;1 234,50 ₽\n".as_bytes());
    assert_eq!(f.encoding, "UTF-8");
    assert_eq!(f.log.customer_id(0), "Иван");
    assert_eq!(all_amounts(&f), [123450]);
    assert_eq!(f.currency, Currency::RUB);
    assert!(!f.currency_assumed);
}

#[test]
fn windows_1251_semicolons_decimal_commas_and_cyrillic_headers() {
    let text = "Покупатель;Дата заказа;Итого;Статус\nПетров;05.03.2024;1 234,50;выполнен\nПетров;06.03.2024;99,90;отменён\nСидорова;07.03.2024;10;выполнен\n";
    let (bytes, _, bad) = encoding_rs::WINDOWS_1251.encode(text);
    assert!(!bad);
    let f = read(&bytes);
    assert_eq!(f.encoding, "windows-1251");
    assert_eq!(f.delimiter, b';');
    assert_eq!(f.rows, 3);
    assert_eq!(f.excluded_by_status, 1);
    assert_eq!(f.log.n_orders(), 2);
    assert_eq!(f.log.customer_id(0), "Петров");
    assert_eq!(f.log.amounts_of(0), [123450]);
    assert_eq!(f.log.times_of(0), [MAR5_MSK]);
}

#[test]
fn koi8_r_is_told_from_windows_1251() {
    let text = "клиент,дата,сумма\nсмирнова анна,05.03.2024,100\n";
    let (bytes, _, bad) = encoding_rs::KOI8_R.encode(text);
    assert!(!bad);
    let f = read(&bytes);
    assert_eq!(f.encoding, "KOI8-R");
    assert_eq!(f.log.customer_id(0), "смирнова анна");
}

#[test]
fn encoding_option_overrides_detection() {
    let (bytes, _, _) = encoding_rs::KOI8_R.encode("клиент,дата,сумма\nанна,05.03.2024,100\n");
    let o = ImportOptions { encoding: Some(encoding_rs::KOI8_R), ..opts() };
    assert_eq!(read_with(&bytes, &o).encoding, "KOI8-R");
}

#[test]
fn numbers_with_separators_and_currency_signs() {
    // (amount text, minor units, currency)
    let cases: &[(&str, i64, Option<Currency>)] = &[
        ("1234.5", 123450, None),
        ("1234,5", 123450, None),
        ("\"1,234.50\"", 123450, None),
        ("\"1.234,50\"", 123450, None),
        ("1 234,50", 123450, None),
        ("1\u{a0}234,50", 123450, None),
        ("1\u{202f}234,50", 123450, None),
        ("1'234.50", 123450, None),
        ("\"1,234,567\"", 123456700, None),
        ("1 234,50 ₽", 123450, Some(Currency::RUB)),
        ("1234 руб.", 123400, Some(Currency::RUB)),
        ("1234 руб", 123400, Some(Currency::RUB)),
        ("1234 р.", 123400, Some(Currency::RUB)),
        ("1234 RUB", 123400, Some(Currency::RUB)),
        ("$1234", 123400, Some(Currency::USD)),
        ("1234 USD", 123400, Some(Currency::USD)),
        ("€1234", 123400, Some(Currency::EUR)),
        ("1234 EUR", 123400, Some(Currency::EUR)),
        ("1234 лв", 123400, Some(Currency::BGN)),
        ("1234 лв.", 123400, Some(Currency::BGN)),
        ("1234 BGN", 123400, Some(Currency::BGN)),
        ("1234 грн", 123400, Some(Currency::UAH)),
        ("1234 UAH", 123400, Some(Currency::UAH)),
    ];
    for (text, minor, cur) in cases {
        let f = read(format!("customer;date;amount\na;2024-03-05;{text}\n").as_bytes());
        assert_eq!(all_amounts(&f), [*minor], "{text}");
        assert_eq!(f.currency, cur.unwrap_or(Currency::USD), "{text}");
        assert_eq!(f.currency_assumed, cur.is_none(), "{text}");
    }
}

#[test]
fn currency_column_and_option() {
    let f = read(b"customer,date,amount,currency\na,2024-03-05,12.5,EUR\n");
    assert_eq!(f.currency, Currency::EUR);
    let o = ImportOptions { currency: Some(Currency::BGN), ..opts() };
    let f = read_with(b"customer,date,amount\na,2024-03-05,12.5\n", &o);
    assert_eq!((f.currency, f.currency_assumed, all_amounts(&f)), (Currency::BGN, false, vec![1250]));
}

#[test]
fn date_formats() {
    // Every value is 2024-03-05 local (Moscow), except where a time is given.
    for v in ["2024-03-05", "05.03.2024", "05.03.24", "45356", "2024-03-05 00:00", "2024-03-05 00:00:00", "2024-03-04T21:00:00Z", "2024-03-05T00:00:00+03:00"] {
        let f = read(format!("customer,date,amount\na,{v},1\n").as_bytes());
        assert_eq!(all_times(&f), [MAR5_MSK], "{v}");
    }
    let f = read(b"customer,date,amount\na,2024-03-05 14:30,1\n");
    assert_eq!(all_times(&f), [MAR5_MSK + 14 * 3600 + 1800]);
    let f = read(b"customer,date,amount\na,45356.5,1\n");
    assert_eq!(all_times(&f), [MAR5_MSK + 12 * 3600]);
}

#[test]
fn slash_dates_are_decided_per_column() {
    // 25/03 can only be DD/MM, so 05/03 is 5 March.
    let f = read(b"customer,date,amount\na,05/03/2024,1\nb,25/03/2024,1\n");
    assert_eq!(f.log.times_of(0), [MAR5_MSK]);
    // 03/25 can only be MM/DD, so 03/05 is 5 March.
    let f = read(b"customer,date,amount\na,03/05/2024,1\nb,03/25/2024,1\n");
    assert_eq!(f.log.times_of(0), [MAR5_MSK]);
    // Ambiguous alone, settled by --date-format.
    let o = ImportOptions { date_format: Some(DateFormat::MdySlash), ..opts() };
    let f = read_with(b"customer,date,amount\na,03/05/2024,1\n", &o);
    assert_eq!(f.log.times_of(0), [MAR5_MSK]);
    let o = ImportOptions { date_format: Some(DateFormat::DmySlash), ..opts() };
    let f = read_with(b"customer,date,amount\na,05/03/2024,1\n", &o);
    assert_eq!(f.log.times_of(0), [MAR5_MSK]);
}

#[test]
fn refund_statuses_are_excluded_and_counted() {
    let mut text = String::from("customer,date,amount,status\na,2024-03-05,10,completed\n");
    let statuses = [
        "refunded", "Cancelled", "canceled", "returned", "возврат", "отменен", "отменён", "отмена", "повернення", "скасовано", "върнат", "анулиран", "отказан",
        "failed", "VOID", "chargeback", "pending", "Ожидает оплаты", "не оплачен", "ошибка оплаты", "очікує оплати", "чака плащане",
    ];
    for s in statuses {
        text.push_str(&format!("a,2024-03-06,10,{s}\n"));
    }
    // A cancelled row need not have a valid amount; all-empty rows (",,,") are ignored.
    text.push_str("a,2024-03-07,,cancelled\n,,,\n");
    let f = read(text.as_bytes());
    assert_eq!(f.rows, 2 + statuses.len());
    assert_eq!(f.excluded_by_status, 1 + statuses.len());
    assert_eq!(f.log.n_orders(), 1);
}

#[test]
fn rows_of_one_order_become_lines() {
    let text = "order_id,customer_id,ordered_at,amount,product,category,quantity\n\
                7,a,2024-03-05,10.00,oil,auto,2\n\
                7,a,2024-03-05,5.50,filter,auto,1\n\
                8,a,2024-03-06,1.00,oil,auto,1\n\
                9,b,2024-03-05,3.00,tea,food,1\n";
    let f = read(text.as_bytes());
    assert_eq!(f.rows, 4);
    assert_eq!(f.log.n_orders(), 3);
    assert_eq!(f.log.customer_id(0), "a");
    assert_eq!(f.log.amounts_of(0), [1550, 100]);
    let first: Vec<&str> = f.log.products_of_order(0).iter().map(|&p| f.log.catalog().product_name(p)).collect();
    assert_eq!(first, ["oil", "filter"]);
    let lines = f.log.lines().expect("lines");
    assert_eq!(&lines.quantity[..2], [2, 1]);
}

#[test]
fn map_overrides_aliases() {
    let text = "Клиент;Сумма;Итого;Дата\nа;1;2;2024-03-05\n";
    let o = ImportOptions { column_map: vec![("amount".into(), "итого".into())], ..opts() };
    assert_eq!(all_amounts(&read_with(text.as_bytes(), &o)), [200]);
    assert_eq!(all_amounts(&read(text.as_bytes())), [100]);
}

#[test]
fn skip_bad_rows_counts_and_keeps_reasons() {
    let mut text = String::from("customer,date,amount\n");
    for i in 0..30 {
        text.push_str(&format!("c{i},2024-03-05,x{i}\n"));
    }
    text.push_str("good,2024-03-05,1\n");
    let o = ImportOptions { skip_bad_rows: true, ..opts() };
    let f = read_with(text.as_bytes(), &o);
    assert_eq!((f.rows, f.skipped, f.skip_reasons.len(), f.log.n_orders()), (31, 30, 20, 1));
    assert_eq!(f.skip_reasons[0], "orders.csv:2: column \"amount\": \"x0\" is not an amount (expected e.g. 1234.56 or 1 234,56)");
}

#[test]
fn reads_from_a_path_and_reports_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("o.csv");
    std::fs::write(&p, "customer,date,amount\na,2024-03-05,1\n").expect("write");
    let seen = std::cell::Cell::new(0u64);
    let f = read_orders(&p, &opts(), &|d, t| {
        assert!(d <= t);
        seen.set(d);
    })
    .expect("read");
    assert_eq!(f.rows, 1);
    assert_eq!(seen.get(), 36);
    let missing = read_orders(&dir.path().join("none.csv"), &opts(), &|_, _| {}).map(|_| ()).expect_err("missing");
    assert!(missing.to_string().contains("none.csv: cannot read"), "{missing}");
}

#[test]
fn bad_inputs_give_exact_messages() {
    let d = opts();
    let map = |f: &str, h: &str| ImportOptions { column_map: vec![(f.into(), h.into())], ..opts() };
    let map_price = map("price", "amount");
    let map_total = map("amount", "Итого");
    let rub = ImportOptions { currency: Some(Currency::RUB), ..opts() };
    let big = format!("customer,date,amount\na,2024-03-05,\"{}\"\n", "9".repeat(10 << 20));
    let (w1251, _, _) = encoding_rs::WINDOWS_1251.encode("б,2024-03-05,1\n");
    let mut mixed = "клиент,дата,сумма\nа,2024-03-05,1\n".as_bytes().to_vec();
    mixed.extend_from_slice(&w1251);
    let mut many = String::from("customer,date,amount\n");
    for i in 0..25 {
        many.push_str(&format!("c,2024-03-05,bad{i}\n"));
    }
    let many_msg = {
        let mut m: Vec<String> = (0..20).map(|i| format!("orders.csv:{}: column \"amount\": \"bad{i}\" is not an amount (expected e.g. 1234.56 or 1 234,56)", i + 2)).collect();
        m.push("… and 5 more errors".into());
        m.join("\n")
    };
    let cases: Vec<(&str, Vec<u8>, &ImportOptions, String)> = vec![
        ("empty file", b"".to_vec(), &d, "orders.csv: the file is empty".into()),
        ("blank lines only", b"\n \n".to_vec(), &d, "orders.csv: the file is empty".into()),
        ("header only", b"customer,date,amount\n".to_vec(), &d, "orders.csv: the file has a header but no orders".into()),
        (
            "missing customer column",
            b"date,amount\n2024-03-05,1\n".to_vec(),
            &d,
            "orders.csv: no customer column (accepted headers: customer_id, customer, client, client_id, email, клиент, покупатель, код клиента, клієнт, покупець; or map the customer field to a column of the file)".into(),
        ),
        (
            "missing date column",
            b"customer,amount\na,1\n".to_vec(),
            &d,
            "orders.csv: no date column (accepted headers: ordered_at, date, order date, order_date, дата, дата заказа, дата замовлення, дата на поръчка; or map the date field to a column of the file)".into(),
        ),
        (
            "missing amount column",
            b"customer,date\na,2024-03-05\n".to_vec(),
            &d,
            "orders.csv: no amount column (accepted headers: amount, total, sum, revenue, сумма, сума, стойност, итого; or map the amount field to a column of the file)".into(),
        ),
        (
            "unparseable amount",
            b"customer,date,amount\na,2024-03-05,12.3.4\n".to_vec(),
            &d,
            "orders.csv:2: column \"amount\": \"12.3.4\" is not an amount (expected e.g. 1234.56 or 1 234,56)".into(),
        ),
        (
            "bad thousands groups",
            b"customer,date,amount\na,2024-03-05,\"1,2,3\"\n".to_vec(),
            &d,
            "orders.csv:2: column \"amount\": \"1,2,3\" is not an amount (expected e.g. 1234.56 or 1 234,56)".into(),
        ),
        (
            "negative amount without refund status",
            b"customer,date,amount,status\na,2024-03-05,1,paid\na,2024-03-06,-5.00,paid\n".to_vec(),
            &d,
            "orders.csv:3: column \"amount\": \"-5.00\" is negative but the status is not a refund or cancellation".into(),
        ),
        (
            "impossible date",
            b"customer;date;amount\na;01.02.2024;1\na;31.02.2024;1\n".to_vec(),
            &d,
            "orders.csv:3: column \"date\": \"31.02.2024\" is not a date (expected DD.MM.YYYY)".into(),
        ),
        (
            "impossible month",
            b"customer,date,amount\na,2024-13-01,1\n".to_vec(),
            &d,
            "orders.csv:2: column \"date\": \"2024-13-01\" is not a date (expected YYYY-MM-DD)".into(),
        ),
        (
            "words for a date",
            b"customer,date,amount\na,yesterday,1\na,2024-03-05,1\n".to_vec(),
            &d,
            "orders.csv:2: column \"date\": \"yesterday\" is not a date (expected YYYY-MM-DD)".into(),
        ),
        ("empty date", b"customer,date,amount\na,,1\n".to_vec(), &d, "orders.csv:2: column \"date\": \"\" is not a date (expected YYYY-MM-DD)".into()),
        ("empty customer", b"customer,date,amount\n,2024-03-05,1\n".to_vec(), &d, "orders.csv:2: column \"customer\": the customer is empty".into()),
        (
            "ambiguous slash dates",
            b"customer,date,amount\na,03/04/2024,1\nb,05/06/2024,1\n".to_vec(),
            &d,
            "orders.csv: column \"date\": dates such as \"03/04/2024\" fit both DD/MM/YYYY and MM/DD/YYYY; say which the file uses".into(),
        ),
        (
            "both slash orders",
            b"customer,date,amount\na,13/04/2024,1\nb,04/13/2024,1\n".to_vec(),
            &d,
            "orders.csv: column \"date\": some dates are DD/MM (\"13/04/2024\") and some MM/DD (\"04/13/2024\")".into(),
        ),
        ("mixed encodings", mixed, &d, "orders.csv: mixed encodings: line 1 is UTF-8 but line 3 is not".into()),
        (
            "unterminated quote",
            b"customer,date,amount\na,2024-03-05,1\n\"b,2024-03-05,1\nc,2024-03-05,1\n".to_vec(),
            &d,
            "orders.csv:3: a quoted field starts on this line and is never closed".into(),
        ),
        ("ragged row", b"customer,date,amount\na,2024-03-05,1\nb,2024-03-05\n".to_vec(), &d, "orders.csv:3: 2 fields, but the header has 3".into()),
        ("too many fields", b"customer,date,amount\na,2024-03-05,1,x\n".to_vec(), &d, "orders.csv:2: 4 fields, but the header has 3".into()),
        ("10 MB single field", big.into_bytes(), &d, "orders.csv:2: a field is longer than 1 MB".into()),
        (
            "unknown --map field",
            b"customer,date,amount\na,2024-03-05,1\n".to_vec(),
            &map_price,
            "unknown field \"price\" in the column map (valid fields: customer, date, amount, order_id, status, currency, product, category, quantity, refunded_amount)".into(),
        ),
        (
            "--map header not in file",
            b"customer,date,amount\na,2024-03-05,1\n".to_vec(),
            &map_total,
            "orders.csv: the column map gives amount = \"Итого\", but the header has no such column (columns: customer, date, amount)".into(),
        ),
        (
            "two currencies",
            b"customer,date,amount\na,2024-03-05,5 EUR\nb,2024-03-05,5 USD\n".to_vec(),
            &d,
            "orders.csv:3: column \"amount\": \"5 USD\" is in USD but the file is in EUR".into(),
        ),
        (
            "file currency differs from --currency",
            b"customer,date,amount\na,2024-03-05,5 \xe2\x82\xac\n".to_vec(),
            &rub,
            "orders.csv:2: column \"amount\": \"5 €\" is in EUR but the file is in RUB".into(),
        ),
        (
            "currency column disagrees with the sign",
            b"customer,date,amount,currency\na,2024-03-05,$5,EUR\n".to_vec(),
            &d,
            "orders.csv:2: column \"amount\": \"$5\" is in USD but the currency column says EUR".into(),
        ),
        (
            "not a currency",
            b"customer,date,amount,currency\na,2024-03-05,5,dollars\n".to_vec(),
            &d,
            "orders.csv:2: column \"currency\": \"dollars\" is not a currency (expected e.g. RUB, EUR, USD)".into(),
        ),
        (
            "more decimals than the currency has",
            b"customer,date,amount\na,2024-03-05,1.005\n".to_vec(),
            &d,
            "orders.csv:2: column \"amount\": \"1.005\" has more than 2 decimals for USD".into(),
        ),
        (
            "bad quantity",
            b"customer,date,amount,qty\na,2024-03-05,1,two\n".to_vec(),
            &d,
            "orders.csv:2: column \"qty\": \"two\" is not a quantity".into(),
        ),
        (
            "fractional quantity",
            b"customer,date,amount,qty\na,2024-03-05,1,1.5\n".to_vec(),
            &d,
            "orders.csv:2: column \"qty\": \"1.5\" is not a whole quantity".into(),
        ),
        ("more than 20 bad rows", many.into_bytes(), &d, many_msg),
    ];
    assert!(cases.len() >= 25);
    for (what, bytes, o, want) in cases {
        assert_eq!(err_with(&bytes, o), want, "{what}");
    }
}

#[test]
fn partial_refunds_wherever_they_are() {
    // Order 7 (a, 100.00) is refunded 30.00 before its row and 20.00 after: 50.00. Order 8 (b,
    // 40.00, refunded column 15.00) is refunded 25.00 more: nothing left, so it counts for nothing.
    // Order 9 (c, 60.00) has a refunded column of 10.00: 50.00.
    let text = "order_id,customer,date,amount,status,refunded\n\
                7,a,2024-03-20,-30.00,refunded,\n\
                7,a,2024-03-05,100.00,completed,\n\
                8,b,2024-03-06,40.00,completed,15.00\n\
                9,c,2024-03-07,60.00,completed,10.00\n\
                7,a,2024-04-01,-20.00,refund,\n\
                8,b,2024-04-02,-25.00,chargeback,\n";
    let f = read(text.as_bytes());
    assert_eq!((f.rows, f.refund_rows, f.excluded_by_status), (6, 3, 0));
    assert_eq!(f.log.customer_ids().to_vec(), ["a", "c"]);
    assert_eq!(all_amounts(&f), [5000, 5000]);
    assert_eq!(all_times(&f), [MAR5_MSK, MAR5_MSK + 2 * 86_400]);
    let records = holdfast_import::read_order_records_bytes("orders.csv", text.as_bytes(), &opts(), &|_, _| {}).expect("records");
    let got: Vec<(&str, i64, holdfast_import::OrderStatus)> = records.orders.iter().map(|o| (o.external_id.as_str(), o.amount_minor, o.status)).collect();
    use holdfast_import::OrderStatus::*;
    assert_eq!(got, [("7", 5000, Completed), ("8", 0, Refunded), ("9", 5000, Completed)]);
    // A refunded column alone, ids increasing.
    let f = read(b"order_id,customer,date,amount,refunded amount\n1,a,2024-03-05,100,10\n2,b,2024-03-05,50,50\n3,a,2024-03-05,7,\n");
    assert_eq!((f.log.customer_ids().to_vec(), all_amounts(&f)), (vec!["a".to_string()], vec![9000, 700]));
}
