//! holdfast-store
