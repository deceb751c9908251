// random.wgsl — the dropout mask from a counter-based random number generator. Uses prelude.wgsl.
//
// Element i of the mask depends only on (seed, i): a hash of the two, not a sequential stream,
// so every thread draws its own number with no shared state, any launch shape gives the same
// mask, and the CPU backend (engine/src/rng.rs, `counter_u32`) produces the identical mask.
// The hash is three rounds of the "lowbias32" integer mixer (Wellons) folded over the seed's two
// halves and the index. Its top 24 bits are compared with keep · 2^24 (an integer the host
// computes), so the keep decision is exact integer arithmetic on both backends.
//
// bindings: 1 out (f32)
// params: [0] n, [1] seed low 32 bits, [2] seed high 32 bits, [3] threshold = round(keep · 2^24),
//         [4] scale 1 / keep (f32 bits)

@group(0) @binding(1) var<storage, read_write> out: array<f32>;

fn mix32(x0: u32) -> u32 {
    var x = x0;
    x = x ^ (x >> 16u);
    x = x * 0x7feb352du;
    x = x ^ (x >> 15u);
    x = x * 0x846ca68bu;
    x = x ^ (x >> 16u);
    return x;
}

fn counter_u32(seed_lo: u32, seed_hi: u32, i: u32) -> u32 {
    return mix32(mix32(mix32(seed_lo) ^ seed_hi) ^ i);
}

@compute @workgroup_size(256)
fn dropout_mask(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    let u = counter_u32(params[1], params[2], i) >> 8u;
    out[i] = select(0.0, param_f32(4u), u < params[3]);
}
