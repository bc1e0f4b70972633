"""Stage 2, models: the metric registry (`registry`), the SQL model runner (`build`), the
incremental engine (`engine`), the status statistics (`stats`), the analysts' snapshot
(`snapshot`) and the runner of a range of days (`runner`)."""
