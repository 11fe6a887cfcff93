// The one pass that writes a projector's image: it composites the slide layers, and applies
// the corner pin and mesh (through the vertices), the crop, the soft-edge blend, the black
// level lift and the masks, all in this fragment shader. Nothing is drawn outside the warped
// picture, so the target's clear colour (0, 0, 0) is what the facade gets there.
//
// Layers are sRGB textures sampled as linear light, composited and dimmed in linear light;
// the result is encoded to sRGB code values here, because the blend curve is defined on what
// the projector receives (Bourke: pixel · f(x)^(1/γ)). The target is a non-sRGB format.

struct Params {
    // The output's region of the canvas, in normalized canvas coordinates: x, y, w, h.
    region: vec4<f32>,
    // The lit part of the output: left, top, right, bottom, normalized output coordinates.
    crop: vec4<f32>,
    // Opacity of layers 0, 1, 2; w: how many layers there are.
    opacity: vec4<f32>,
    // Overlap widths as fractions of the region: left, top, right, bottom.
    blend_width: vec4<f32>,
    // 1/γ for red, green, blue; w: black level lift outside the overlaps.
    inv_gamma: vec4<f32>,
    // x: curve exponent, y: centre level, z: master, w: 1 when canvas pixels land 1:1 on
    // output pixels (no warp), so layers are fetched exactly instead of filtered.
    curve: vec4<f32>,
    // Alignment marker in output pixels: x, y, radius, and w > 0 when shown.
    marker: vec4<f32>,
    // xy: the region's top left in canvas pixels; zw: the target's size in pixels.
    origin_target: vec4<f32>,
};

struct VertexIn {
    // Homogeneous clip position: the homography's w rides in w, so the GPU's
    // perspective-correct interpolation of uv is exactly the projective mapping.
    @location(0) position: vec4<f32>,
    // Where this vertex is within the region, 0..1.
    @location(1) uv: vec2<f32>,
};

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var layer0: texture_2d<f32>;
@group(0) @binding(2) var layer1: texture_2d<f32>;
@group(0) @binding(3) var layer2: texture_2d<f32>;
@group(0) @binding(4) var mask: texture_2d<f32>;
@group(0) @binding(5) var linear_sampler: sampler;

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    var out: VertexOut;
    out.position = v.position;
    out.uv = v.uv;
    return out;
}

fn fetch(t: texture_2d<f32>, canvas_uv: vec2<f32>, pixel: vec2<i32>) -> vec3<f32> {
    if params.curve.w > 0.5 {
        return textureLoad(t, pixel, 0).rgb;
    }
    return textureSampleLevel(t, linear_sampler, canvas_uv, 0.0).rgb;
}

fn encode_srgb(c: vec3<f32>) -> vec3<f32> {
    let v = clamp(c, vec3<f32>(0.0), vec3<f32>(1.0));
    let low = v * 12.92;
    let high = 1.055 * pow(v, vec3<f32>(1.0 / 2.4)) - 0.055;
    return select(high, low, v <= vec3<f32>(0.0031308));
}

// Paul Bourke's blend curve; x runs 0..1 across the overlap from the outer edge inward.
fn bourke(x: f32) -> f32 {
    let p = params.curve.x;
    let a = params.curve.y;
    if x < 0.5 {
        return a * pow(2.0 * x, p);
    }
    return 1.0 - (1.0 - a) * pow(2.0 * (1.0 - x), p);
}

// The blend level at uv within the region: 1 outside every overlap.
fn blend_level(uv: vec2<f32>) -> f32 {
    var f = 1.0;
    let w = params.blend_width;
    let from_edge = vec4<f32>(uv.x, uv.y, 1.0 - uv.x, 1.0 - uv.y);
    for (var i = 0; i < 4; i++) {
        if w[i] > 0.0 && from_edge[i] < w[i] {
            f *= bourke(clamp(from_edge[i] / w[i], 0.0, 1.0));
        }
    }
    return f;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let target_size = params.origin_target.zw;
    let o = in.position.xy / target_size;
    let crop = params.crop;
    if o.x < crop.x || o.y < crop.y || o.x > crop.z || o.y > crop.w {
        return vec4<f32>(0.0, 0.0, 0.0, 1.0);
    }
    let uv = clamp(in.uv, vec2<f32>(0.0), vec2<f32>(1.0));
    let canvas_uv = params.region.xy + uv * params.region.zw;
    let pixel = vec2<i32>(floor(params.origin_target.xy + in.position.xy));

    var light = vec3<f32>(0.0);
    let count = params.opacity.w;
    if count > 0.5 {
        light = mix(light, fetch(layer0, canvas_uv, pixel), params.opacity.x);
    }
    if count > 1.5 {
        light = mix(light, fetch(layer1, canvas_uv, pixel), params.opacity.y);
    }
    if count > 2.5 {
        light = mix(light, fetch(layer2, canvas_uv, pixel), params.opacity.z);
    }
    light *= params.curve.z;
    var code = encode_srgb(light);

    let f = blend_level(uv);
    if f < 1.0 {
        code *= pow(vec3<f32>(f), params.inv_gamma.rgb);
    } else {
        let lift = params.inv_gamma.w;
        code = lift + (1.0 - lift) * code;
    }
    code *= textureSampleLevel(mask, linear_sampler, canvas_uv, 0.0).r;

    if params.marker.w > 0.0 {
        let d = distance(in.position.xy, params.marker.xy);
        let r = params.marker.z;
        let ring = abs(d - r) < 2.0;
        let cross = d < r * 0.6 && min(abs(in.position.x - params.marker.x), abs(in.position.y - params.marker.y)) < 1.0;
        if ring || cross {
            code = vec3<f32>(1.0, 0.15, 0.6);
        } else if abs(d - r) < 4.0 {
            code = vec3<f32>(0.0);
        }
    }
    return vec4<f32>(code, 1.0);
}
