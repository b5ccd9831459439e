//! Reading the orders a command works on: from a file (through `holdfast-import`) or the store.
