//! MBG/NBD: the modified BG/NBD of Batislam, Denizel & Filiztekin (2007), "Empirical validation
//! and comparison of models for customer base analysis", IJRM 24(3). As BG/NBD, but a customer may
//! also drop out right after the first purchase, so a customer with no repeat purchase is not
//! certainly alive. The likelihood and predictions share the engine of [`crate::bgnbd`].

use crate::bgnbd::{nbd_if_alive, nbd_p_alive, NbdFamily};
use crate::fit::{check_purchase_data, estimate, estimate_from, estimate_sample, warm_sample, FitError, FitOptions, Fitted};
use crate::summary::Compressed;
use crate::PurchaseModel;
use serde::Serialize;

/// MBG/NBD parameters (named as BG/NBD's).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MbgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl MbgNbd {
    pub fn fit(data: &Compressed, opts: &FitOptions) -> Result<Fitted<MbgNbd>, FitError> {
        check_purchase_data(data)?;
        let e = match warm_sample(data) {
            Some(sub) => estimate_from(&NbdFamily::new(data, true), estimate_sample(&NbdFamily::new(&sub, true), opts)?, opts)?,
            None => estimate(&NbdFamily::new(data, true), opts)?,
        };
        let p = &e.params;
        Ok(Fitted {
            model: MbgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3] },
            log_likelihood: e.log_likelihood,
            customers: data.customers(),
            converged: e.converged,
            iterations: e.iterations,
            starts: e.starts,
        })
    }

    pub fn log_likelihood(&self, data: &Compressed) -> f64 {
        let mut g = [0.0; 4];
        NbdFamily::new(data, true).ll_grad(&[self.r, self.alpha, self.a, self.b], &mut g)
    }
}

impl PurchaseModel for MbgNbd {
    fn name(&self) -> &'static str {
        "mbgnbd"
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("r", self.r), ("alpha", self.alpha), ("a", self.a), ("b", self.b)]
    }
    /// `1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^{r+x})`, Batislam et al. (2007) eq. (8).
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        nbd_p_alive(self.r, self.alpha, self.a, self.b, true, x, t_x, t)
    }
    fn purchases_if_alive(&self, horizon: f64, x: f64, t: f64) -> f64 {
        nbd_if_alive(self.r, self.alpha, self.a, self.b, true, horizon, x, t)
    }
}
