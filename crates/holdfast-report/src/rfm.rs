//! The RFM grid of the retention report: customers and revenue by recency score × frequency score,
//! and how many customers hold each monetary score.
//!
//! Scores come from `holdfast_core::rfm` (1–5, `1 + ⌊5 b / n⌋` with `b` the customers strictly worse,
//! 5 best, the worst value always 1; see METRICS.md).
//! The grid is the classic way to see the customer base at a glance: top-right (recent and
//! frequent) are the best customers, bottom-right (frequent but long silent) the ones to win back.

use crate::html::{Page, Section};
use crate::locale::Lang;
use crate::svg::{heat_map, Axes, HeatCell};
use crate::table::Table;
use holdfast_core::{Instant, OrderLog};
use serde::Serialize;

/// One cell of the grid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RfmCell {
    pub customers: usize,
    /// Revenue to date of these customers, major units.
    pub revenue: f64,
}

/// Customers and revenue by RFM scores at the as-of date.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RfmGrid {
    /// Customers with an order before the as-of date.
    pub customers: usize,
    /// Revenue to date of all of them, major units.
    pub revenue: f64,
    /// `cells[r - 1][f - 1]`: customers with recency score `r` and frequency score `f`.
    pub cells: Vec<Vec<RfmCell>>,
    /// Customers per recency score 1..=5.
    pub recency: Vec<usize>,
    /// Customers per frequency score 1..=5.
    pub frequency: Vec<usize>,
    /// Customers per monetary score 1..=5.
    pub monetary: Vec<usize>,
}

impl RfmGrid {
    pub fn compute(log: &OrderLog, as_of: Instant) -> RfmGrid {
        let k = log.currency().minor_per_major().max(1) as f64;
        let mut g =
            RfmGrid { cells: vec![vec![RfmCell::default(); 5]; 5], recency: vec![0; 5], frequency: vec![0; 5], monetary: vec![0; 5], ..Default::default() };
        let mut minor = [[0i128; 5]; 5];
        let mut total = 0i128;
        for x in holdfast_core::rfm::rfm(log, as_of) {
            let (r, f, m) = (score(x.recency_score), score(x.frequency_score), score(x.monetary_score));
            g.customers += 1;
            g.cells[r][f].customers += 1;
            minor[r][f] += x.monetary as i128;
            total += x.monetary as i128;
            g.recency[r] += 1;
            g.frequency[f] += 1;
            g.monetary[m] += 1;
        }
        for (row, sums) in g.cells.iter_mut().zip(minor) {
            for (cell, s) in row.iter_mut().zip(sums) {
                cell.revenue = s as f64 / k;
            }
        }
        g.revenue = total as f64 / k;
        g
    }

    /// Share of all revenue held by one cell (`None` without revenue).
    fn revenue_share(&self, c: &RfmCell) -> Option<f64> {
        (self.revenue > 0.0).then(|| c.revenue / self.revenue)
    }

    fn table(&self, l: Lang) -> Table {
        let mut t = Table::new(&[l.t("Recency \\ frequency", "Давность \\ частота"), "F1", "F2", "F3", "F4", "F5", l.t("Customers", "Клиенты")]);
        for r in (0..5).rev() {
            let mut row = vec![label(r)];
            row.extend(self.cells[r].iter().map(|c| format!("{} ({})", l.count(c.customers as i64), l.pct(self.revenue_share(c)))));
            row.push(l.count(self.recency[r] as i64));
            t.row(row);
        }
        let mut last = vec![l.t("Customers", "Клиенты").to_string()];
        last.extend(self.frequency.iter().map(|&n| l.count(n as i64)));
        last.push(l.count(self.customers as i64));
        t.row(last);
        t.note(l.t(
            "Each cell: customers (share of all revenue). R5 = ordered most recently, F5 = most orders.",
            "В клетке: клиенты (доля всей выручки). R5 — заказывали позже всех, F5 — больше всего заказов.",
        ));
        t
    }

    fn heat(&self, l: Lang) -> String {
        let top = self.cells.iter().flatten().map(|c| c.customers).max().unwrap_or(0).max(1) as f64;
        let rows: Vec<String> = (0..5).rev().map(label).collect();
        let cols: Vec<String> = (1..=5).map(|f| format!("F{f}")).collect();
        let cells: Vec<Vec<Option<HeatCell>>> = (0..5)
            .rev()
            .map(|r| {
                self.cells[r]
                    .iter()
                    .enumerate()
                    .map(|(f, c)| {
                        let (n, rev, share) = (l.count(c.customers as i64), l.money_short(c.revenue), l.pct(self.revenue_share(c)));
                        Some(HeatCell {
                            intensity: c.customers as f64 / top,
                            text: l.count(c.customers as i64),
                            title: match l {
                                Lang::En => format!("recency {} × frequency {}: {n} customers, {rev} revenue ({share} of all)", r + 1, f + 1),
                                Lang::Ru => format!("давность {} × частота {}: клиентов {n}, выручка {rev} ({share} всей)", r + 1, f + 1),
                            },
                            complete: true,
                        })
                    })
                    .collect()
            })
            .collect();
        heat_map(
            l.t("RFM grid: customers by recency and frequency score", "RFM-сетка: клиенты по оценкам давности и частоты"),
            &rows,
            &cols,
            &cells,
            &Axes::new(l, l.t("frequency score (F5: most orders)", "оценка частоты (F5 — больше всего заказов)"), l.t("recency score", "оценка давности")),
        )
    }
}

fn score(s: u8) -> usize {
    (s.clamp(1, 5) - 1) as usize
}

fn label(r: usize) -> String {
    format!("R{}", r + 1)
}

impl Section for RfmGrid {
    fn id(&self) -> &str {
        "rfm"
    }

    fn title(&self, l: Lang) -> String {
        l.t("RFM grid: recency × frequency", "RFM-сетка: давность × частота").to_string()
    }

    fn intro(&self, l: Lang) -> String {
        l.t(
            "Every customer scored 1–5 on recency (how lately they ordered), frequency (how many orders) and monetary value (how much they spent), by quintiles: 5 is best.",
            "Каждый клиент получает оценки 1–5 по давности (как недавно заказывал), частоте (сколько заказов) и сумме (сколько потратил), по квинтилям: 5 — лучшая.",
        )
        .to_string()
    }

    fn html(&self, page: &mut Page) {
        let l = page.lang();
        page.chart(
            l.t("Customers by recency (rows) and frequency (columns) score", "Клиенты по оценке давности (строки) и частоты (столбцы)"),
            &self.heat(l),
            l.t(
                "top right: recent and frequent, your best customers; bottom right: frequent but silent for long, the ones to win back first; bottom left: one-off buyers long gone. Hover a cell for its revenue.",
                "справа вверху — недавние и частые, лучшие клиенты; справа внизу — частые, но давно молчащие, их возвращать в первую очередь; слева внизу — разовые покупатели, давно ушедшие. Наведите на клетку, чтобы увидеть выручку.",
            ),
        );
        page.explain(&[
            (
                l.t("Score", "Оценка"),
                l.t(
                    "1 + floor(5 × (customers strictly worse + half of those equal) ÷ customers), so equal values share a score.",
                    "1 + floor(5 × (клиенты строго хуже + половина равных) ÷ клиенты), так что равные значения получают одну оценку.",
                ),
            ),
            (
                l.t("Recency", "Давность"),
                l.t(
                    "whole days from the last order to the as-of date; fewer days score higher.",
                    "полные дни от последнего заказа до даты отчёта; чем меньше дней, тем выше оценка.",
                ),
            ),
        ]);
        page.table(l.t("RFM grid: customers and share of revenue", "RFM-сетка: клиенты и доля выручки"), &self.table(l));
        let mut m = Table::new(&[l.t("Monetary score", "Оценка суммы"), "M1", "M2", "M3", "M4", "M5"]);
        let mut row = vec![l.t("Customers", "Клиенты").to_string()];
        row.extend(self.monetary.iter().map(|&n| l.count(n as i64)));
        m.row(row);
        page.table(
            &format!("{} ({} {})", l.t("Monetary scores", "Оценки суммы"), l.t("revenue to date", "выручка на сегодня"), l.money(Some(self.revenue))),
            &m,
        );
    }

    fn terminal(&self, l: Lang) -> String {
        let head = match l {
            Lang::En => format!("RFM grid of {} customers: recency × frequency", l.count(self.customers as i64)),
            Lang::Ru => format!("RFM-сетка, клиентов: {}: давность × частота", l.count(self.customers as i64)),
        };
        format!("{head}\n{}", self.table(l).to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use holdfast_core::{Currency, OrderLogBuilder, DAY};

    #[test]
    fn five_customers_fill_the_diagonal() {
        // Customer i orders i + 1 times, the last time i days before the as-of date, 10.00 each:
        // the most frequent is also the most recent, so every customer lands on the diagonal.
        let mut b = OrderLogBuilder::new(Currency::USD);
        let as_of = 100 * DAY;
        for i in 0..5i64 {
            for k in 0..=i {
                b.push(&format!("c{i}"), as_of - (4 - i) * DAY - 1 - k * DAY, 1000);
            }
        }
        let g = RfmGrid::compute(&b.build(), as_of);
        assert_eq!(g.customers, 5);
        assert_eq!(g.revenue, 150.0);
        for r in 0..5 {
            for f in 0..5 {
                let want = if r == f { 1 } else { 0 };
                assert_eq!(g.cells[r][f].customers, want, "cell R{} F{}", r + 1, f + 1);
            }
        }
        assert_eq!(g.cells[4][4].revenue, 50.0);
        assert_eq!(g.recency, vec![1; 5]);
        assert_eq!(g.monetary, vec![1; 5]);
        assert!(g.terminal(Lang::En).contains("R5"));
    }

    #[test]
    fn an_empty_log_has_an_empty_grid() {
        let g = RfmGrid::compute(&OrderLogBuilder::new(Currency::USD).build(), 0);
        assert_eq!(g.customers, 0);
        assert_eq!(g.revenue_share(&g.cells[0][0]), None);
    }
}
