// Textured, tinted quads: photos, solid fills (a 1x1 white texture) and whole slide layers
// composited with their opacity. One instance per quad; six vertices make its two triangles.

struct Quad {
    // Corners in clip space: x0, y0 (top left), x1, y1 (bottom right).
    @location(0) rect: vec4<f32>,
    // Texture coordinates of the same corners.
    @location(1) uv: vec4<f32>,
    // Multiplies the texel; alpha is the quad's opacity.
    @location(2) color: vec4<f32>,
};

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
    @location(1) color: vec4<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32, quad: Quad) -> VertexOut {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 1.0),
        vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 1.0),
    );
    let c = corners[index];
    var out: VertexOut;
    out.position = vec4<f32>(mix(quad.rect.xy, quad.rect.zw, c), 0.0, 1.0);
    out.uv = mix(quad.uv.xy, quad.uv.zw, c);
    out.color = quad.color;
    return out;
}

@group(0) @binding(0) var quad_texture: texture_2d<f32>;
@group(0) @binding(1) var quad_sampler: sampler;

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    return textureSample(quad_texture, quad_sampler, in.uv) * in.color;
}
