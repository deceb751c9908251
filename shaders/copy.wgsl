// copy.wgsl — kernels that move 32-bit words without looking at them as numbers (so one kernel
// serves f32 and i32 tensors), plus the dtype cast. Uses prelude.wgsl. One thread per element.
//
// Entry points:
//   copy:  dst[strided_d(i)] = src[strided_s(i)]   bindings: 1 src, 4 dst
//          Makes views contiguous, and with a strided destination writes one input of `cat`
//          into its slice of the output.
//   fill:  dst[i] = params[46]                     bindings: 4 dst
//   where_select: dst[i] = cond[i] != 0 ? a[i] : b[i]  bindings: 1 a, 2 b, 3 cond, 4 dst
//   convert: dst[i] = f32 <-> i32 of src[i] (CAST: 0 = f32 to i32, 1 = i32 to f32)  bindings: 1 src, 4 dst
//
// params: [0] n, [1] rank, [2..10] shape, [10..19] src (or a): offset + 8 strides,
//         [19..28] b: offset + strides, [28..37] cond: offset + strides,
//         [37..46] dst: offset + strides (copy only; other entries write contiguously),
//         [46] fill value bits.

// Dtype of `cond` in where_select: 0 = f32, 1 = i32.
override CDT: u32 = 0u;
override CAST: u32 = 0u;

@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> src_b: array<u32>;
@group(0) @binding(3) var<storage, read> cond: array<u32>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;

const SHAPE: u32 = 2u;
const S: u32 = 10u;
const SB: u32 = 19u;
const SC: u32 = 28u;
const D: u32 = 37u;

@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    let rank = params[1];
    dst[strided(i, rank, SHAPE, D)] = src[strided(i, rank, SHAPE, S)];
}

@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    dst[i] = params[46];
}

@compute @workgroup_size(256)
fn where_select(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    let rank = params[1];
    let c = cond[strided(i, rank, SHAPE, SC)];
    // -0.0 is zero too when the condition is a float.
    let on = select(c != 0u, bitcast<f32>(c) != 0.0, CDT == 0u);
    dst[i] = select(src_b[strided(i, rank, SHAPE, SB)], src[strided(i, rank, SHAPE, S)], on);
}

@compute @workgroup_size(256)
fn convert(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    let w = src[strided(i, params[1], SHAPE, S)];
    if (CAST == 0u) {
        // Truncation toward zero, as Rust's `as`.
        dst[i] = bitcast<u32>(i32(bitcast<f32>(w)));
    } else {
        dst[i] = bitcast<u32>(f32(bitcast<i32>(w)));
    }
}
