//! minmax-gan: readable GAN implementations, datasets, metrics and the `minmax` command line.

pub mod bench;
pub mod classifier;
pub mod data;
pub mod display;
pub mod goodfellow2014;
pub mod images;
pub mod interrupt;
pub mod lab;
pub mod metrics;
pub mod npy;
pub mod progress;
pub mod reproduce;
pub mod toy;
pub mod viz;
