//! The one font every chart uses: DejaVu Sans, bundled.
//!
//! Plotters' `ab_glyph` text support has no system fonts: every family must
//! be registered from bytes before the first chart measures or draws text,
//! or drawing fails with `FontUnavailable`. Bundling the font also keeps PNGs
//! identical across machines, whatever fonts they have installed. Its licence
//! is `sim/assets/DejaVuSans-LICENSE.txt`.

use std::sync::OnceLock;

use ab_glyph::FontRef;
use plotters::style::{FontStyle, register_font};

/// The family name every chart asks for.
pub(super) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the bundled font once per process; later calls return the
/// first result. Other styles (bold, italic) fall back to it.
pub(super) fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the bundled DejaVu Sans font is not a valid font".to_owned())
        })
        .clone()
}

/// The bundled font for drawing glyphs directly (see `raster`).
pub(super) fn dejavu_sans() -> Result<&'static FontRef<'static>, String> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok())
        .as_ref()
        .ok_or_else(|| "the bundled DejaVu Sans font is not a valid font".to_owned())
}
