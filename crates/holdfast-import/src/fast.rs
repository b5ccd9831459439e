//! The fast path of [`crate::read_orders`]: blocks parsed in parallel (rayon) while the next ones
//! are read, customers interned per block and then into one table, orders kept columnar.
//!
//! Line numbers are known only once the blocks before are counted, so a worker keeps the fields
//! of its first bad records and the messages are made afterwards, with absolute lines.

use crate::engine::{decode_block, utf8_facts, Block, Origin, RecErr, Records, Source, BLOCK};
use crate::rows::{check_map_fields, column_names, OrderPlan, Problems, SlashEvidence};
use crate::{ImportError, ImportOptions, OrdersFile, MAX_LISTED};
use holdfast_core::{Catalog, OrderLines, OrderLog};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};
use std::borrow::Cow;
use std::hash::{Hash, Hasher};

enum Fatal {
    Rec(RecErr),
    /// Not UTF-8 at line `bad`; `good`: an earlier line of the block with UTF-8 text.
    Utf8 { good: Option<u64>, bad: u64 },
}

#[derive(Default)]
struct BlockOut {
    lines: u64,
    rows: usize,
    excluded: usize,
    fatal: Option<Fatal>,
    /// Relative line and fields of the first bad records.
    bad: Vec<(u64, Vec<String>)>,
    n_bad: usize,
    utf8_good: Option<u64>,
    ev: SlashEvidence,
    /// Customer ids in local index order.
    names: Vec<String>,
    cust: Vec<u32>,
    at: Vec<i64>,
    amount: Vec<i64>,
    products: Vec<(String, Option<String>)>,
    product: Vec<u32>,
    qty: Vec<u32>,
    /// Line offsets per order (local), length orders + 1 when the file has products.
    line_off: Vec<u32>,
    /// Order id hash per order, unless the block's ids are increasing numbers.
    keys: Option<Vec<u64>>,
    first_id: Option<String>,
    last_id: Option<String>,
    id_first_num: Option<u64>,
    id_last_num: Option<u64>,
    ids_increasing: bool,
}

fn parse_block(plan: &OrderPlan, block: &Block, enc: &'static encoding_rs::Encoding, delim: u8, force_keys: bool) -> BlockOut {
    let mut out = BlockOut { ids_increasing: true, ..Default::default() };
    let text = match decode_block(enc, &block.raw) {
        Ok(t) => t,
        Err(_) => {
            let (good, bad) = utf8_facts(&block.raw);
            out.fatal = Some(Fatal::Utf8 { good, bad: bad.unwrap_or(0) });
            return out;
        }
    };
    if enc == encoding_rs::UTF_8 && !block.raw.is_ascii() {
        out.utf8_good = utf8_facts(&block.raw).0;
    }
    let cap = block.raw.len() / 64 + 16;
    out.cust.reserve(cap);
    out.at.reserve(cap);
    out.amount.reserve(cap);
    let has_lines = plan.pi.is_some();
    let has_ids = plan.oi.is_some();
    if has_lines {
        out.line_off.reserve(cap + 1);
        out.line_off.push(0);
    }
    let mut keys: Vec<u64> = Vec::new();
    let mut local: FxHashMap<String, u32> = FxHashMap::default();
    local.reserve(cap / 2);
    let mut prod_local: FxHashMap<String, u32> = FxHashMap::default();
    let mut last_order: Option<u32> = None;
    let mut last_id = String::new();
    let mut recs = Records::new(&text, delim);
    let mut f: Vec<Cow<str>> = Vec::with_capacity(plan.headers.len());
    // Slash evidence is ordered across blocks by (block, line).
    let tag = (block.index as u64) << 40;
    loop {
        let rel = match recs.next(&mut f) {
            None => break,
            Some(Ok(l)) => l,
            Some(Err(e)) => {
                out.fatal = Some(Fatal::Rec(match (block.overflow, e) {
                    (true, RecErr::Unterminated { line }) => RecErr::TooLong { line },
                    (_, e) => e,
                }));
                return out;
            }
        };
        if f.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.rows += 1;
        let res = plan.parse(&f, tag + rel, &mut out.ev).and_then(|p| {
            if p.is_some() {
                plan.check_currency_cell(&f, tag + rel)?;
            }
            Ok(p)
        });
        let p = match res {
            Ok(Some(p)) => p,
            Ok(None) => {
                out.excluded += 1;
                continue;
            }
            Err(_) => {
                out.n_bad += 1;
                if out.bad.len() <= MAX_LISTED {
                    out.bad.push((rel, f.iter().map(|c| c.to_string()).collect()));
                }
                continue;
            }
        };
        let c = match local.get(p.customer) {
            Some(&c) => c,
            None => {
                let c = local.len() as u32;
                local.insert(p.customer.to_string(), c);
                c
            }
        };
        let mut merged = false;
        if has_ids {
            if let Some(id) = p.order_id {
                if last_order == Some(c) && last_id == id {
                    merged = true;
                } else {
                    let num = if id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit()) { id.parse::<u64>().ok() } else { None };
                    match (num, out.id_last_num) {
                        (Some(n), Some(prev)) if n > prev => {}
                        (Some(_), None) if out.first_id.is_none() => {}
                        _ => out.ids_increasing = false,
                    }
                    if out.first_id.is_none() {
                        out.first_id = Some(id.to_string());
                        out.id_first_num = num;
                    }
                    out.id_last_num = num;
                    let mut h = FxHasher::default();
                    id.hash(&mut h);
                    keys.push(h.finish());
                    last_order = Some(c);
                    last_id.clear();
                    last_id.push_str(id);
                }
            } else {
                out.ids_increasing = false;
                keys.push(u64::MAX);
                last_order = None;
            }
        }
        if merged {
            let o = out.at.len() - 1;
            out.amount[o] = out.amount[o].saturating_add(p.minor);
            out.at[o] = out.at[o].min(p.at);
        } else {
            out.cust.push(c);
            out.at.push(p.at);
            out.amount.push(p.minor);
            if has_lines {
                out.line_off.push(out.product.len() as u32);
            }
        }
        if has_lines {
            if let Some(name) = p.product {
                let k = match prod_local.get(name) {
                    Some(&k) => k,
                    None => {
                        let k = out.products.len() as u32;
                        out.products.push((name.to_string(), None));
                        prod_local.insert(name.to_string(), k);
                        k
                    }
                };
                if let Some(cat) = p.category {
                    let slot = &mut out.products[k as usize].1;
                    if slot.as_deref() != Some(cat) {
                        *slot = Some(cat.to_string());
                    }
                }
                out.product.push(k);
                out.qty.push(p.quantity);
                if let Some(last) = out.line_off.last_mut() {
                    *last = out.product.len() as u32;
                }
            }
        }
    }
    out.lines = recs.line;
    out.last_id = last_order.map(|_| last_id);
    out.names = vec![String::new(); local.len()];
    for (name, c) in local {
        out.names[c as usize] = name;
    }
    if has_ids && (!out.ids_increasing || force_keys) {
        out.keys = Some(keys);
    }
    out
}

/// Columns of the whole file, filled block by block.
#[derive(Default)]
struct Merged {
    index: FxHashMap<Box<str>, u32>,
    n_customers: u32,
    cust: Vec<u32>,
    at: Vec<i64>,
    amount: Vec<i64>,
    products: FxHashMap<String, u32>,
    catalog: Catalog,
    categories: FxHashMap<String, u32>,
    product: Vec<u32>,
    qty: Vec<u32>,
    line_off: Vec<u32>,
    keys: Vec<u64>,
    need_keys: bool,
    keys_missing: bool,
    last_num: Option<u64>,
    last_id: Option<(u32, String)>,
}

/// Reads an orders file into an [`OrdersFile`] (see [`crate::read_orders`]).
pub(crate) fn read(path: String, origin: Origin, opts: &ImportOptions, progress: &dyn Fn(u64, u64)) -> Result<OrdersFile, ImportError> {
    read_with(path, origin, opts, progress, false)
}

fn read_with(path: String, origin: Origin, opts: &ImportOptions, progress: &dyn Fn(u64, u64), force_keys: bool) -> Result<OrdersFile, ImportError> {
    check_map_fields(opts)?;
    let mut src = Source::open(path, origin.clone(), opts, BLOCK)?;
    let whole = src.sample().len() as u64 + src.done >= src.total;
    let plan = OrderPlan::new(&src, opts, whole)?;
    let (enc, delim) = (src.encoding, src.delimiter);
    let has_lines = plan.pi.is_some();
    let has_ids = plan.oi.is_some();
    let batch = rayon::current_num_threads().max(1);

    let mut m = Merged::default();
    if has_lines {
        m.line_off.push(0);
    }
    let mut base = src.header_lines;
    let mut rows = 0usize;
    let mut excluded = 0usize;
    let mut errors = Problems::default();
    let mut ev = SlashEvidence::default();
    let mut utf8_line: Option<u64> = None;
    let mut pending: Vec<Block> = read_batch(&mut src, batch)?;
    while !pending.is_empty() {
        // Parse this batch while the next one is read.
        let (outs, next) = rayon::join(
            || pending.par_iter().map(|b| parse_block(&plan, b, enc, delim, force_keys)).collect::<Vec<_>>(),
            || read_batch(&mut src, batch),
        );
        drop(std::mem::take(&mut pending));
        for out in outs {
            if let Some(f) = &out.fatal {
                return Err(match f {
                    Fatal::Rec(e) => e.into_error(&plan.path, base),
                    Fatal::Utf8 { good, bad } => match utf8_line.or(good.map(|g| base + g + 1)) {
                        Some(u) => ImportError::MixedEncoding { path: plan.path.clone(), utf8_line: u, other_line: base + bad + 1 },
                        None => ImportError::Csv { path: plan.path.clone(), line: base + bad + 1, message: "the text is not valid UTF-8 (use --encoding)".into() },
                    },
                });
            }
            if utf8_line.is_none() {
                utf8_line = out.utf8_good.map(|g| base + g + 1);
            }
            rows += out.rows;
            excluded += out.excluded;
            // Messages for the bad rows, now that their lines are known.
            for (rel, fields) in &out.bad {
                let cows: Vec<Cow<str>> = fields.iter().map(|s| Cow::Borrowed(s.as_str())).collect();
                let line = base + rel + 1;
                let msg = match plan.parse(&cows, line, &mut SlashEvidence::default()).and_then(|p| {
                    if p.is_some() {
                        plan.check_currency_cell(&cows, line)?;
                    }
                    Ok(())
                }) {
                    Err(e) => e,
                    Ok(()) => format!("{}:{line}: the row cannot be read", plan.path),
                };
                if errors.listed.len() < MAX_LISTED {
                    errors.listed.push(msg);
                }
            }
            errors.count += out.n_bad;
            ev.merge(out.ev.clone());
            base += out.lines;
            append(&mut m, out, has_lines, has_ids);
        }
        progress(src.done, src.total);
        pending = next?;
    }
    if m.need_keys && m.keys_missing && !force_keys {
        return read_with(plan.path.clone(), origin, opts, progress, true);
    }
    if rows == 0 {
        return Err(ImportError::NoRows { path: plan.path.clone() });
    }
    if ev.is_mixed() {
        ev.decide(&plan.path, &plan.headers[plan.di])?;
    }
    let skipped = if opts.skip_bad_rows { errors.count } else { 0 };
    if errors.count > 0 && !opts.skip_bad_rows {
        return Err(ImportError::Rows { errors: errors.listed, total: errors.count });
    }
    if m.need_keys {
        merge_same_orders(&mut m, has_lines);
    }
    m.keys = Vec::new();
    let customer_ids = customer_names(&mut m);
    let lines = has_lines.then(|| OrderLines {
        offsets: std::mem::take(&mut m.line_off),
        product: std::mem::take(&mut m.product),
        quantity: std::mem::take(&mut m.qty),
    });
    let log = OrderLog::from_columns(
        customer_ids,
        std::mem::take(&mut m.cust),
        std::mem::take(&mut m.at),
        std::mem::take(&mut m.amount),
        plan.currency,
        lines,
        std::mem::take(&mut m.catalog),
    );
    progress(src.total, src.total);
    Ok(OrdersFile {
        log,
        rows,
        excluded_by_status: excluded,
        skipped,
        skip_reasons: if opts.skip_bad_rows { errors.listed } else { Vec::new() },
        currency: plan.currency,
        currency_assumed: plan.currency_assumed,
        encoding: enc.name(),
        delimiter: delim,
        columns: column_names(&plan),
    })
}

fn read_batch(src: &mut Source, n: usize) -> Result<Vec<Block>, ImportError> {
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        match src.next_block()? {
            Some(b) => v.push(b),
            None => break,
        }
    }
    Ok(v)
}

/// Customer names in index order (the interning table is consumed).
fn customer_names(m: &mut Merged) -> Vec<String> {
    let mut names: Vec<String> = vec![String::new(); m.n_customers as usize];
    for (k, i) in std::mem::take(&mut m.index) {
        names[i as usize] = k.into_string();
    }
    names
}

fn append(m: &mut Merged, out: BlockOut, has_lines: bool, has_ids: bool) {
    // Customers: local → global.
    let mut remap = Vec::with_capacity(out.names.len());
    for name in &out.names {
        let g = match m.index.get(name.as_str()) {
            Some(&g) => g,
            None => {
                let g = m.n_customers;
                m.n_customers += 1;
                m.index.insert(name.as_str().into(), g);
                g
            }
        };
        remap.push(g);
    }
    let prod_map: Vec<u32> = out
        .products
        .iter()
        .map(|(name, cat)| {
            let p = match m.products.get(name) {
                Some(&p) => p,
                None => {
                    let p = m.catalog.products.len() as u32;
                    m.catalog.products.push(name.clone());
                    m.catalog.category_of.push(None);
                    m.products.insert(name.clone(), p);
                    p
                }
            };
            if let Some(c) = cat {
                let ci = match m.categories.get(c) {
                    Some(&ci) => ci,
                    None => {
                        let ci = m.catalog.categories.len() as u32;
                        m.catalog.categories.push(c.clone());
                        m.categories.insert(c.clone(), ci);
                        ci
                    }
                };
                m.catalog.category_of[p as usize] = Some(ci);
            }
            p
        })
        .collect();
    let n = out.cust.len();
    let mut first = 0usize;
    // The first order may continue the last order of the previous block.
    if has_ids && n > 0 {
        if let (Some((lc, lid)), Some(fid)) = (&m.last_id, &out.first_id) {
            if *lc == remap[out.cust[0] as usize] && lid == fid && !m.at.is_empty() {
                let o = m.at.len() - 1;
                m.amount[o] = m.amount[o].saturating_add(out.amount[0]);
                m.at[o] = m.at[o].min(out.at[0]);
                if has_lines {
                    let r = out.line_off[0] as usize..out.line_off[1] as usize;
                    m.product.extend(out.product[r.clone()].iter().map(|&p| prod_map[p as usize]));
                    m.qty.extend_from_slice(&out.qty[r]);
                    if let Some(last) = m.line_off.last_mut() {
                        *last = m.product.len() as u32;
                    }
                }
                first = 1;
            }
        }
        // Order ids must keep increasing across blocks for the per-block check to hold.
        if out.ids_increasing {
            if let (Some(prev), Some(f)) = (m.last_num, out.id_first_num) {
                if f <= prev && first == 0 {
                    m.need_keys = true;
                }
            }
        } else {
            m.need_keys = true;
        }
        match &out.keys {
            Some(k) => m.keys.extend_from_slice(&k[first..]),
            None => {
                m.keys_missing = true;
            }
        }
        if out.id_last_num.is_some() || !out.ids_increasing {
            m.last_num = out.id_last_num;
        }
        if let Some(lid) = &out.last_id {
            m.last_id = Some((remap[out.cust[n - 1] as usize], lid.clone()));
        }
    }
    let cap = |v: &mut Vec<u32>| v.reserve(n);
    cap(&mut m.cust);
    m.cust.extend(out.cust[first..].iter().map(|&c| remap[c as usize]));
    m.at.extend_from_slice(&out.at[first..]);
    m.amount.extend_from_slice(&out.amount[first..]);
    if has_lines {
        let lstart = out.line_off.get(first).copied().unwrap_or(0) as usize;
        let base = m.product.len() as u32 - lstart as u32;
        m.product.extend(out.product[lstart..].iter().map(|&p| prod_map[p as usize]));
        m.qty.extend_from_slice(&out.qty[lstart..]);
        m.line_off.extend(out.line_off[first + 1..].iter().map(|&o| o + base));
    }
}

/// Orders of one customer sharing an order id (not adjacent in the file) become one order.
fn merge_same_orders(m: &mut Merged, has_lines: bool) {
    let n = m.cust.len();
    if m.keys.len() != n {
        return;
    }
    let nc = m.n_customers as usize;
    let mut off = vec![0u32; nc + 1];
    for &c in &m.cust {
        off[c as usize + 1] += 1;
    }
    for i in 0..nc {
        off[i + 1] += off[i];
    }
    let mut next = off[..nc].to_vec();
    let mut perm = vec![0u32; n];
    for (i, &c) in m.cust.iter().enumerate() {
        perm[next[c as usize] as usize] = i as u32;
        next[c as usize] += 1;
    }
    drop(next);
    // target[i]: the order row i is merged into (itself when first of its id).
    let mut target: Vec<u32> = (0..n as u32).collect();
    let mut any = false;
    let mut group: Vec<(u64, u32)> = Vec::new();
    for c in 0..nc {
        let rows = &perm[off[c] as usize..off[c + 1] as usize];
        if rows.len() < 2 {
            continue;
        }
        group.clear();
        group.extend(rows.iter().map(|&i| (m.keys[i as usize], i)));
        group.sort_unstable();
        for w in 1..group.len() {
            let (k0, i0) = group[w - 1];
            let (k1, i1) = group[w];
            if k0 == k1 && k0 != u64::MAX {
                target[i1 as usize] = target[i0 as usize];
                any = true;
            }
        }
    }
    drop(perm);
    drop(off);
    if !any {
        return;
    }
    let mut cust = Vec::new();
    let mut at = Vec::new();
    let mut amount = Vec::new();
    let mut new_index = vec![u32::MAX; n];
    let mut members: Vec<Vec<u32>> = Vec::new();
    for i in 0..n {
        let t = target[i] as usize;
        if t == i {
            new_index[i] = cust.len() as u32;
            cust.push(m.cust[i]);
            at.push(m.at[i]);
            amount.push(m.amount[i]);
            members.push(vec![i as u32]);
        } else {
            let o = new_index[t] as usize;
            amount[o] = amount[o].saturating_add(m.amount[i]);
            at[o] = at[o].min(m.at[i]);
            members[o].push(i as u32);
        }
    }
    if has_lines {
        let mut product = Vec::with_capacity(m.product.len());
        let mut qty = Vec::with_capacity(m.qty.len());
        let mut line_off = Vec::with_capacity(cust.len() + 1);
        line_off.push(0);
        for mem in &members {
            for &i in mem {
                let r = m.line_off[i as usize] as usize..m.line_off[i as usize + 1] as usize;
                product.extend_from_slice(&m.product[r.clone()]);
                qty.extend_from_slice(&m.qty[r]);
            }
            line_off.push(product.len() as u32);
        }
        m.product = product;
        m.qty = qty;
        m.line_off = line_off;
    }
    m.cust = cust;
    m.at = at;
    m.amount = amount;
}
