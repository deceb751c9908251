//! A run's output folder: created with an error that says why it cannot be, cleaned of the
//! temporary files a killed or failed write left behind, and never silently mixed with another
//! run — a folder that already holds a run is continued (`--resume`) or replaced
//! (`--overwrite`), or refused with a message saying so.

use std::path::Path;

use minmax_engine::{Error, Result};

/// Make `out` ready for a run that writes `run_files` there: create it (an error says why it
/// cannot be), remove temporary files that a killed or failed write left for those files, and
/// refuse to start a new run over an existing one (a folder holding any of them) unless
/// `overwrite` (which deletes the old run's files) or `resume`.
pub fn prepare(out: &Path, run_files: &[&str], resume: bool, overwrite: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(Error::file(out, "the output folder (--out) is a file, not a folder"));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| Error::file(out, format!("the output folder (--out) could not be created: {e}")))?;
    for f in run_files {
        minmax_engine::io::clean_stale_temp_files(out, f)?;
    }
    let existing: Vec<&str> = run_files.iter().copied().filter(|f| out.join(f).exists()).collect();
    if existing.is_empty() || resume {
        return Ok(());
    }
    if !overwrite {
        return Err(Error::file(
            out,
            format!(
                "the output folder already holds a run ({}); pass --resume to continue it, --overwrite to \
                 replace it, or --out to choose another folder",
                existing.join(", ")
            ),
        ));
    }
    for f in existing {
        std::fs::remove_file(out.join(f)).map_err(|e| Error::Io { path: out.join(f), source: e })?;
    }
    eprintln!("--overwrite: removed the earlier run's files from {}", out.display());
    Ok(())
}
