//! Figures of a cell per request served: what a CI threshold (`cpu_per_request < 60us`) and
//! `lab compare --only cpu_per_request` read, computed in this one place.

use super::Cell;

impl Cell {
    /// The server's CPU time per completed request, seconds: its container's CPU seconds
    /// over the measurement divided by the requests the tool completed. `None` without
    /// resource figures or completed requests.
    ///
    /// Today the CPU seconds are those of the whole measured window (ramp-up and drain
    /// included); when the measurement records a steady-state window, this is the one
    /// function to point at it.
    pub fn server_cpu_per_request_s(&self) -> Option<f64> {
        let cpu_s = self.server_resources.as_ref()?.cpu_s;
        let complete = self.measurement()?.complete.filter(|n| *n > 0)?;
        (cpu_s > 0.0).then(|| cpu_s / complete as f64)
    }
}
