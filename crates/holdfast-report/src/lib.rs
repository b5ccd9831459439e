//! holdfast-report
