//! Files told by their content, not their name: spreadsheets (xlsx, ods) through the same reader
//! as CSV, UTF-16 text, CR-only line ends, binary files refused, NUL bytes refused with their
//! position — on both paths (`read_orders` and `read_order_records`), from a path and from bytes.

use holdfast_core::Currency;
use holdfast_import::{read_order_records, read_order_records_bytes, read_orders, read_orders_bytes, read_table_bytes, ImportOptions, OrdersFile, TableSpec};
use std::path::PathBuf;

fn sheet(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sheets").join(name)
}

fn opts() -> ImportOptions {
    ImportOptions { currency: Some(Currency::USD), ..Default::default() }
}

/// Counted orders as (customer, instant, amount, products), customer by customer.
fn flat(f: &OrdersFile) -> Vec<(String, i64, i64, Vec<String>)> {
    let log = &f.log;
    let mut v = Vec::new();
    for c in 0..log.n_customers() as u32 {
        for o in log.orders_of(c) {
            let products = log.products_of_order(o).iter().map(|&p| log.catalog().product_name(p).to_string()).collect();
            v.push((log.customer_id(c).to_string(), log.at()[o], log.amount()[o], products));
        }
    }
    v
}

fn both_err(name: &str, bytes: &[u8], o: &ImportOptions) -> String {
    let a = read_orders_bytes(name, bytes, o, &|_, _| {}).map(|_| ()).expect_err("file path").to_string();
    let b = read_order_records_bytes(name, bytes, o, &|_, _| {}).map(|_| ()).expect_err("store path").to_string();
    assert_eq!(a, b, "both paths refuse alike");
    a
}

#[test]
fn xlsx_and_ods_read_as_their_csv() {
    // orders.csv holds the rows of the sheets as text (scripts/make-sheet-fixtures): typed cells —
    // date cells, numbers, 0.1 + 0.2 (shown 0.3), a Cyrillic id with a comma, a quote in a
    // product, a line break in a cell (read as a space) — give the same orders.
    let csv = read_orders(&sheet("orders.csv"), &opts(), &|_, _| {}).expect("csv");
    assert_eq!(csv.log.n_orders(), 5);
    for name in ["orders.xlsx", "orders.ods"] {
        let f = read_orders(&sheet(name), &opts(), &|_, _| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(flat(&f), flat(&csv), "{name}");
        assert_eq!((f.rows, f.excluded_by_status), (6, 1), "{name}");
        let a = read_order_records(&sheet(name), &opts(), &|_, _| {}).expect("records");
        assert_eq!(a.orders.len(), 6, "{name}");
        assert!(a.orders.iter().any(|o| o.customer_id == "Иванов, И.И." && o.lines[0].product == "mug \"big\""), "{name}");
        assert!(a.orders.iter().any(|o| o.lines.first().is_some_and(|l| l.product == "line one line two")), "{name}");
    }
    // By content, not by name: the workbook renamed .csv, and its bytes with no name at all.
    let bytes = std::fs::read(sheet("orders.xlsx")).expect("read");
    let f = read_orders_bytes("upload.csv", &bytes, &opts(), &|_, _| {}).expect("renamed");
    assert_eq!(flat(&f), flat(&csv));
}

#[test]
fn spreadsheet_errors_name_the_sheet_row_and_column() {
    // Row 5 of sheet "Orders" holds the text "31.02.2024"; row 7 a negative sale. The first
    // sheet ("Notes") is empty and skipped.
    let bytes = std::fs::read(sheet("orders_bad.xlsx")).expect("read");
    let e = both_err("orders_bad.xlsx", &bytes, &opts());
    assert_eq!(
        e,
        "orders_bad.xlsx (sheet Orders):5: column \"ordered_at\": \"31.02.2024\" is not a date (expected YYYY-MM-DD)\n\
         orders_bad.xlsx (sheet Orders):7: column \"amount\": \"-42\" is negative but the status is not a refund or cancellation"
    );
    // A zip that is no workbook, and a truncated workbook.
    let e = both_err("archive.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00garbage", &opts());
    assert!(e.starts_with("archive.zip: cannot read the spreadsheet: the zip archive is damaged or incomplete"), "{e}");
    let e = both_err("cut.xlsx", &bytes[..bytes.len() / 2], &opts());
    assert!(e.starts_with("cut.xlsx: cannot read the spreadsheet: the zip archive is damaged or incomplete"), "{e}");
}

#[test]
fn utf16_with_and_without_a_mark_and_cr_only_lines() {
    let text = "customer_id;date;amount\r\nИванов;05.03.2024;1 234,50\r\nC2;06.03.2024;10\r\n";
    let want = read_orders_bytes("o.csv", text.as_bytes(), &opts(), &|_, _| {}).expect("utf-8");
    let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(|u| u.to_le_bytes())).collect();
    let be: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    let cr = text.replace("\r\n", "\r");
    for (name, bytes, enc) in [("le.csv", le, "UTF-16LE"), ("be.csv", be, "UTF-16BE"), ("cr.csv", cr.into_bytes(), "UTF-8")] {
        let f = read_orders_bytes(name, &bytes, &opts(), &|_, _| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((flat(&f), f.encoding, f.delimiter), (flat(&want), enc, b';'), "{name}");
        let a = read_order_records_bytes(name, &bytes, &opts(), &|_, _| {}).expect("records");
        assert_eq!(a.orders.len(), 2, "{name}");
    }
    // Customers in UTF-16 too (the table reader shares the source).
    let c = "customer_id,name\nC1,Анна\n";
    let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(c.encode_utf16().flat_map(|u| u.to_le_bytes())).collect();
    let t = read_table_bytes("c.csv", le, &TableSpec::customers(), &opts()).expect("customers");
    assert_eq!(t.rows[0].text(1), Some("Анна"));
}

#[test]
fn binary_files_are_refused_as_such() {
    for (bytes, what) in [
        (&b"%PDF-1.7\n%\xE2\xE3\n1 0 obj"[..], "a PDF document"),
        (&b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"[..], "a PNG image"),
        (&b"\x1f\x8b\x08\x00\x00\x00\x00\x00"[..], "a gzip archive"),
        (&b"SQLite format 3\x00\x10\x00"[..], "a SQLite database"),
        (&b"\x00\x01\x02\x03\x04\x05customer,date,amount\n"[..], "binary data"),
    ] {
        let e = both_err("x.csv", bytes, &opts());
        assert_eq!(e, format!("x.csv: this is not a text or spreadsheet file (it looks like {what}); expected CSV or other delimited text, xlsx, xls or ods"));
    }
}

#[test]
fn a_nul_byte_is_a_bad_row_with_its_position() {
    let text = b"customer_id,date,amount\nC1,2024-01-05,10\nC\x002,2024-01-06,20\nC3,2024-01-07,30\n";
    let e = both_err("nul.csv", text, &opts());
    assert_eq!(e, "nul.csv:3: column \"customer_id\": \"C\\x002\" holds a NUL byte (\\0), which no text value may hold");
    let skip = ImportOptions { skip_bad_rows: true, ..opts() };
    let f = read_orders_bytes("nul.csv", text, &skip, &|_, _| {}).expect("skipped");
    assert_eq!((f.log.n_orders(), f.skipped), (2, 1));
    let a = read_order_records_bytes("nul.csv", text, &skip, &|_, _| {}).expect("skipped");
    assert_eq!((a.orders.len(), a.summary.skipped), (2, 1));
    // Other control characters: an escape sequence in an id would repaint the terminal that
    // prints it.
    let e = both_err("esc.csv", b"customer_id,date,amount\nC\x1b[31m1,2024-01-05,10\n", &opts());
    assert_eq!(e, "esc.csv:2: column \"customer_id\": \"C\\x1B[31m1\" holds a control character (\\x1B), which no text value may hold");
    // Tables too.
    let e = read_table_bytes("c.csv", b"customer_id,name\nC1,A\x00nna\n".to_vec(), &TableSpec::customers(), &opts()).map(|_| ()).expect_err("nul");
    assert_eq!(e.to_string(), "c.csv:2: column \"name\": \"A\\x00nna\" holds a NUL byte (\\0), which no text value may hold");
}

#[test]
fn a_comma_before_three_digits_is_read_as_thousands_with_a_warning() {
    // "1,234" is 1234.00 to most and 1.234 to a shop counting in a three-decimal currency: it is
    // read as thousands, and said, on both paths. "1,234.50", "12,5" and "1 234" are not
    // ambiguous and say nothing.
    let text = b"customer_id;date;amount\nC1;2024-01-05;1,234\nC2;2024-01-06;12,5\nC3;2024-01-07;$2,500\nC4;2024-01-08;1,234.50\n";
    let f = read_orders_bytes("t.csv", text, &opts(), &|_, _| {}).expect("read");
    assert_eq!(f.log.amount().iter().sum::<i64>(), 123_400 + 1_250 + 250_000 + 123_450);
    let want = "t.csv:2: column \"amount\": \"1,234\" was read as 1234 (and 1 more amounts like it): a comma before exactly three digits is taken as a thousands separator; if the file's comma is a decimal mark, these amounts are wrong";
    assert_eq!(f.warnings, [want]);
    let a = read_order_records_bytes("t.csv", text, &opts(), &|_, _| {}).expect("records");
    assert_eq!(a.summary.warnings, [want]);
    let plain =
        read_orders_bytes("p.csv", b"customer_id,date,amount\nC1,2024-01-05,1234.50\nC2,2024-01-06,\"1,234.50\"\n", &opts(), &|_, _| {}).expect("plain");
    assert!(plain.warnings.is_empty(), "{:?}", plain.warnings);
}

#[test]
fn amounts_are_bounded_so_no_sum_overflows() {
    // One amount above 10^15 minor units is a bad row (two of 92,233,720,368,547,758.07 once
    // overflowed the revenue sums); amounts within it that add up past 10^17 refuse the file.
    let text = b"customer_id,date,amount\nC1,2024-01-05,92233720368547758.07\nC2,2024-01-06,999999999999999\n";
    let e = both_err("big.csv", text, &opts());
    assert!(
        e.starts_with(
            "big.csv:2: column \"amount\": \"92233720368547758.07\" is larger than any order Holdfast accepts (at most 10000000000000 USD)\nbig.csv:3:"
        ),
        "{e}"
    );
    let many: String =
        std::iter::once("customer_id,date,amount\n".to_string()).chain((0..120).map(|i| format!("C{i},2024-01-05,9000000000000.00\n"))).collect();
    let e = both_err("many.csv", many.as_bytes(), &opts());
    assert_eq!(e, "many.csv: the counted orders add up to 108000000000000000 minor units, more than Holdfast sums (100000000000000000); is a column of ids read as amounts?");
}
