//! Store records as the CLI prints them and the API answers them: one document shape for both.

use crate::error::{Error, Result};
use holdfast_core::Currency;
use serde_json::Value;

/// A store record (a task, a customer view, a page of either) as a JSON document in the contract's
/// terms: instants — fields named `at`, `…_at` or `…_until`, stored as Unix seconds — as RFC 3339 strings,
/// and money — `amount`, `stake`, `mrr`, `clv`, stored as minor units — as major units in the
/// currency of the nearest enclosing object that names one (else `currency`, which the document
/// names at its top).
pub fn store_document<T: serde::Serialize>(v: &T, currency: Currency) -> Result<Value> {
    let mut doc = serde_json::to_value(v).map_err(|e| Error::internal(format!("cannot serialise the result: {e}")))?;
    for_people(&mut doc, currency);
    if let Value::Object(m) = &mut doc {
        m.entry("currency").or_insert_with(|| currency.as_str().into());
    }
    Ok(doc)
}

fn for_people(v: &mut Value, currency: Currency) {
    match v {
        Value::Object(m) => {
            let here = m.get("currency").and_then(Value::as_str).and_then(Currency::new).unwrap_or(currency);
            for (k, x) in m.iter_mut() {
                match (k.as_str(), x.as_i64()) {
                    (key, Some(t)) if key == "at" || key.ends_with("_at") || key.ends_with("_until") => *x = holdfast_store::export::rfc3339(t).into(),
                    ("amount" | "stake" | "mrr" | "clv", Some(minor)) => *x = holdfast_core::money::to_major(minor, here).into(),
                    _ => for_people(x, here),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| for_people(x, currency)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_money_for_people() {
        let rub = Currency::new("RUB").unwrap();
        let doc = serde_json::json!({"created_at": 0, "stake": 12345, "lines": [{"amount": 250, "currency": "USD"}], "count": 3});
        let out = store_document(&doc, rub).unwrap();
        assert_eq!(out["created_at"], "1970-01-01T00:00:00Z");
        assert_eq!(out["stake"], 123.45);
        assert_eq!(out["lines"][0]["amount"], 2.5);
        assert_eq!(out["count"], 3);
        assert_eq!(out["currency"], "RUB");
    }
}
