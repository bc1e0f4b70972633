"""Stage 4, delivery: each seller's newsletter emailed once per week (`send`)."""
