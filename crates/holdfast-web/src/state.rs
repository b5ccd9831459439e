//! What every request shares: the store, the sign-in throttle, the metrics and the orders kept in
//! memory between imports.

use crate::auth::LoginThrottle;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::pages::Upload;
use holdfast_app::App;
use holdfast_core::{Calendar, OrderLog};
use holdfast_store::{Store, WorkspaceId};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Shared(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub throttle: LoginThrottle,
    pub metrics: Metrics,
    /// Each workspace's counted orders as of one `orders_version`.
    orders: Mutex<HashMap<i64, (i64, String, Arc<OrderLog>)>>,
    /// Figures computed from them, by workspace and name, for the same version.
    computed: Mutex<HashMap<(i64, String), (i64, String, Arc<dyn Any + Send + Sync>)>>,
    /// Uploads checked and waiting for "Import it", by a random id.
    uploads: Mutex<HashMap<String, Upload>>,
    /// Each workspace's customer owners, read at most once a minute (the Today filter).
    owners: Mutex<HashMap<i64, (std::time::Instant, Arc<Vec<String>>)>>,
}

impl std::ops::Deref for Shared {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Shared {
    pub fn new(store: Store) -> Shared {
        Shared(Arc::new(Inner {
            store,
            throttle: LoginThrottle::default(),
            metrics: Metrics::default(),
            orders: Mutex::new(HashMap::new()),
            computed: Mutex::new(HashMap::new()),
            uploads: Mutex::new(HashMap::new()),
            owners: Mutex::new(HashMap::new()),
        }))
    }

    /// The app for a workspace (its settings read fresh: an owner may have just changed them).
    pub async fn app(&self, ws: WorkspaceId) -> Result<App, ApiError> {
        Ok(App { store: self.store.clone(), ws: self.store.workspace_by_id(ws).await? })
    }

    /// The workspace's counted orders, days cut in its zone: loaded from the store once per
    /// version of its orders and kept until the next import.
    pub async fn orders(&self, app: &App) -> Result<(Calendar, Arc<OrderLog>), ApiError> {
        let cal = app.calendar()?;
        let version = self.store.orders_version(app.ws.id).await?;
        let key = (version, app.ws.time_zone.clone());
        if let Some((v, tz, log)) = self.orders.lock().unwrap_or_else(|e| e.into_inner()).get(&app.ws.id.0) {
            if (*v, tz) == (key.0, &key.1) {
                return Ok((cal, log.clone()));
            }
        }
        let loaded = holdfast_app::load_orders(&holdfast_app::Source::Store(app.clone()), &cal, true, &holdfast_app::Quiet).await?;
        let log = Arc::new(loaded.log);
        self.orders.lock().unwrap_or_else(|e| e.into_inner()).insert(app.ws.id.0, (key.0, key.1, log.clone()));
        Ok((cal, log))
    }

    /// `compute` once per version of the workspace's orders (and zone), off the async threads;
    /// later calls get the kept value until the next import.
    pub async fn cached<T: Send + Sync + 'static>(
        &self,
        app: &App,
        name: &str,
        compute: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<Arc<T>, ApiError> {
        let version = self.store.orders_version(app.ws.id).await?;
        let key = (app.ws.id.0, name.to_owned());
        if let Some((v, tz, value)) = self.computed.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            if *v == version && *tz == app.ws.time_zone {
                if let Ok(t) = value.clone().downcast::<T>() {
                    return Ok(t);
                }
            }
        }
        let value = Arc::new(crate::api::blocking(compute).await?);
        self.computed.lock().unwrap_or_else(|e| e.into_inner()).insert(key, (version, app.ws.time_zone.clone(), value.clone()));
        Ok(value)
    }

    /// The distinct owners of the workspace's customers (at most 500), kept for a minute.
    pub async fn owner_names(&self, app: &App) -> Result<Arc<Vec<String>>, ApiError> {
        if let Some((at, v)) = self.owners.lock().unwrap_or_else(|e| e.into_inner()).get(&app.ws.id.0) {
            if at.elapsed() < std::time::Duration::from_secs(60) {
                return Ok(v.clone());
            }
        }
        let v = Arc::new(self.store.owner_names(app.ws.id, 500).await?);
        self.owners.lock().unwrap_or_else(|e| e.into_inner()).insert(app.ws.id.0, (std::time::Instant::now(), v.clone()));
        Ok(v)
    }

    /// Keeps an upload for an hour; returns its id.
    pub fn keep_upload(&self, u: Upload) -> String {
        let id = holdfast_app::accounts::random_secret();
        let mut m = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|_, u| u.at.elapsed() < std::time::Duration::from_secs(3600));
        // At most a few uploads wait at once: the oldest go first.
        while m.len() >= 16 {
            let oldest = m.iter().min_by_key(|(_, u)| u.at).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => m.remove(&k),
                None => break,
            };
        }
        m.insert(id.clone(), u);
        id
    }

    /// Takes the upload `id` made by `user` in workspace `ws`.
    pub fn take_upload(&self, id: &str, ws: i64, user: i64) -> Option<Upload> {
        let mut m = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(id) {
            Some(u) if u.workspace == ws && u.user == user && u.at.elapsed() < std::time::Duration::from_secs(3600) => m.remove(id),
            _ => None,
        }
    }
}
