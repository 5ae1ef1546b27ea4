"""`make bench`: run times, peak memory and model quality of every notebook."""
