"""Stage 1, ingest: loading the daily extracts (their contract: `pipeline.schema`) into `raw.*`
with their rejected rows and version bookkeeping (`load`)."""
