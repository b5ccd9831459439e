//! Stable assignment: each customer falls in one of 10,000 buckets by a hash of its id, the same
//! on every machine, in every version and whatever the order customers are seen in. A holdout of
//! share `h` is the buckets below `h·10,000`; a split into groups is consecutive ranges of buckets.
//!
//! The hash is 64-bit FNV-1a (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`) over the
//! UTF-8 bytes of a salt, one `0xff` byte (which never occurs in UTF-8, so no salt and id run
//! together) and the customer id; then SplitMix64's finaliser (Steele, Lea & Flood 2014) mixes
//! the high bits into the low ones, and the bucket is the result modulo 10,000. The salt keeps
//! campaigns independent of each other — a customer held out of one campaign is not therefore
//! held out of the next — except for the workspace-wide [`GLOBAL_HOLDOUT_SALT`], the same for
//! every campaign, which names the customers no campaign contacts.

use serde::Serialize;

/// The number of buckets; shares are multiples of 1/10,000.
pub const BUCKETS: u32 = 10_000;

/// The salt of the workspace-wide holdout.
pub const GLOBAL_HOLDOUT_SALT: &str = "holdfast/global-holdout";

/// The bucket (0 to 9,999) of `customer` under `salt`.
pub fn bucket(salt: &str, customer: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in salt.as_bytes().iter().chain(&[0xff]).chain(customer.as_bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // SplitMix64 finaliser.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h % BUCKETS as u64) as u32
}

/// A share of customers in whole buckets (0 to 10,000 of 10,000).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "f64")]
pub struct Share(u32);

impl From<Share> for f64 {
    fn from(s: Share) -> f64 {
        s.fraction()
    }
}

impl Share {
    pub const ZERO: Share = Share(0);

    /// The share `f` (0 ≤ f ≤ 1), rounded to whole buckets. `None` outside that range.
    pub fn from_fraction(f: f64) -> Option<Share> {
        (0.0..=1.0).contains(&f).then(|| Share((f * BUCKETS as f64).round() as u32))
    }

    /// `b` buckets of 10,000; `None` above 10,000.
    pub fn from_buckets(b: u32) -> Option<Share> {
        (b <= BUCKETS).then_some(Share(b))
    }

    pub fn buckets(self) -> u32 {
        self.0
    }

    pub fn fraction(self) -> f64 {
        self.0 as f64 / BUCKETS as f64
    }

    /// Whether a customer in bucket `b` is inside the share (buckets `0 .. self`).
    pub fn contains(self, b: u32) -> bool {
        b < self.0
    }
}

/// Whether `customer` is in the workspace-wide holdout of `share`: never contacted by a campaign.
pub fn in_global_holdout(customer: &str, share: Share) -> bool {
    share.contains(bucket(GLOBAL_HOLDOUT_SALT, customer))
}

/// The group of `customer` in campaign `campaign` split into consecutive bucket ranges of the
/// given shares (in order; their buckets must sum to 10,000): the index of the group.
pub fn assign(campaign: &str, customer: &str, shares: &[Share]) -> Option<usize> {
    if shares.iter().map(|s| s.0).sum::<u32>() != BUCKETS {
        return None;
    }
    let b = bucket(campaign, customer);
    let mut upto = 0;
    shares.iter().position(|s| {
        upto += s.0;
        b < upto
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_values() {
        // Fixed forever: changing the hash would move customers between groups.
        let got: Vec<u32> = ["C1", "C2", "customer-000042", "Иван"].iter().map(|c| bucket("win-back", c)).collect();
        assert_eq!(got, STABLE.to_vec());
        assert_ne!(bucket("a", "bc"), bucket("ab", "c"));
    }

    // The same numbers as `bucket()` in scripts/reference/experiments.py.
    const STABLE: [u32; 4] = [2526, 9729, 8846, 6542];

    #[test]
    fn uniform_enough() {
        let n = 200_000;
        let share = Share::from_fraction(0.1).unwrap();
        let held = (0..n).filter(|i| in_global_holdout(&format!("C{i:06}"), share)).count();
        // 10% ± 4.5 standard deviations.
        let sd = (n as f64 * 0.1 * 0.9).sqrt();
        assert!((held as f64 - 0.1 * n as f64).abs() < 4.5 * sd, "{held}");
        let split = [Share::from_fraction(0.1).unwrap(), Share::from_fraction(0.45).unwrap(), Share::from_fraction(0.45).unwrap()];
        let mut counts = [0usize; 3];
        for i in 0..30_000 {
            counts[assign("spring", &format!("C{i}"), &split).unwrap()] += 1;
        }
        assert!(counts[0] > 2_700 && counts[0] < 3_300, "{counts:?}");
        assert!(assign("x", "y", &[Share::from_fraction(0.5).unwrap()]).is_none());
        assert_eq!(Share::from_fraction(0.1234).unwrap().buckets(), 1234);
        assert!(Share::from_fraction(1.5).is_none());
    }
}
