//! Reading records that older labs wrote, in the current shape.
//!
//! Schema 1 kept a cell's tool report in `ab` or `oha`; schema 2 keeps it in one tagged
//! `report` beside a tool-neutral `measurement`. The move is pure data and happens here;
//! the measurement is the tool layer's to compute (`tool::measure`).

use super::{Cell, ToolReport};

/// Move every schema 1 report into `report`.
pub fn cells(cells: &mut [Cell]) {
    cells.iter_mut().for_each(cell);
}

/// Move one cell's schema 1 report into `report`.
pub fn cell(c: &mut Cell) {
    {
        let v1 = c
            .v1_ab
            .take()
            .map(ToolReport::Ab)
            .or_else(|| c.v1_oha.take().map(ToolReport::Oha));
        if c.report.is_none() {
            c.report = v1;
        }
    }
}
