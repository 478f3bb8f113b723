//! Text in PNGs, placed glyph by glyph.
//!
//! Plotters' `ab_glyph` text drawing places each glyph at the pen position
//! but leaves out the glyph's own left bearing, so narrow glyphs drift:
//! `podinfo:6.1.0` renders as `p odinfo·6.1.0`, with the colon on the `o`.
//! [`GlyphBackend`] wraps a bitmap backend and draws text itself with the
//! bundled font: glyphs at their pen position plus bearing, with kerning
//! and sub-pixel positions. It keeps plotters' text box (the width of the
//! advances, a height of `size / 1.24`), so layout and anchors are the same
//! as in the SVG, where the viewer renders the text. Everything else goes
//! straight to the wrapped backend.
//!
//! ```text
//!   pen ─▶ │bearing│glyph│      the glyph is drawn from pen + bearing,
//!          └──────advance──────┘ the next one starts at pen + advance + kern
//! ```

use ab_glyph::{Font, PxScale, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

use super::font::dejavu_sans;

/// A backend whose text is drawn by [`GlyphBackend::draw_text`].
#[derive(Debug)]
pub(super) struct GlyphBackend<B>(pub(super) B);

/// Where the baseline sits in plotters' text box, as a share of its height:
/// capitals fill the box and descenders hang just below it, as they do in
/// the SVG.
const BASELINE: f32 = 0.8;

impl<B: DrawingBackend> DrawingBackend for GlyphBackend<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vertices: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vertices, style)
    }

    fn blit_bitmap(
        &mut self,
        position: BackendCoord,
        size: (u32, u32),
        source: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(position, size, source)
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        position: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let font = dejavu_sans().map_err(|message| DrawingErrorKind::FontError(message.into()))?;
        // Anchor the box exactly as plotters does.
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|error| DrawingErrorKind::FontError(Box::new(error)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();

        // Text sizes are a few dozen pixels: `f32` holds them exactly.
        let size = style.size() as f32;
        let scaled = font.as_scaled(PxScale::from(size));
        let baseline = size / 1.24 * BASELINE;
        let mut pixels: Vec<(i32, i32, f32)> = Vec::new();
        let mut pen = 0.0_f32;
        let mut previous = None;
        for character in text.chars() {
            let id = scaled.glyph_id(character);
            if let Some(previous) = previous {
                pen += scaled.kern(previous, id);
            }
            previous = Some(id);
            let glyph = id.with_scale_and_position(scaled.scale(), point(pen, baseline));
            pen += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            // Pixel bounds are whole numbers, so the casts are exact.
            let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    let (x, y) = (i32::try_from(x).unwrap_or(0), i32::try_from(y).unwrap_or(0));
                    pixels.push((left + x, top + y, coverage));
                }
            });
        }

        let (canvas_width, canvas_height) = self.get_size();
        for (x, y, coverage) in pixels {
            let (x, y) = transform.transform(x + dx - min_x, y + dy - min_y);
            let (x, y) = (position.0 + x, position.1 + y);
            let inside = x >= 0
                && y >= 0
                && u32::try_from(x).is_ok_and(|x| x < canvas_width)
                && u32::try_from(y).is_ok_and(|y| y < canvas_height);
            if inside {
                self.0.draw_pixel(
                    (x, y),
                    BackendColor {
                        alpha: colour.alpha * f64::from(coverage.min(1.0)),
                        rgb: colour.rgb,
                    },
                )?;
            }
        }
        Ok(())
    }
}
