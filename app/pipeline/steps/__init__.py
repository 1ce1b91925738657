"""One module per step of a task's path; the runner (app.pipeline.runner) chooses between them."""
