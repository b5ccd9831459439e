//! Properties of the generated data: determinism, planted chains, statuses, file shape.

use chrono::NaiveDateTime;
use holdfast_synth::{generate, generate_log, write_csv, Chain, Config, Error, Status};

fn csv_bytes(cfg: &Config) -> Vec<u8> {
    let mut out = Vec::new();
    write_csv(cfg, &mut out, &mut |_| {}).expect("generation succeeds");
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = csv_bytes(&Config::new(3_000, 7));
    let b = csv_bytes(&Config::new(3_000, 7));
    let c = csv_bytes(&Config::new(3_000, 8));
    assert_eq!(a, b);
    assert_ne!(a, c);
    // The number of threads does not change a byte.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool");
    let single = pool.install(|| csv_bytes(&Config::new(3_000, 7)));
    assert_eq!(a, single);
}

#[test]
fn file_parses_and_matches_the_in_memory_rows() {
    let cfg = Config::new(2_000, 3);
    let text = String::from_utf8(csv_bytes(&cfg)).expect("UTF-8");
    let d = generate(&cfg).expect("generation succeeds");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(holdfast_synth::HEADER));
    let mut last = String::new();
    let mut n = 0;
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 8, "line {line}");
        let o = &d.orders[i];
        assert_eq!(f[0], (i + 1).to_string());
        assert_eq!(f[1], d.customer_id(o.customer));
        let at = NaiveDateTime::parse_from_str(f[2], "%Y-%m-%d %H:%M:%S").expect("a timestamp");
        assert_eq!(at.and_utc().timestamp(), o.at);
        assert!(f[2].to_string() >= last, "rows are in time order");
        last = f[2].to_string();
        let (units, cents) = f[3].split_once('.').expect("a decimal point");
        assert_eq!(cents.len(), 2);
        assert_eq!(units.parse::<i64>().expect("units") * 100 + cents.parse::<i64>().expect("cents"), o.amount_minor);
        assert!(o.amount_minor > 0);
        assert_eq!(f[4], o.status.as_str());
        assert_eq!(f[5], o.product_name());
        assert_eq!(f[6], o.category_name());
        assert_eq!(f[7].parse::<u32>().expect("quantity"), o.quantity);
        assert!(o.at >= d.truth.start && o.at < d.truth.end);
        n += 1;
    }
    assert_eq!(n as u64, d.truth.orders);
    assert_eq!(d.orders.len() as u64, d.truth.orders);
}

#[test]
fn about_ten_orders_per_customer_and_two_percent_refunds() {
    let d = generate(&Config::new(20_000, 11)).expect("generation succeeds");
    let t = &d.truth;
    let per_customer = t.orders as f64 / t.customers as f64;
    assert!((9.0..11.0).contains(&per_customer), "{per_customer} orders per customer");
    let bad = (t.refunded + t.cancelled) as f64 / t.orders as f64;
    assert!((0.017..0.023).contains(&bad), "refunded or cancelled share {bad}");
    assert_eq!(t.completed + t.refunded + t.cancelled, t.orders);
    let log = d.order_log();
    assert_eq!(log.n_orders() as u64, t.completed);
    assert_eq!(log.n_customers() as u32, t.active_customers);
    // Heterogeneity: many one-order customers and a long tail of frequent ones.
    let counts: Vec<usize> = (0..log.n_customers() as u32).map(|c| log.orders_of(c).len()).collect();
    let ones = counts.iter().filter(|&&k| k == 1).count() as f64 / counts.len() as f64;
    let many = counts.iter().filter(|&&k| k >= 20).count() as f64 / counts.len() as f64;
    assert!((0.05..0.25).contains(&ones), "one-order share {ones}");
    assert!((0.05..0.25).contains(&many), "20+ order share {many}");
}

#[test]
fn december_is_the_peak_month() {
    let d = generate(&Config::new(10_000, 5)).expect("generation succeeds");
    // Orders in 2023 by month (the middle year: past the ramp-up of acquisition).
    let mut by_month = [0u32; 12];
    for o in &d.orders {
        let dt = chrono::DateTime::from_timestamp(o.at, 0).expect("a time").naive_utc();
        if chrono::Datelike::year(&dt) == 2023 {
            by_month[chrono::Datelike::month0(&dt) as usize] += 1;
        }
    }
    let max = by_month.iter().max().copied().unwrap_or(0);
    assert_eq!(by_month[11], max, "{by_month:?}");
}

/// Recomputes the landing-page → analytics share from the `OrderLog` independently of the
/// generator's own bookkeeping: customers whose first landing-page order is at least 60 days before
/// the end, and of them those with an analytics order within 60 days after it.
#[test]
fn planted_chain_is_found_in_the_order_log() {
    let cfg = Config::new(20_000, 42);
    let (log, truth) = generate_log(&cfg).expect("generation succeeds");
    let ct = truth.chains.iter().find(|c| c.chain.from == "landing-page").expect("the default chain");
    let share = ct.observed_share.expect("eligible buyers");
    assert!((share - 0.40).abs() < 0.04, "observed share {share}");
    let delay = ct.median_delay_days.expect("a delay");
    assert!((25.0..35.0).contains(&delay), "median delay {delay}");

    let cat = log.catalog();
    let lp = cat.products.iter().position(|p| p == "landing-page").expect("landing-page") as u32;
    let an = cat.products.iter().position(|p| p == "analytics").expect("analytics") as u32;
    let window = 60 * 86_400;
    let (mut eligible, mut followed) = (0u64, 0u64);
    for c in 0..log.n_customers() as u32 {
        let rows = log.orders_of(c);
        let t = log.at();
        let Some(first) = rows.clone().find(|&o| log.products_of_order(o).contains(&lp)) else { continue };
        if t[first] + window > truth.end {
            continue;
        }
        eligible += 1;
        if rows.clone().any(|o| log.products_of_order(o).contains(&an) && t[o] > t[first] && t[o] - t[first] <= window) {
            followed += 1;
        }
    }
    assert_eq!((eligible, followed), (ct.eligible, ct.followed));
    assert!(eligible > 1_000, "{eligible} buyers of landing-page");

    // A pair that was not planted is far weaker: of the first gift-card buyers, few buy
    // brake-pads within 60 days.
    let gc = cat.products.iter().position(|p| p == "gift-card").expect("gift-card") as u32;
    let bp = cat.products.iter().position(|p| p == "brake-pads").expect("brake-pads") as u32;
    let (mut e2, mut f2) = (0u64, 0u64);
    for c in 0..log.n_customers() as u32 {
        let rows = log.orders_of(c);
        let t = log.at();
        let Some(first) = rows.clone().find(|&o| log.products_of_order(o).contains(&gc)) else { continue };
        if t[first] + window > truth.end {
            continue;
        }
        e2 += 1;
        if rows.clone().any(|o| log.products_of_order(o).contains(&bp) && t[o] > t[first] && t[o] - t[first] <= window) {
            f2 += 1;
        }
    }
    assert!((f2 as f64 / e2 as f64) < 0.1, "gift-card -> brake-pads {f2}/{e2}");
}

#[test]
fn custom_chain_replaces_the_defaults() {
    let mut cfg = Config::new(20_000, 9);
    cfg.chains = vec!["wipers:towels:0.6:20".parse::<Chain>().expect("a chain")];
    let d = generate(&cfg).expect("generation succeeds");
    assert_eq!(d.truth.chains.len(), 1);
    let share = d.truth.chains[0].observed_share.expect("eligible buyers");
    assert!((share - 0.6).abs() < 0.05, "observed share {share}");
    // Without the default chains, analytics is an ordinary (damping-free) product again.
    assert!(d.orders.iter().any(|o| o.product_name() == "analytics"));
    assert!(d.orders.iter().all(|o| o.status != Status::Completed || o.quantity >= 1));
}

#[test]
fn bad_configurations_are_errors() {
    assert!(matches!(generate(&Config::new(0, 1)), Err(Error::Customers { .. })));
    let mut cfg = Config::new(10, 1);
    cfg.months = 0;
    assert!(matches!(generate(&cfg), Err(Error::Months(0))));
    for bad in ["a:b:0.4", "a:b:x:60", "a:b:1.5:60", "a:b:0.4:0", "a:b:0.4:-3", ":b:0.4:60"] {
        assert!(matches!(bad.parse::<Chain>(), Err(Error::ChainSyntax { .. })), "{bad}");
    }
    let mut cfg = Config::new(10, 1);
    cfg.chains = vec![Chain::new("soap", "oil", 0.5, 30)];
    let e = generate(&cfg).expect_err("unknown product");
    assert!(e.to_string().contains("unknown product \"soap\""), "{e}");
    assert!(e.to_string().contains("landing-page"), "{e}");
}
