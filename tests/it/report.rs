//! `ix report`: the HTML report checked in headless Chromium, and the markdown report.
