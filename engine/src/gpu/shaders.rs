//! The WGSL sources, compiled into the binary. `prelude.wgsl` is pasted in front of every other
//! file before it is compiled (WGSL has no `#include`); `tests` parses and validates each one with
//! naga, so a broken shader fails `cargo test` on any machine, GPU or not.

/// Helpers every kernel uses (`params`, `linear_id`, `strided`).
pub const PRELUDE: &str = include_str!("../../../shaders/prelude.wgsl");

/// A kernel family: one `.wgsl` file with one or more entry points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    Elementwise,
    Copy,
    Reduce,
    Matmul,
    Conv,
    Index,
    Random,
    Optim,
    BatchNorm,
}

impl Shader {
    pub const ALL: [Shader; 9] = [
        Shader::Elementwise,
        Shader::Copy,
        Shader::Reduce,
        Shader::Matmul,
        Shader::Conv,
        Shader::Index,
        Shader::Random,
        Shader::Optim,
        Shader::BatchNorm,
    ];
    pub fn file(self) -> &'static str {
        match self {
            Shader::Elementwise => "elementwise.wgsl",
            Shader::Copy => "copy.wgsl",
            Shader::Reduce => "reduce.wgsl",
            Shader::Matmul => "matmul.wgsl",
            Shader::Conv => "conv.wgsl",
            Shader::Index => "index.wgsl",
            Shader::Random => "random.wgsl",
            Shader::Optim => "optim.wgsl",
            Shader::BatchNorm => "batch_norm.wgsl",
        }
    }
    /// The file's own text, without the prelude.
    pub fn body(self) -> &'static str {
        match self {
            Shader::Elementwise => include_str!("../../../shaders/elementwise.wgsl"),
            Shader::Copy => include_str!("../../../shaders/copy.wgsl"),
            Shader::Reduce => include_str!("../../../shaders/reduce.wgsl"),
            Shader::Matmul => include_str!("../../../shaders/matmul.wgsl"),
            Shader::Conv => include_str!("../../../shaders/conv.wgsl"),
            Shader::Index => include_str!("../../../shaders/index.wgsl"),
            Shader::Random => include_str!("../../../shaders/random.wgsl"),
            Shader::Optim => include_str!("../../../shaders/optim.wgsl"),
            Shader::BatchNorm => include_str!("../../../shaders/batch_norm.wgsl"),
        }
    }
    /// What the GPU compiles: prelude + file.
    pub fn source(self) -> String {
        format!("{PRELUDE}\n{}", self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse and validate every shader with naga (the compiler inside wgpu), no GPU needed.
    #[test]
    fn every_wgsl_file_parses_and_validates() {
        for s in Shader::ALL {
            let src = s.source();
            let module = naga::front::wgsl::parse_str(&src)
                .unwrap_or_else(|e| panic!("{}: {}", s.file(), e.emit_to_string_with_path(&src, s.file())));
            let mut v =
                naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty());
            v.validate(&module)
                .unwrap_or_else(|e| panic!("{}: {}", s.file(), e.emit_to_string_with_path(&src, s.file())));
            assert!(!module.entry_points.is_empty(), "{} has no entry point", s.file());
        }
    }

    /// Each file starts with a header comment naming itself and saying what it computes.
    #[test]
    fn every_wgsl_file_has_a_header() {
        for s in Shader::ALL {
            let first = s.body().lines().next().unwrap_or("");
            assert!(first.starts_with(&format!("// {} — ", s.file())), "{}: header line is '{first}'", s.file());
            assert!(s.body().contains("bindings"), "{}: header does not list its bindings", s.file());
        }
    }
}
