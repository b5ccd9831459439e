//! The file path ([`read_orders`]) and the store path ([`read_order_records`]) read the fixtures of
//! `tests/data/parity/` alike: the same counted orders (customer, instant, amount, products, in
//! the same order per customer), the same counts, the same errors, with and without
//! `--skip-bad-rows`. Each fixture's expected result is also worked out by hand below.

use holdfast_core::{Calendar, Currency, OrderStatus};
use holdfast_import::{read_order_records, read_orders, AssembledOrders, ImportOptions, OrdersFile};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/parity").join(name)
}

fn opts(zone: &str) -> ImportOptions {
    ImportOptions { calendar: Calendar::from_name(zone).expect("zone"), ..Default::default() }
}

/// Counted orders per customer, in order: (instant, amount, products).
type Flat = BTreeMap<String, Vec<(i64, i64, Vec<String>)>>;

fn flat_file(f: &OrdersFile) -> Flat {
    let log = &f.log;
    let mut v = Flat::new();
    for c in 0..log.n_customers() as u32 {
        for o in log.orders_of(c) {
            let products = log.products_of_order(o).iter().map(|&p| log.catalog().product_name(p).to_string()).collect();
            v.entry(log.customer_id(c).to_string()).or_default().push((log.at()[o], log.amount()[o], products));
        }
    }
    v
}

fn flat_records(a: &AssembledOrders) -> Flat {
    let mut v = Flat::new();
    for o in a.counted() {
        v.entry(o.customer_id.clone()).or_default().push((o.ordered_at, o.amount_minor, o.lines.iter().map(|l| l.product.clone()).collect()));
    }
    v
}

/// Reads a fixture both ways and checks they agree; returns both (or the common error).
fn both(name: &str, o: &ImportOptions) -> Result<(OrdersFile, AssembledOrders), String> {
    let path = fixture(name);
    let file = read_orders(&path, o, &|_, _| {});
    let records = read_order_records(&path, o, &|_, _| {});
    match (file, records) {
        (Ok(f), Ok(a)) => {
            assert_eq!(flat_file(&f), flat_records(&a), "{name}: counted orders");
            let s = &a.summary;
            assert_eq!(
                (f.rows, f.excluded_by_status, f.refund_rows, f.skipped, &f.skip_reasons),
                (s.rows, s.excluded_by_status, s.refund_rows, s.skipped, &s.skip_reasons),
                "{name}: counts"
            );
            assert_eq!((f.currency, f.encoding, f.delimiter), (a.currency, s.encoding, s.delimiter), "{name}");
            assert_eq!(f.log.n_customers(), flat_records(&a).len(), "{name}: customers");
            Ok((f, a))
        }
        (Err(e), Err(g)) => {
            assert_eq!(e.to_string(), g.to_string(), "{name}: errors");
            Err(e.to_string().replace(&format!("{}", fixture("").display()), ""))
        }
        (Ok(_), Err(e)) => panic!("{name}: only the store path fails: {e}"),
        (Err(e), Ok(_)) => panic!("{name}: only the file path fails: {e}"),
    }
}

fn skipping(o: ImportOptions) -> ImportOptions {
    ImportOptions { skip_bad_rows: true, ..o }
}

fn revenue(f: &OrdersFile) -> i64 {
    f.log.amount().iter().sum()
}

/// Amounts of a customer's counted orders, first order first.
fn amounts(f: &OrdersFile, customer: &str) -> Vec<i64> {
    let c = f.log.customer_ids().iter().position(|c| c == customer).unwrap_or_else(|| panic!("no customer {customer}"));
    f.log.amounts_of(c as u32).to_vec()
}

fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).expect("time").timestamp()
}

#[test]
fn cdnow_sample() {
    // 199 orders of 75 customers (the first customers of the CDNOW 1/10th sample, whole histories),
    // $7,111.75; ids s1..s199 are unique, dates bare (UTC midnight). c314 bought twice on
    // 1997-01-13 (s87 $166.89, s88 $60.25): by order id, bytewise, s87 first.
    for o in [opts("UTC"), skipping(opts("UTC"))] {
        let (f, a) = both("cdnow.csv", &o).expect("cdnow");
        assert_eq!((f.rows, f.log.n_orders(), f.log.n_customers(), revenue(&f)), (199, 199, 75, 711_175));
        assert_eq!(amounts(&f, "c314"), [399, 16_689, 6_025]);
        assert_eq!(a.orders.len(), 199);
        assert!(a.orders.iter().all(|o| o.status == OrderStatus::Completed && o.external_id.starts_with('s')));
    }
}

#[test]
fn russian_cp1251() {
    // Europe/Moscow; RUB, named by the first row ("1 250,00 руб.").
    // Counted (hand): 1001 1 250; 1003 15 000 − 5 000 (возвращён, line 23) = 10 000; 1006 3 400 + 260
    // (two lines) − 400 (возврат, line 17) = 3 260; 1008 1 100 − 300 (Сумма возврата) = 800; 1010 450;
    // 1011 1 890 ("Выполнен"); 1013 640; 1014 7 500; 1015 2 300; 1017 980; 1018 3 150 − 1 000 =
    // 2 150; 1020 560; 1022 830 and 1023 415 ("доставлен", same day: 1022 first); 1024 1 250.
    // Not counted: 1002 (refunded in full, line 20), 1021 (refunded_amount = amount), отменён,
    // отмена, отказ, возврат (positive), ожидает оплаты, не оплачен, ошибка оплаты.
    // 15 orders, 34 275,00 ₽; 28 rows, 3 partial refunds, 7 excluded by status; 24 orders in all.
    for o in [opts("Europe/Moscow"), skipping(opts("Europe/Moscow"))] {
        let (f, a) = both("ru_cp1251.csv", &o).expect("ru");
        assert_eq!((f.encoding, f.delimiter, f.currency, f.currency_assumed), ("windows-1251", b';', Currency::RUB, false));
        assert_eq!((f.rows, f.refund_rows, f.excluded_by_status), (28, 3, 7));
        assert_eq!((f.log.n_orders(), revenue(&f)), (15, 3_427_500));
        assert_eq!(amounts(&f, "Петрова А.С."), [326_000]);
        assert_eq!(amounts(&f, "ООО \"Ромашка\""), [1_000_000, 750_000]);
        assert_eq!(amounts(&f, "Новиков А."), [83_000, 41_500]);
        assert_eq!(amounts(&f, "Иванов И.И."), [125_000, 80_000, 98_000, 125_000]);
        // 2024-03-10 00:00 Moscow (UTC+3).
        assert_eq!(f.log.times_of(f.log.customer_ids().iter().position(|c| c == "Петрова А.С.").expect("P") as u32), [utc("2024-03-09T21:00:00Z")]);
        let by_id = |id: &str| a.orders.iter().find(|o| o.external_id == id).unwrap_or_else(|| panic!("{id}"));
        assert_eq!((by_id("1002").status, by_id("1002").amount_minor), (OrderStatus::Refunded, 0));
        assert_eq!((by_id("1021").status, by_id("1021").amount_minor), (OrderStatus::Refunded, 0));
        assert_eq!(by_id("1004").status, OrderStatus::Cancelled);
        assert_eq!(by_id("1007").status, OrderStatus::Pending);
        assert_eq!(by_id("1009").status, OrderStatus::Failed);
        assert_eq!(by_id("1006").lines.iter().map(|l| l.product.as_str()).collect::<Vec<_>>(), ["Шины", "Балансировка"]);
        assert_eq!(a.orders.len(), 24);
    }
}

#[test]
fn repeated_id_on_the_same_day_merges() {
    // 90001 (lines 2 and 6, C1, 2023-01-05): one order at 10:00, 25.00, [tea, spoon]; 90002 (lines
    // 3 and 18): 16.00 at 11:00, and 90005 for C2 at the same instant comes after it; 90006 (lines
    // 10 and 12): 28.00; 90008 has a cancelled line (line 13): the whole order counts for nothing.
    // Ties at one instant by order id: C4's 99 before 120 (numbers), C6's "A-10" before "A-9"
    // (bytewise). 12 orders, 231.50.
    for o in [opts("UTC"), skipping(opts("UTC"))] {
        let (f, a) = both("repeat_same_day.csv", &o).expect("same day");
        assert_eq!((f.rows, f.log.n_orders(), revenue(&f)), (17, 12, 23_150));
        assert_eq!(amounts(&f, "C1"), [2_500, 750]);
        assert_eq!(amounts(&f, "C2"), [1_600, 900]);
        assert_eq!(amounts(&f, "C3"), [4_000, 2_800]);
        assert_eq!(amounts(&f, "C4"), [1_200, 3_000]);
        assert_eq!(amounts(&f, "C5"), [1_800, 2_200]);
        assert_eq!(amounts(&f, "C6"), [1_100, 1_300]);
        let c1 = f.log.customer_ids().iter().position(|c| c == "C1").expect("C1") as u32;
        assert_eq!(f.log.times_of(c1)[0], utc("2023-01-05T10:00:00Z"));
        let first = f.log.orders_of(c1).start;
        let products: Vec<&str> = f.log.products_of_order(first).iter().map(|&p| f.log.catalog().product_name(p)).collect();
        assert_eq!(products, ["tea", "spoon"]);
        let o90008 = a.orders.iter().find(|o| o.external_id == "90008").expect("90008");
        assert_eq!((o90008.status, o90008.lines.len(), o90008.line), (OrderStatus::Cancelled, 2, 13));
        // The assembled list: by time, ties of one customer by order id.
        let c4: Vec<&str> = a.orders.iter().filter(|o| o.customer_id == "C4").map(|o| o.external_id.as_str()).collect();
        assert_eq!(c4, ["99", "120"]);
    }
}

#[test]
fn repeated_id_two_years_later_is_an_error() {
    let want = "repeat_two_years.csv:8: order id \"90001\" was already used on line 2 for customer C1 on 2023-01-05; here it is C1 on 2025-02-11 — an order id must name one order";
    let e = both("repeat_two_years.csv", &opts("UTC")).map(|_| ()).expect_err("repeated id");
    assert_eq!(e, want);
    // With --skip-bad-rows the later row is skipped and counted; C1's last order stays 2023-06-15.
    let (f, a) = both("repeat_two_years.csv", &skipping(opts("UTC"))).expect("skipped");
    assert_eq!((f.log.n_orders(), f.skipped), (7, 1));
    assert!(f.skip_reasons[0].ends_with(want), "{}", f.skip_reasons[0]);
    let c1 = f.log.customer_ids().iter().position(|c| c == "C1").expect("C1") as u32;
    assert_eq!(f.log.times_of(c1), [utc("2023-01-05T00:00:00Z"), utc("2023-06-15T00:00:00Z")]);
    assert_eq!(a.orders.len(), 7);
}

#[test]
fn timestamps_with_offsets_and_a_dst_day_in_kyiv() {
    // Europe/Kyiv: UTC+2, UTC+3 from 2024-03-31 03:00 (04:00 local) to 2024-10-27 04:00 (03:00 local).
    // Naive times and bare dates are wall-clock time there; offsets are converted.
    for o in [opts("Europe/Kyiv"), skipping(opts("Europe/Kyiv"))] {
        let (f, _) = both("offsets.csv", &o).expect("offsets");
        let times = |c: &str| f.log.times_of(f.log.customer_ids().iter().position(|x| x == c).expect("customer") as u32).to_vec();
        // bare date: local midnight (UTC+2); 02:30 before the gap
        assert_eq!(times("K1"), [utc("2024-03-29T22:00:00Z"), utc("2024-03-31T00:30:00Z")]);
        // 03:30 does not exist that night: read as the first valid time after it, 04:00 (UTC+3)
        assert_eq!(times("K2"), [utc("2024-03-31T01:00:00Z"), utc("2024-03-31T01:30:00Z")]);
        // with offsets: as written, whatever the zone
        assert_eq!(times("K3"), [utc("2024-03-30T23:30:00Z"), utc("2024-03-31T00:30:00Z")]);
        // 03:30 happens twice on 2024-10-27: the first (UTC+3); 03:30+02:00 is the second
        assert_eq!(times("K4"), [utc("2024-10-27T00:30:00Z"), utc("2024-10-27T01:30:00Z")]);
        assert_eq!(times("K5"), [utc("2024-10-27T00:00:00Z"), utc("2024-10-27T00:30:00Z")]);
        // 11: 00:30+03:00 and 10:00 local are both 2024-04-01 in Kyiv (not in UTC): one order
        assert_eq!(amounts(&f, "K6"), [2_200]);
        assert_eq!(times("K6"), [utc("2024-03-31T21:30:00Z")]);
        // 12:00 local (UTC+3) and 09:00Z are one instant: by order id, 12 first
        assert_eq!(amounts(&f, "K7"), [2_100, 2_200]);
        assert_eq!(f.log.n_orders(), 13);
    }
    // In UTC the two rows of order 11 fall on different dates: an error naming both lines.
    let e = both("offsets.csv", &opts("UTC")).map(|_| ()).expect_err("another date");
    assert!(e.ends_with("offsets.csv:14: order id \"11\" was already used on line 12 for customer K6 on 2024-03-31; here it is K6 on 2024-04-01 — an order id must name one order"), "{e}");
}

#[test]
fn failed_pending_chargeback_and_partial_refunds() {
    // Counted (hand): 1 A 100 − 30 (refunded, line 15) = 70; 6 C 90 (paid); 7 D 40 (shipped);
    // 9 E 120 − 20 (Refund, line 20) = 100; 13 G 0.00 (a free order, nothing refunded: counts);
    // 16 H 64. Not counted: failed, pending, chargeback, void, declined, on-hold, Cancelled,
    // Partially Refunded, unpaid, and 11 (charged back in full, line 16). 6 orders, 364.00.
    for o in [opts("UTC"), skipping(opts("UTC"))] {
        let (f, a) = both("statuses.csv", &o).expect("statuses");
        assert_eq!((f.rows, f.refund_rows, f.excluded_by_status), (19, 3, 9));
        assert_eq!((f.log.n_orders(), revenue(&f)), (6, 36_400));
        assert_eq!(amounts(&f, "A"), [7_000]);
        assert_eq!(amounts(&f, "E"), [10_000]);
        assert_eq!(amounts(&f, "G"), [0]);
        assert!(f.log.customer_ids().iter().all(|c| c != "B" && c != "F"));
        let st = |id: &str| a.orders.iter().find(|o| o.external_id == id).map(|o| o.status);
        assert_eq!(
            ["2", "3", "4", "5", "8", "10", "11", "12", "14", "15"].map(st),
            [
                OrderStatus::Failed,
                OrderStatus::Pending,
                OrderStatus::Chargeback,
                OrderStatus::Failed,
                OrderStatus::Failed,
                OrderStatus::Pending,
                OrderStatus::Refunded,
                OrderStatus::Cancelled,
                OrderStatus::Refunded,
                OrderStatus::Pending
            ]
            .map(Some)
        );
        assert_eq!(a.orders.len(), 16);
    }
}

#[test]
fn refunds_that_name_no_order() {
    // Line 6 (a negative amount with a sale status) is a row error: reported alone, as reading
    // stops before orders are made. Skipping: lines 3 (no order id), 4 (no order 77) and 5 (order 1
    // is A's, not B's) are skipped too, after it.
    let e = both("refund_errors.csv", &opts("UTC")).map(|_| ()).expect_err("negative sale");
    assert!(e.ends_with("refund_errors.csv:6: column \"amount\": \"-20.00\" is negative but the status is not a refund or cancellation"), "{e}");
    let (f, _) = both("refund_errors.csv", &skipping(opts("UTC"))).expect("skipped");
    assert_eq!((f.log.n_orders(), revenue(&f), f.skipped), (2, 12_000, 4));
    let tail: Vec<String> = f.skip_reasons.iter().map(|r| r.rsplit_once("refund_errors.csv").map(|x| x.1.to_string()).unwrap_or_default()).collect();
    assert_eq!(
        tail,
        [
            ":6: column \"amount\": \"-20.00\" is negative but the status is not a refund or cancellation",
            ":3: a refund of 10.00 names no order id — a partial refund lowers the order with the same order id",
            ":4: a refund of 5.00 for order id \"77\", but no order has this id",
            ":5: a refund of 5.00 for order id \"1\" of customer B, but that order (line 2) is customer A's — an order id must name one order",
        ]
    );
}

#[test]
fn dates_outside_the_accepted_range_are_bad_rows() {
    // 9999-12-31 once made a report size a cohort table by 96,000 months squared (73 GB) and
    // abort; 0000-01-01 took 74 s and 9.2 GB for 8 orders. Both paths now refuse such a date as a
    // bad row naming its line, column and value, and skip it (counted) with skip_bad_rows.
    // Accepted: 1900-01-01 (line 10) to tomorrow. The cancelled row dated 6022 (line 9) is not a
    // sale: its date is unreadable, so it is left out, as any such row.
    let e = both("far_dates.csv", &opts("UTC")).map(|_| ()).expect_err("far dates");
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 4, "{e}");
    for (l, (line, value)) in lines.iter().zip([(4, "9999-12-31"), (6, "0000-01-01"), (7, "1899-12-31 23:59"), (8, "2222-02-22")]) {
        let want = format!("far_dates.csv:{line}: column \"date\": \"{value}\" is outside the accepted dates (expected a date from 1900-01-01 to ");
        assert!(l.contains(&want), "{l}");
    }
    let (f, a) = both("far_dates.csv", &skipping(opts("UTC"))).expect("skipped");
    assert_eq!((f.log.n_orders(), revenue(&f), f.skipped), (4, 4_900, 4));
    assert_eq!(amounts(&f, "C1"), [400, 1_000, 1_500]);
    assert_eq!(a.orders.len(), 4);
    // A range given by the caller: 2222-02-22 and 1899-12-31 are then ordinary dates.
    let wide = ImportOptions { dates: "1800-01-01..2300-01-01".parse().expect("range"), ..skipping(opts("UTC")) };
    let (f, _) = both("far_dates.csv", &wide).expect("wide");
    assert_eq!((f.log.n_orders(), f.skipped), (6, 2));
}

#[test]
fn date_ranges_parse() {
    use holdfast_import::DateRange;
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    let r: DateRange = "1990-01-01..2030-12-31".parse().expect("range");
    assert_eq!((r.earliest, r.latest), (d("1990-01-01"), d("2030-12-31")));
    let r: DateRange = "..2030-12-31".parse().expect("open start");
    assert_eq!((r.earliest, r.latest), (DateRange::EARLIEST, d("2030-12-31")));
    assert_eq!("2000-01-01..".parse::<DateRange>().expect("open end").latest, DateRange::default().latest);
    for bad in ["2030-01-01..1990-01-01", "1990", "a..b", "1990-01-01-2000-01-01"] {
        assert!(bad.parse::<DateRange>().is_err(), "{bad}");
    }
}
