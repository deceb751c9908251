// conv.wgsl — the two data-movement halves of convolution as a matrix product (im2col + matmul).
// Uses prelude.wgsl. One thread per output element.
//
// A convolution of an [N, C, H, W] image with a [F, C, kh, kw] kernel is W_flat [F, C·kh·kw]
// times the unfolded image cols [C·kh·kw, N·oh·ow]: matmul.wgsl does the product.
//   im2col: cols[(c·kh + i)·kw + j, (n·oh + y)·ow + x] =
//           image[n, c, y·sh + i·dh − ph, x·sw + j·dw − pw]   (pad value outside the image)
//   col2im: its adjoint, used for the input gradient and for conv_transpose2d:
//           image[n, c, y, x] = Σ over kernel taps (i, j) whose window covers (y, x) of the matching
//           cols entry. Each thread *gathers* the taps for its own pixel, so no two threads write
//           the same address and no atomics are needed.
//
// bindings: 1 src (image for im2col, cols for col2im; strided image, contiguous cols), 2 dst
// params: [0] n_out, [1] N, [2] C, [3] H, [4] W, [5] kh, [6] kw, [7] sh, [8] sw, [9] ph, [10] pw,
//         [11] dh, [12] dw, [13] oh, [14] ow, [15] pad value (f32 bits),
//         [16] image offset, [17..21] image strides (n, c, h, w)

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = linear_id(gid, nwg);
    if (idx >= params[0]) {
        return;
    }
    let oh = params[13];
    let ow = params[14];
    let kh = params[5];
    let kw = params[6];
    let cols = params[1] * oh * ow;
    let r = idx / cols;
    let q = idx % cols;
    let j = r % kw;
    let i = (r / kw) % kh;
    let ch = r / (kw * kh);
    let x = q % ow;
    let y = (q / ow) % oh;
    let n = q / (ow * oh);
    let iy = i32(y * params[7] + i * params[11]) - i32(params[9]);
    let ix = i32(x * params[8] + j * params[12]) - i32(params[10]);
    var v = param_f32(15u);
    if (iy >= 0 && iy < i32(params[3]) && ix >= 0 && ix < i32(params[4])) {
        v = src[params[16] + n * params[17] + ch * params[18] + u32(iy) * params[19] + u32(ix) * params[20]];
    }
    dst[idx] = v;
}

@compute @workgroup_size(256)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = linear_id(gid, nwg);
    if (idx >= params[0]) {
        return;
    }
    let h = params[3];
    let w = params[4];
    let kh = params[5];
    let kw = params[6];
    let sh = params[7];
    let sw = params[8];
    let oh = params[13];
    let ow = params[14];
    let x = idx % w;
    let y = (idx / w) % h;
    let ch = (idx / (w * h)) % params[2];
    let n = idx / (w * h * params[2]);
    let cols = params[1] * oh * ow;
    var acc = 0.0;
    for (var i = 0u; i < kh; i = i + 1u) {
        // Output row oy reads image row oy·sh + i·dh − ph; solve for oy.
        let ty = i32(y + params[9]) - i32(i * params[11]);
        if (ty < 0 || u32(ty) % sh != 0u) {
            continue;
        }
        let oy = u32(ty) / sh;
        if (oy >= oh) {
            continue;
        }
        for (var j = 0u; j < kw; j = j + 1u) {
            let tx = i32(x + params[10]) - i32(j * params[12]);
            if (tx < 0 || u32(tx) % sw != 0u) {
                continue;
            }
            let ox = u32(tx) / sw;
            if (ox >= ow) {
                continue;
            }
            let r = (ch * kh + i) * kw + j;
            acc = acc + src[r * cols + (n * oh + oy) * ow + ox];
        }
    }
    dst[idx] = acc;
}
