/// Paul Bourke's soft-edge blend curve, where x runs 0..1 across the overlap from the outer
/// edge inward: f(x) = a·(2x)^p for x < 0.5, and 1 − (1−a)·(2(1−x))^p otherwise, with x
/// clamped to 0..1. With a = 0.5 the two projectors' curves sum to 1 everywhere in the
/// overlap: f(x) + f(1−x) = 1. The result is clamped to 0..1 whatever the parameters, so a
/// bad show value dims the overlap rather than overdriving it; a NaN gives NaN.
pub fn bourke(x: f64, exponent: f64, centre: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    let f = if x < 0.5 {
        centre * (2.0 * x).powf(exponent)
    } else {
        1.0 - (1.0 - centre) * (2.0 * (1.0 - x)).powf(exponent)
    };
    f.clamp(0.0, 1.0)
}

/// The soft-edge blend for one overlap: Bourke's curve in light, then per-channel gamma so
/// the projector's code values give that light.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlendCurve {
    /// p: 1 is a linear ramp, higher keeps the middle flatter.
    pub exponent: f64,
    /// a: the light at the middle of the overlap; 0.5 makes the two sides sum to 1.
    pub centre: f64,
    /// The projector's gamma per channel, red, green, blue.
    pub gamma: [f64; 3],
}

impl Default for BlendCurve {
    fn default() -> BlendCurve {
        BlendCurve {
            exponent: 2.0,
            centre: 0.5,
            gamma: [2.2; 3],
        }
    }
}

impl BlendCurve {
    /// The multiplier applied to a code value (0..1, as sent to the projector) per channel,
    /// f(x)^(1/γ): the projector raises code values to γ, so this yields f(x) in light.
    pub fn factor(&self, x: f64) -> [f64; 3] {
        let f = bourke(x, self.exponent, self.centre);
        self.gamma.map(|g| f.powf(1.0 / g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((bourke(0.25, 2.0, 0.5) - 0.125).abs() < 1e-15);
        assert!((bourke(0.75, 2.0, 0.5) - 0.875).abs() < 1e-15);
        assert_eq!(bourke(0.0, 2.0, 0.5), 0.0);
        assert_eq!(bourke(1.0, 2.0, 0.5), 1.0);
        assert!((bourke(0.5, 3.0, 0.3) - 0.3).abs() < 1e-15);
        assert!(
            (bourke(0.25, 1.0, 0.5) - 0.25).abs() < 1e-15,
            "p = 1 is linear"
        );
        assert_eq!(bourke(-3.0, 2.0, 0.5), 0.0);
        assert_eq!(bourke(7.0, 2.0, 0.5), 1.0);
        assert!(bourke(f64::NAN, 2.0, 0.5).is_nan());
    }

    #[test]
    fn symmetric_pair_sums_to_one() {
        for p in [1.0, 1.5, 2.0, 3.7] {
            for i in 0..=100 {
                let x = i as f64 / 100.0;
                let sum = bourke(x, p, 0.5) + bourke(1.0 - x, p, 0.5);
                assert!((sum - 1.0).abs() < 1e-12, "p={p} x={x}: {sum}");
            }
        }
        // Only a = 0.5 has that property.
        let sum = bourke(0.25, 2.0, 0.3) + bourke(0.75, 2.0, 0.3);
        assert!((sum - 1.0).abs() > 1e-3);
    }

    #[test]
    fn factor_undoes_gamma_per_channel() {
        let curve = BlendCurve {
            gamma: [2.0, 1.0, 2.2],
            ..BlendCurve::default()
        };
        let [r, g, b] = curve.factor(0.25);
        assert!((r - 0.125f64.sqrt()).abs() < 1e-15);
        assert!((g - 0.125).abs() < 1e-15);
        assert!((b.powf(2.2) - 0.125).abs() < 1e-12);
        assert_eq!(curve.factor(0.0), [0.0; 3]);
        assert_eq!(curve.factor(1.0), [1.0; 3]);
        let d = BlendCurve::default();
        assert_eq!((d.exponent, d.centre, d.gamma), (2.0, 0.5, [2.2; 3]));
    }
}
