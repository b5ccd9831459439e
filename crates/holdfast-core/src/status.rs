//! Order status and the counted-order rule: one list of words for every front end and backend.
//!
//! `METRICS.md`, conventions: orders that are refunded, cancelled, failed, void or charged back
//! count for nothing (neither order count nor revenue), in English, Russian, Ukrainian and
//! Bulgarian; pending orders are not sales until paid. Any other status (`completed`, `paid`,
//! `shipped`, `доставлен`, …) or none is a sale. The importer reads status cells with
//! [`OrderStatus::parse`]; the store keeps [`OrderStatus::as_str`] and selects counted orders with
//! [`OrderStatus::not_counted_sql_list`], so a file and a store always agree.

use serde::{Deserialize, Serialize};

/// What an order's status means for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// A sale: any status that is none of the others, or no status at all.
    #[default]
    Completed,
    /// Ordered, not paid yet: not a sale until it is.
    Pending,
    /// Money returned in full (or, with a negative amount, in part: a partial refund).
    Refunded,
    /// Called off before it was fulfilled.
    Cancelled,
    /// Payment failed or the order was voided.
    Failed,
    /// The payment was reversed by the card issuer.
    Chargeback,
}

/// Status words (lower case) that are not sales, and what each means. Everything else is
/// [`OrderStatus::Completed`].
const WORDS: &[(&str, OrderStatus)] = &[
    // English
    ("refunded", OrderStatus::Refunded),
    ("refund", OrderStatus::Refunded),
    ("returned", OrderStatus::Refunded),
    ("return", OrderStatus::Refunded),
    ("partially_refunded", OrderStatus::Refunded),
    ("partially refunded", OrderStatus::Refunded),
    ("cancelled", OrderStatus::Cancelled),
    ("canceled", OrderStatus::Cancelled),
    ("failed", OrderStatus::Failed),
    ("void", OrderStatus::Failed),
    ("voided", OrderStatus::Failed),
    ("declined", OrderStatus::Failed),
    ("chargeback", OrderStatus::Chargeback),
    ("charged_back", OrderStatus::Chargeback),
    ("charged back", OrderStatus::Chargeback),
    ("disputed", OrderStatus::Chargeback),
    ("pending", OrderStatus::Pending),
    ("unpaid", OrderStatus::Pending),
    ("awaiting payment", OrderStatus::Pending),
    ("on-hold", OrderStatus::Pending),
    ("on hold", OrderStatus::Pending),
    // Russian
    ("возврат", OrderStatus::Refunded),
    ("возвращен", OrderStatus::Refunded),
    ("возвращён", OrderStatus::Refunded),
    ("отменен", OrderStatus::Cancelled),
    ("отменён", OrderStatus::Cancelled),
    ("отмена", OrderStatus::Cancelled),
    ("отказ", OrderStatus::Cancelled),
    ("ошибка оплаты", OrderStatus::Failed),
    ("не оплачен", OrderStatus::Pending),
    ("ожидает оплаты", OrderStatus::Pending),
    ("в ожидании", OrderStatus::Pending),
    // Ukrainian
    ("повернення", OrderStatus::Refunded),
    ("повернено", OrderStatus::Refunded),
    ("скасовано", OrderStatus::Cancelled),
    ("скасований", OrderStatus::Cancelled),
    ("очікує оплати", OrderStatus::Pending),
    // Bulgarian
    ("върнат", OrderStatus::Refunded),
    ("възстановен", OrderStatus::Refunded),
    ("анулиран", OrderStatus::Cancelled),
    ("отказан", OrderStatus::Cancelled),
    ("чака плащане", OrderStatus::Pending),
];

impl OrderStatus {
    /// Every status, counted first.
    pub const ALL: [OrderStatus; 6] =
        [OrderStatus::Completed, OrderStatus::Pending, OrderStatus::Refunded, OrderStatus::Cancelled, OrderStatus::Failed, OrderStatus::Chargeback];

    /// The status a cell of a file (or an API field) means, in any of the four languages and any
    /// case; unknown words and empty cells are sales.
    pub fn parse(cell: &str) -> OrderStatus {
        let s = cell.trim();
        if s.is_empty() {
            return OrderStatus::Completed;
        }
        if s.is_ascii() {
            // Without allocating: the English words and canonical names, any case.
            if let Some(&(_, st)) = WORDS.iter().find(|(w, _)| w.is_ascii() && s.eq_ignore_ascii_case(w)) {
                return st;
            }
            return OrderStatus::ALL.into_iter().find(|st| s.eq_ignore_ascii_case(st.as_str())).unwrap_or(OrderStatus::Completed);
        }
        let l = s.to_lowercase();
        WORDS.iter().find(|(w, _)| *w == l).map(|&(_, st)| st).unwrap_or(OrderStatus::Completed)
    }

    /// Reads a canonical name written by [`OrderStatus::as_str`] (as the store keeps it).
    pub fn from_canonical(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The canonical English name, as stored and as shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Completed => "completed",
            OrderStatus::Pending => "pending",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Failed => "failed",
            OrderStatus::Chargeback => "chargeback",
        }
    }

    /// Whether an order with this status is a sale (counts in orders and revenue).
    pub fn is_counted(self) -> bool {
        self == OrderStatus::Completed
    }

    /// Whether a row with this status and a negative amount lowers the amount of the order with
    /// the same id (a partial refund, `METRICS.md`).
    pub fn is_refund(self) -> bool {
        matches!(self, OrderStatus::Refunded | OrderStatus::Chargeback)
    }

    /// The canonical names of the statuses that are not sales, quoted for an SQL `IN (…)` list:
    /// `'pending', 'refunded', …`.
    pub fn not_counted_sql_list() -> String {
        OrderStatus::ALL.into_iter().filter(|s| !s.is_counted()).map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_every_language() {
        for (w, st) in [
            ("", OrderStatus::Completed),
            ("Completed", OrderStatus::Completed),
            ("shipped", OrderStatus::Completed),
            ("Доставлен", OrderStatus::Completed),
            ("REFUNDED", OrderStatus::Refunded),
            ("Возврат", OrderStatus::Refunded),
            ("повернення", OrderStatus::Refunded),
            ("Върнат", OrderStatus::Refunded),
            (" Отменён ", OrderStatus::Cancelled),
            ("скасовано", OrderStatus::Cancelled),
            ("анулиран", OrderStatus::Cancelled),
            ("Canceled", OrderStatus::Cancelled),
            ("failed", OrderStatus::Failed),
            ("VOID", OrderStatus::Failed),
            ("chargeback", OrderStatus::Chargeback),
            ("pending", OrderStatus::Pending),
            ("Ожидает оплаты", OrderStatus::Pending),
        ] {
            assert_eq!(OrderStatus::parse(w), st, "{w:?}");
        }
    }

    #[test]
    fn canonical_names_round_trip_and_only_completed_counts() {
        for st in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(st.as_str()), st);
            assert_eq!(OrderStatus::from_canonical(st.as_str()), Some(st));
            assert_eq!(st.is_counted(), st == OrderStatus::Completed);
        }
        assert_eq!(OrderStatus::not_counted_sql_list(), "'pending', 'refunded', 'cancelled', 'failed', 'chargeback'");
    }
}
