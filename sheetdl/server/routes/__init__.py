"""One router per concern: health, schema preview, jobs (+ progress events), edits, the task pane."""
