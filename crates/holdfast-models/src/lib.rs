//! holdfast-models
