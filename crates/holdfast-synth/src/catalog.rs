//! The product catalogue of the synthetic shop: a few categories, each with products, a list price
//! and a popularity weight. Deliberately mixed (services, car parts, consumables) so that the
//! service chains and replenishment rhythms of the articles can be planted in one file.

/// One product of the synthetic catalogue.
#[derive(Clone, Copy, Debug)]
pub struct Product {
    pub name: &'static str,
    /// Index into [`CATEGORIES`].
    pub category: usize,
    /// List price in minor units (cents).
    pub price_minor: u32,
    /// Relative popularity in ordinary purchases.
    pub weight: f64,
    /// Sold one at a time (a service); otherwise quantities vary by customer.
    pub single: bool,
}

/// Category names and how likely a new customer is to favour each one.
pub const CATEGORIES: &[(&str, f64)] = &[
    ("web-services", 0.12),
    ("auto", 0.22),
    ("coffee", 0.24),
    ("office", 0.16),
    ("home", 0.20),
    ("gifts", 0.06),
];

const fn p(name: &'static str, category: usize, price_minor: u32, weight: f64, single: bool) -> Product {
    Product { name, category, price_minor, weight, single }
}

/// The catalogue. Product indices in generated data are positions in this list.
pub const PRODUCTS: &[Product] = &[
    p("landing-page", 0, 45_000, 1.0, true),
    p("analytics", 0, 30_000, 0.8, true),
    p("conversion-audit", 0, 60_000, 0.4, true),
    p("ads-setup", 0, 40_000, 0.5, true),
    p("oil", 1, 4_590, 2.0, false),
    p("filters", 1, 2_490, 1.2, false),
    p("brake-pads", 1, 7_990, 0.6, false),
    p("wipers", 1, 1_790, 0.8, false),
    p("coffee-beans", 2, 1_590, 2.0, false),
    p("espresso-machine", 2, 34_900, 0.2, true),
    p("milk-frother", 2, 5_990, 0.3, true),
    p("cups", 2, 1_190, 0.6, false),
    p("printer-ink", 3, 3_490, 1.5, false),
    p("paper", 3, 1_190, 1.5, false),
    p("notebooks", 3, 790, 1.0, false),
    p("candles", 4, 1_390, 1.0, false),
    p("towels", 4, 2_990, 0.8, false),
    p("blanket", 4, 6_990, 0.5, true),
    p("gift-card", 5, 5_000, 0.6, false),
];

/// Index of a product by name.
pub fn product_index(name: &str) -> Option<usize> {
    PRODUCTS.iter().position(|p| p.name == name)
}

/// Names of all products, for error messages.
pub fn product_names() -> Vec<&'static str> {
    PRODUCTS.iter().map(|p| p.name).collect()
}
