//! Pure: pictures and pages of drill reports — a trial's timeline as SVG ([`picture`]), a
//! whole report as one self-contained HTML page ([`html`]), and the trend of RTO and lost
//! writes over saved reports ([`trend`]). Strings in, strings out: the caller writes them.

pub(crate) mod html;
pub(crate) mod picture;
pub(crate) mod svg;
pub(crate) mod trend;
