"""Stage 3, newsletter: one seller's view model from the snapshot (`context`), its trend
charts (`charts`), and HTML and PDF rendering (`render`)."""
