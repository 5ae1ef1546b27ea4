"""Hidden checks, one module per notebook; hidden test cells call them at grading time."""
