//! holdfast-import
