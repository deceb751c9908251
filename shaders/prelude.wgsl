// prelude.wgsl — the few helpers every minmax compute shader shares. The engine pastes this file
// in front of each shader before compiling it (WGSL has no #include), so every other file in
// this folder can use `params`, `linear_id` and `strided` without declaring them.
//
// Conventions used by all kernels:
// - group 0, binding 0 is `params`: an array<u32> of per-dispatch parameters (sizes, strides,
//   offsets, and f32 scalars stored as their bit patterns) that the host writes for each dispatch.
// - Tensors are flat arrays of 32-bit words (f32, or i32 for index tensors). A strided operand is
//   described by an element offset and one stride per dim; the output is always contiguous.
// - 1-D work runs on a 2-D grid of 256-thread workgroups, because a grid dimension holds at most
//   65,535 workgroups; `linear_id` folds the grid back into one index.

@group(0) @binding(0) var<storage, read> params: array<u32>;

const WG: u32 = 256u;
// Largest rank of a strided operand, after the host merged dims that can be merged.
const MAX_RANK: u32 = 8u;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// Where element `i` (a row-major index into the shape stored at params[shape_at..]) lives in a
// strided operand whose offset is params[op_at] and whose strides follow it.
fn strided(i: u32, rank: u32, shape_at: u32, op_at: u32) -> u32 {
    var rem = i;
    var off = params[op_at];
    for (var d = i32(rank) - 1; d >= 0; d = d - 1) {
        let size = params[shape_at + u32(d)];
        off = off + (rem % size) * params[op_at + 1u + u32(d)];
        rem = rem / size;
    }
    return off;
}

fn param_f32(at: u32) -> f32 {
    return bitcast<f32>(params[at]);
}

// +∞ and NaN. Built at run time: WGSL refuses non-finite values in constant expressions.
fn infinity() -> f32 {
    var bits = 0x7f800000u;
    return bitcast<f32>(bits);
}

fn nan() -> f32 {
    var bits = 0x7fc00000u;
    return bitcast<f32>(bits);
}
