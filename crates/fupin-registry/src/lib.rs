//! fupin over a whole registry held as tables.
//!
//! A province's registry is tables, not one JSON document per household:
//! `households`, and `members`, `claims`, `loans` joined to it by household
//! id ([`layout`]), in Parquet or CSV. This crate reads them in record
//! batches and joins them as they stream ([`read`]), so memory stays flat
//! however large the registry; assesses every household on all cores
//! ([`run`]); and writes the results as tables ([`write`]) or compares two
//! policy sets household by household ([`simulate`], with an HTML page in
//! [`report`]). [`generate`] draws synthetic registries and [`tables`]
//! writes household records as tables.
//!
//! The `fupin` command runs this crate's program, `fupin-registry`, for
//! `fupin batch` on a registry directory, `fupin simulate` and
//! `fupin registry`; `docs/registry.md` is the guide.

#![warn(missing_docs)]

pub mod args;
pub mod generate;
pub mod layout;
pub mod read;
pub mod report;
pub mod run;
pub mod simulate;
pub mod tables;
pub mod write;
