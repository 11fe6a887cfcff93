// The one pass that writes a projector's image: it composites the slide layers, and applies
// the corner pin and mesh (through the vertices), the crop, the soft-edge blend, the black
// level lift and the masks, all in this fragment shader. Nothing is drawn outside the warped
// picture, so the target's clear colour (0, 0, 0) is what the facade gets there.
//
// Layers are sRGB textures sampled as linear light, composited and dimmed in linear light.
// An output with a blend encodes to sRGB code values here, because the blend curve is defined
// on what the projector receives (Bourke: pixel · f(x)^(1/γ)), and writes a plain target;
// any other output writes linear light to an sRGB target, which encodes it for free.
//
// The pipeline is built for each combination of the constants below, so a projector with no
// warp, mask or blend pays for none of it (a software GPU runs every instruction per pixel).

// Canvas pixels land 1:1 on output pixels: layers are fetched, not filtered.
override EXACT: bool = false;
// The show has masks.
override MASKED: bool = true;
// The output has a soft edge or a black level lift.
override BLENDED: bool = true;
// How many layers are composited (0 to 3).
override LAYERS: u32 = 2u;
// Alignment mode: the handles are drawn, and the selected one marked.
override MARKED: bool = false;
// (A software GPU runs both sides of a branch on a uniform value; these constants are what
// lets it skip work.)

struct Params {
    // The output's region of the canvas, in normalized canvas coordinates: x, y, w, h.
    region: vec4<f32>,
    // The lit part of the output: left, top, right, bottom, normalized output coordinates.
    crop: vec4<f32>,
    // Opacity of layers 0, 1, 2.
    opacity: vec4<f32>,
    // x: black level lift outside the overlaps, y: master level.
    levels: vec4<f32>,
    // The selected handle in alignment mode, in output pixels: x, y, radius (0: none here).
    marker: vec4<f32>,
    // xy: the region's top left in canvas pixels; zw: the target's size in pixels.
    origin_target: vec4<f32>,
    // xy: the canvas's size in pixels; zw: the mesh's cells across and down, whose corners
    // are the handles drawn in alignment mode.
    canvas: vec4<f32>,
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
// The soft edges, f^(1/γ) per channel: row 0 across the region, row 1 down it; alpha is 1
// where there is no overlap. Made on the CPU from Bourke's curve (geometry::bourke).
@group(0) @binding(6) var blend_table: texture_2d<f32>;

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    var out: VertexOut;
    out.position = v.position;
    out.uv = v.uv;
    return out;
}

fn fetch(t: texture_2d<f32>, canvas_uv: vec2<f32>, pixel: vec2<i32>) -> vec3<f32> {
    if EXACT {
        return textureLoad(t, pixel, 0).rgb;
    }
    return textureSampleLevel(t, linear_sampler, canvas_uv, 0.0).rgb;
}

// Linear light to sRGB code values, within 0.4 of a code value of the exact curve. Square
// roots instead of pow: a software GPU evaluates pow slowly, for every pixel of the frame.
fn encode_srgb(c: vec3<f32>) -> vec3<f32> {
    let v = clamp(c, vec3<f32>(0.0), vec3<f32>(1.0));
    let s1 = sqrt(v);
    let s2 = sqrt(s1);
    let s3 = sqrt(s2);
    let high = 0.585122381 * s1 + 0.783140355 * s2 - 0.368262736 * s3;
    return select(high, v * 12.92, v <= vec3<f32>(0.0031308));
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    // How uv changes per output pixel, for the handles' rings; taken before any early return,
    // as derivatives need every pixel of a quad.
    var du = vec2<f32>(0.0);
    var dv = vec2<f32>(0.0);
    if MARKED {
        du = dpdx(in.uv);
        dv = dpdy(in.uv);
    }
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
    if LAYERS > 0u {
        light = mix(light, fetch(layer0, canvas_uv, pixel), params.opacity.x);
    }
    if LAYERS > 1u {
        light = mix(light, fetch(layer1, canvas_uv, pixel), params.opacity.y);
    }
    if LAYERS > 2u {
        light = mix(light, fetch(layer2, canvas_uv, pixel), params.opacity.z);
    }
    light *= params.levels.y;
    var out = light;
    if BLENDED {
        out = encode_srgb(light);
        // Nearest entries: the table is finer than the output, and a fetch is a quarter of
        // a filtered sample's work.
        let last = vec2<f32>(textureDimensions(blend_table)) - 1.0;
        let at = vec2<i32>(round(uv * last.x));
        let across = textureLoad(blend_table, vec2<i32>(at.x, 0), 0);
        let down = textureLoad(blend_table, vec2<i32>(at.y, i32(last.y)), 0);
        out *= across.rgb * down.rgb;
        // The lift raises black outside the overlaps to the overlap's doubled black.
        let lift = params.levels.x * across.a * down.a;
        out = lift + (1.0 - lift) * out;
    }
    if MASKED {
        // The nearest canvas pixel: masks are black a pixel beyond their outline, so no
        // filtering is needed to keep them black.
        let texel = clamp(floor(canvas_uv * params.canvas.xy), vec2<f32>(0.0), params.canvas.xy - 1.0);
        out *= textureLoad(mask, vec2<i32>(texel), 0).r;
    }

    if MARKED {
        // Every handle, a cyan ring with a black edge: a handle sits on a mesh node, which is
        // a whole step of the grid in uv wherever the warp puts it. The distance to it in
        // output pixels is the uv offset through the inverse of uv's change per pixel.
        let cells = params.canvas.zw;
        let det = du.x * dv.y - dv.x * du.y;
        if abs(det) > 0.0 {
            let off = in.uv - round(in.uv * cells) / cells;
            let px = vec2<f32>(off.x * dv.y - dv.x * off.y, du.x * off.y - off.x * du.y) / det;
            let edge = abs(length(px) - max(target_size.y / 100.0, 6.0));
            if edge < 1.5 {
                out = vec3<f32>(0.0, 1.0, 1.0);
            } else if edge < 3.0 {
                out = vec3<f32>(0.0);
            }
        }
        // The selected one: a magenta ring and cross with a black edge, seen on any pattern;
        // the same in linear light and in code values.
        let d = distance(in.position.xy, params.marker.xy);
        let r = params.marker.z;
        let ring = abs(d - r) < 2.0;
        let cross = d < r * 0.6 && min(abs(in.position.x - params.marker.x), abs(in.position.y - params.marker.y)) < 1.0;
        if r > 0.0 && (ring || cross) {
            out = vec3<f32>(1.0, 0.0, 1.0);
        } else if r > 0.0 && abs(d - r) < 4.0 {
            out = vec3<f32>(0.0);
        }
    }
    return vec4<f32>(out, 1.0);
}
