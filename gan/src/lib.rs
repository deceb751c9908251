//! minmax-gan: readable GAN implementations, datasets, metrics and the `minmax` command line.

pub mod bench;
pub mod data;
